// Unary RPC cost: the platform's full chain against bare servers, in the same run.
// Cases, all driven by the same raw node:http2 load generator:
//   - bare node:http2 echo (the baseline), bare @grpc/grpc-js echo and bare connect-node (references);
//   - the widget service through the platform: Ping over Connect binary and over gRPC,
//     Ping with a bearer token (adds JWT verification), and GetWidget over Connect binary with a
//     bearer token (JWT + policy + validation + a PostgreSQL read).
import { create, toBinary } from "@bufbuild/protobuf";
import {
  GetWidgetRequestSchema,
  GetWidgetResponseSchema,
  PingRequestSchema,
  PingResponseSchema,
  WidgetService,
} from "../services/platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { type ServerChild, startChild } from "./lib/child.ts";
import type { Target } from "./lib/load.ts";
import { measureCase } from "./lib/measure.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { WidgetInfo } from "./servers/widget.ts";

const GROUP = "unary";
const BASELINE = "node:http2 echo";

const connectHeaders = { "content-type": "application/proto", "connect-protocol-version": "1" };
const grpcHeaders = { "content-type": "application/grpc", te: "trailers" };

/** gRPC length-prefixed message: flag byte 0 (uncompressed), 4-byte big-endian length, payload. */
function frame(message: Uint8Array): Uint8Array {
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  return framed;
}

function measure(
  name: string,
  target: Target,
  server: ServerChild<unknown>,
  options: BenchOptions,
): Promise<Row> {
  const baseline = name === BASELINE ? undefined : BASELINE;
  return measureCase({
    group: GROUP,
    name,
    baseline,
    server,
    targets: { warm: target, run: target },
    limits: options,
  });
}

/** Starts one server process, measures its cases one after the other, stops it. */
async function onServer<Info>(
  script: string,
  options: BenchOptions,
  cases: (info: Info, url: string) => Array<[name: string, target: Target]>,
): Promise<Row[]> {
  const server = await startChild<Info & { port: number }>(new URL(script, import.meta.url));
  try {
    const rows: Row[] = [];
    for (const [name, target] of cases(server.info, `http://127.0.0.1:${server.info.port}`))
      rows.push(await measure(name, target, server, options));
    return rows;
  } finally {
    await server.stop();
  }
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const ping = toBinary(PingRequestSchema, create(PingRequestSchema, { message: "ping" }));
  const pong = toBinary(PingResponseSchema, create(PingResponseSchema, { message: "ping" }));
  const pingPath = `/${WidgetService.typeName}/${WidgetService.method.ping.name}`;
  const connectPing = { path: pingPath, headers: connectHeaders, body: ping, expect: pong, grpc: false };
  const grpcPing = {
    path: pingPath,
    headers: grpcHeaders,
    body: frame(ping),
    expect: frame(pong),
    grpc: true,
  };
  return [
    ...(await onServer("./servers/http2-echo.ts", options, (_, url) => [
      [BASELINE, { url, path: "/echo", headers: connectHeaders, body: ping, expect: ping, grpc: false }],
    ])),
    ...(await onServer<{ path: string }>("./servers/grpc-js-echo.ts", options, (info, url) => [
      ["@grpc/grpc-js echo", { url, ...grpcPing, path: info.path, expect: frame(ping) }],
    ])),
    ...(await onServer("./servers/connect-bare.ts", options, (_, url) => [
      ["connect-node Ping, Connect, no interceptors", { url, ...connectPing }],
      ["connect-node Ping, gRPC, no interceptors", { url, ...grpcPing }],
    ])),
    ...(await onServer<WidgetInfo>("./servers/widget.ts", options, (info, url) => {
      const bearer = { authorization: `Bearer ${info.token}` };
      const { id, name, amountCentavos, ownerId } = info.widget;
      const widget = { id, name, amountCentavos: BigInt(amountCentavos), ownerId };
      return [
        ["platform Ping, Connect binary", { url, ...connectPing }],
        ["platform Ping, gRPC", { url, ...grpcPing }],
        [
          "platform Ping, Connect + JWT (one token: verified once, then cached)",
          { url, ...connectPing, headers: { ...connectHeaders, ...bearer } },
        ],
        [
          "platform GetWidget, Connect + JWT + SQL",
          {
            url,
            path: `/${WidgetService.typeName}/${WidgetService.method.getWidget.name}`,
            headers: { ...connectHeaders, ...bearer },
            body: toBinary(GetWidgetRequestSchema, create(GetWidgetRequestSchema, { id })),
            expect: toBinary(GetWidgetResponseSchema, create(GetWidgetResponseSchema, { widget })),
            grpc: false,
          },
        ],
      ];
    })),
  ];
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}
