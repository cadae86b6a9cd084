import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import { type ConnectRouter, createContextValues, type Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { peerAddressKey } from "./context.ts";
import { corsHandler } from "./cors.ts";
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
  /** Limits against slow or idle clients; each has a default (see DEFAULT_LIMITS). */
  limits?: Partial<ServerLimits>;
  /** Browser origins allowed (see parseAllowedOrigins in cors.ts); none by default. */
  corsOrigins?: readonly (string | RegExp)[];
}

export interface ServerLimits {
  /** From a connection's first byte: the first request's headers (HTTP/1.1) or first stream (HTTP/2) must arrive within this. */
  headersTimeoutMs: number;
  /** A request must be received completely (body included, END_STREAM in HTTP/2) within this. */
  requestTimeoutMs: number;
  /** A connection with no request in flight (HTTP/2: no open stream), or a silent HTTP/1.1 socket, is closed after this. */
  idleTimeoutMs: number;
  /** Streams open at once on one HTTP/2 connection. */
  maxConcurrentStreams: number;
  /** Connections open at once; beyond it new ones are closed on accept. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxConcurrentStreams: 100,
  maxConnections: 10_000,
};

export interface RunningServer {
  port: number;
  /** Stops accepting, lets calls in flight finish up to `timeoutMs`, then cuts the rest. */
  close(timeoutMs: number): Promise<void>;
}

const HTTP2_PREFACE = Buffer.from("PRI * HTTP/2.0");
// Bounded bodies: nothing of ours sends more than a few MiB in one message.
const READ_MAX_BYTES = 8 * 1024 * 1024;
/** After we end a connection, how long the peer may keep its side open. */
const LINGER_MS = 2_000;

/**
 * Routes a new connection by its first bytes: the HTTP/2 connection preface goes
 * to the HTTP/2 server, anything else to the HTTP/1.1 one. Node's cleartext
 * HTTP/2 server cannot fall back to HTTP/1.1 by itself (allowHTTP1 needs TLS).
 */
