// Baseline: a bare node:http2 server answering each POST with the bytes it received.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { serveChild } from "../lib/child.ts";

const server = http2.createServer();
server.on("stream", (stream, headers) => {
  const chunks: Buffer[] = [];
  stream.on("data", (chunk: Buffer) => chunks.push(chunk));
  stream.on("end", () => {
    stream.respond({ ":status": 200, "content-type": headers["content-type"] ?? "application/octet-stream" });
    stream.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
  });
  stream.on("error", () => stream.destroy());
});
server.listen(0, "127.0.0.1", () => {
  serveChild({ port: (server.address() as AddressInfo).port });
});
