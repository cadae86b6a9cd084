// Reference: connect-node serving the widget Ping with no interceptors, on a plain
// node:http2 server: what the framework costs before the platform's chain.
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { WidgetService } from "../../services/platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { serveChild } from "../lib/child.ts";

const server = http2.createServer(
  connectNodeAdapter({
    routes(router) {
      router.service(WidgetService, { ping: (req) => ({ message: req.message || "pong" }) });
    },
  }),
);
server.listen(0, "127.0.0.1", () => {
  serveChild({ port: (server.address() as AddressInfo).port });
});