function sniffProtocol(
  socket: net.Socket,
  timeoutMs: number,
  onHttp2: () => void,
  onHttp1: () => void,
): void {
  let head = Buffer.alloc(0);
  // A connection that never says enough to be routed does not get to hold a descriptor.
  socket.setTimeout(timeoutMs, () => socket.destroy());
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
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const shutdown = new AbortController();
  // RPCs whose client sends a stream: their request legitimately takes long.
  const streamingRequests = new Set<string>();
  const connectHandler = connectNodeAdapter({
    routes(router) {
      options.routes(router);
      refuseUndecodableRequests(router.handlers, READ_MAX_BYTES);
      for (const { method, requestPath } of router.handlers) {
        if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
          streamingRequests.add(requestPath);
        }
      }
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
  const cors = corsHandler(options.corsOrigins ?? []);
  const rpcHandler = (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    res: http.ServerResponse | http2.Http2ServerResponse,
  ) => {
    const response = res as http.ServerResponse;
    const writeHead = response.writeHead.bind(response) as (status: number, headers?: unknown) => unknown;
    const addTrailers = response.addTrailers.bind(response);
    (response as { writeHead: unknown }).writeHead = (status: number, headers?: unknown) =>
      writeHead(
        status,
        typeof headers === "object" && headers !== null ? withSpecGrpcMessage(headers) : headers,
      );
    response.addTrailers = (trailers) =>
      addTrailers(withSpecGrpcMessage(trailers as http.OutgoingHttpHeaders));
    return connectHandler(req as http.IncomingMessage, response);
  };
  // Browsers (connect-web, gRPC-Web) on allowed origins: the preflight is answered before any RPC.
  const handler: typeof rpcHandler = cors
    ? (req, res) => cors(req, res, () => void rpcHandler(req, res))
    : rpcHandler;
  const h2 = http2.createServer({ settings: { maxConcurrentStreams: limits.maxConcurrentStreams } }, handler);
  const h1 = http.createServer(
    {
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.idleTimeoutMs,
      // How often Node checks the two timeouts above (its default is 30 s).
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, limits.headersTimeoutMs / 4)),
    },
    handler,
  );
  h1.timeout = limits.idleTimeoutMs;
  // Node tracks connections for headersTimeout and requestTimeout only once the
  // server emits "listening"; this one never listens (the front server hands it sockets).
  h1.emit("listening");
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    guardSession(session, limits, (path) => streamingRequests.has(path));
  });
  const connections = new Set<net.Socket>();
  const front = net.createServer((socket) => {
    connections.add(socket);
    socket.on("close", () => connections.delete(socket));
    socket.on("error", () => socket.destroy());
    // A closed HTTP/2 session only ends its side and waits for the peer's.
    socket.once("finish", () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
    sniffProtocol(
      socket,
      limits.headersTimeoutMs,
      () => h2.emit("connection", socket),
      () => h1.emit("connection", socket),
    );
  });
  front.maxConnections = limits.maxConnections;
  await new Promise<void>((resolve, reject) => {
    const failed = (error: NodeJS.ErrnoException) => reject(listenError(error, options.host, options.port));
    front.once("error", failed);
    front.listen(options.port, options.host, () => {
      front.off("error", failed);
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

/**
 * An HTTP/2 session must open its first stream within the headers timeout, and
 * is closed (GOAWAY) once it has had no open stream for the idle timeout. A
 * session with open streams is never cut for idleness: a health Watch may stay
 * silent for hours.
 */
function guardSession(
  session: http2.Http2Session,
  limits: ServerLimits,
  streamingRequest: (path: string) => boolean,
): void {
  let open = 0;
  let timer = setTimeout(() => session.destroy(), limits.headersTimeoutMs);
  timer.unref();
  session.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    open++;
    clearTimeout(timer);
    guardStream(stream, limits, streamingRequest(headers[":path"] ?? ""));
    stream.once("close", () => {
      if (--open > 0 || session.destroyed) return;
      timer = setTimeout(() => session.close(), limits.idleTimeoutMs);
      timer.unref();
    });
  });
  session.once("close", () => clearTimeout(timer));
}

/**
 * A stream's request must be complete (the client's END_STREAM) within the
 * request timeout; for RPCs where the client streams, it must rather not go
 * silent for that long. Once the request is complete the response may take as
 * long as it needs (server streams are long-lived).
 */
function guardStream(stream: http2.ServerHttp2Stream, limits: ServerLimits, streamingRequest: boolean): void {
  const cancel = () => stream.close(http2.constants.NGHTTP2_CANCEL);
  if (streamingRequest) {
    stream.setTimeout(limits.requestTimeoutMs, cancel);
    stream.once("end", () => stream.setTimeout(0));
    return;
  }
  const timer = setTimeout(cancel, limits.requestTimeoutMs);
  timer.unref();
  stream.once("end", () => clearTimeout(timer));
  stream.once("close", () => clearTimeout(timer));
}

/** One line saying which address could not be taken and what to do, not a bare errno. */
function listenError(error: NodeJS.ErrnoException, host: string | undefined, port: number): Error {
  const address = `${host ?? "0.0.0.0"}:${port}`;
  const hint =
    error.code === "EADDRINUSE"
      ? `port ${port} is already in use on ${address}: stop what holds it (\`ss -ltnp 'sport = :${port}'\` shows it) or set PORT to another port`
      : error.code === "EACCES"
        ? `no permission to listen on ${address}: choose a port above 1023 with PORT`
        : error.code === "EADDRNOTAVAIL"
          ? `${host} is not an address of this machine: set HOST to one (127.0.0.1, or 0.0.0.0 for every interface)`
          : `cannot listen on ${address}: ${error.message}`;
  return Object.assign(new Error(hint, { cause: error }), { code: error.code });
}

/**
 * connect-node sends grpc-message through encodeURIComponent, which also escapes `:`, `/`, `,`…;
 * the gRPC spec escapes only bytes outside 0x20–0x7E and `%`, and grpc-js decodes with decodeURI,
 * which leaves `%3A` as it is. Re-encoded the spec's way, every client reads the message as written.
 */
function withSpecGrpcMessage<T extends object>(headers: T): T {
  const value = (headers as Record<string, unknown>)["grpc-message"];
  if (typeof value !== "string") return headers;
  let text = value;
  try {
    text = decodeURIComponent(value);
  } catch {
    // Not percent-encoded by connect: encode it as it is.
  }
  return { ...headers, "grpc-message": encodeGrpcMessage(text) };
}

function encodeGrpcMessage(text: string): string {
  let encoded = "";
  for (const byte of Buffer.from(text, "utf8")) {
    encoded +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return encoded;
}
