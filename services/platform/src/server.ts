import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { peerAddressKey } from "./context.ts";
import { refuseUndecodableRequests } from "./input.ts";
import type { Logger } from "./logging.ts";

/** A plain HTTP endpoint (either protocol version), as connect-node hands it over. */
export type HttpRoute = (
  ...args: Parameters<NonNullable<Parameters<typeof connectNodeAdapter>[0]["fallback"]>>
) => void | Promise<void>;

export interface ServerOptions {
  host: string;
  port: number;
  routes: (router: ConnectRouter) => void;
  interceptors: Interceptor[];
  /** Plain HTTP endpoints by exact path (JWKS, webhooks), outside the RPC chain. */
  httpRoutes?: Record<string, HttpRoute>;
  logger: Logger;
}

export interface RunningServer {
  port: number;
  /** Stops accepting, lets calls in flight finish up to `timeoutMs`, then cuts the rest. */
  close(timeoutMs: number): Promise<void>;
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0");
// Bounded bodies: nothing of ours sends more than a few MiB in one message.
const READ_MAX_BYTES = 8 * 1024 * 1024;
const SNIFF_TIMEOUT_MS = 10_000;

/**
 * Routes a new connection by its first bytes: the HTTP/2 connection preface goes
 * to the HTTP/2 server, anything else to the HTTP/1.1 one. Node's cleartext
 * HTTP/2 server cannot fall back to HTTP/1.1 by itself (allowHTTP1 needs TLS).
 */
function sniffProtocol(socket: net.Socket, onHttp2: () => void, onHttp1: () => void): void {
  let head = Buffer.alloc(0);
  // A connection that never says anything does not get to hold a descriptor.
  socket.setTimeout(SNIFF_TIMEOUT_MS, () => socket.destroy());
  const onReadable = () => {
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
      head = Buffer.concat([head, chunk]);
    }
    const compared = Math.min(head.length, HTTP2_PREFACE.length);
    const matches = head.subarray(0, compared).equals(HTTP2_PREFACE.subarray(0, compared));
    if (matches && head.length < HTTP2_PREFACE.length) return; // need more bytes to decide
    socket.off("readable", onReadable);
    socket.setTimeout(0);
    socket.unshift(head);
    if (matches) onHttp2();
    else onHttp1();
  };
  socket.on("readable", onReadable);
}

/**
 * One port serving Connect, gRPC and gRPC-Web: HTTP/2 cleartext (gRPC needs it)
 * and HTTP/1.1 (curl, browsers, fetch) on the same listener.
 */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const shutdown = new AbortController();
  const handler = connectNodeAdapter({
    routes(router) {
      options.routes(router);
      refuseUndecodableRequests(router.handlers, READ_MAX_BYTES);
    },
    interceptors: options.interceptors,
    shutdownSignal: shutdown.signal,
    contextValues: (req) => createContextValues().set(peerAddressKey, req.socket?.remoteAddress),
    readMaxBytes: READ_MAX_BYTES,
    fallback(req, res) {
      const path = (req.url ?? "").split("?")[0] ?? "";
      const route = options.httpRoutes?.[path];
      if (!route) {
        res.writeHead(404, { "content-type": "application/json" });
        res.end('{"error":"not found"}');
        return;
      }
      Promise.resolve(route(req, res)).catch((error) => {
        options.logger.error({ err: error, path }, "http route failed");
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    },
  });
  const h2 = http2.createServer({}, handler);
  const h1 = http.createServer({ keepAliveTimeout: 5_000 }, handler);
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  const connections = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => socket.destroy());
    sniffProtocol(
      socket,
      () => h2.emit("connection", socket),
      () => h1.emit("connection", socket),
    );
  });
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(options.port, options.host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const port = (front.address() as net.AddressInfo).port;
  return {
    port,
    async close(timeoutMs) {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      shutdown.abort();
      // GOAWAY: clients open no new streams here, streams in flight finish.
      for (const session of sessions) session.close();
      h1.close();
      h1.closeIdleConnections();
      const timer = setTimeout(() => {
        for (const session of sessions) session.destroy();
        h1.closeAllConnections();
        for (const socket of connections) socket.destroy();
      }, timeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}
