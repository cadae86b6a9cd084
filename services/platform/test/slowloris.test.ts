// Slow and idle clients over real loopback sockets: the server closes them within its limits
// while normal calls keep being answered, and refuses connections beyond its cap.
import { readdirSync } from "node:fs";
import http2 from "node:http2";
import net from "node:net";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { expect, test } from "vitest";
import { createLogger } from "../src/logging.ts";
import { startServer } from "../src/server.ts";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness } from "./support.ts";

const HEADERS_MS = 1_000;
const REQUEST_MS = 1_500;
const IDLE_MS = 2_000;
/** Scheduling on a loaded 2-core machine; the limits themselves are what is checked. */
const SLACK_MS = 5_000;
/** How long the server lets a peer keep its side of a closed connection open (server.ts). */
const LINGER_MS = 2_000;
const PER_KIND = 300;
const CREATE_WIDGET = "/consorcio.platformtest.v1.WidgetService/CreateWidget";

const openFds = () => readdirSync("/proc/self/fd").length;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Hostile {
  kind: string;
  openedAt: number;
  closedAt?: number;
  close(): void;
}

/**
 * A raw socket that sends `bytes` and never closes its side (allowHalfOpen): it
 * counts as closed by the server on the server's FIN or reset.
 */
function rawHostile(kind: string, port: number, bytes: string | Buffer): Promise<Hostile> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const hostile: Hostile = { kind, openedAt: 0, close: () => socket.destroy() };
    const closed = () => {
      hostile.closedAt ??= Date.now();
    };
    socket.on("error", () => undefined);
    socket.on("end", closed);
    socket.on("close", closed);
    socket.once("connect", () => {
      hostile.openedAt = Date.now();
      socket.write(bytes);
      socket.resume();
      resolve(hostile);
    });
    socket.once("error", reject);
  });
}

/** An HTTP/2 frame: 24-bit length, type, flags, stream id. */
function frame(type: number, flags: number, streamId: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

/** HPACK literals without indexing or Huffman coding (every name and value is short). */
function hpack(headers: Record<string, string>): Buffer {
  return Buffer.concat(
    Object.entries(headers).map(([name, value]) =>
      Buffer.concat([
        Buffer.from([0, name.length]),
        Buffer.from(name),
        Buffer.from([value.length]),
        Buffer.from(value),
      ]),
    ),
  );
}

/**
 * An HTTP/2 connection opening one gRPC stream and sending a message that
 * declares 100 bytes, of which 10 arrive; the stream is never ended.
 */
const UNENDED_STREAM = Buffer.concat([
  Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  frame(0x4, 0, 0, Buffer.alloc(0)), // SETTINGS
  frame(
    0x1, // HEADERS, END_HEADERS
    0x4,
    1,
    hpack({
      ":method": "POST",
      ":scheme": "http",
      ":path": CREATE_WIDGET,
      ":authority": "x",
      "content-type": "application/grpc",
      te: "trailers",
    }),
  ),
  frame(0x0, 0, 1, Buffer.concat([Buffer.from([0, 0, 0, 0, 100]), Buffer.alloc(10)])), // DATA
]);

const HOSTILE_KINDS: Array<{
  kind: string;
  count: number;
  limitMs: number;
  open(port: number): Promise<Hostile>;
}> = [
  {
    kind: "h2-preface-only",
    count: PER_KIND,
    limitMs: HEADERS_MS,
    open: (port) => rawHostile("h2-preface-only", port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  },
  {
    kind: "h1-partial-headers",
    count: PER_KIND,
    limitMs: HEADERS_MS,
    open: (port) =>
      rawHostile("h1-partial-headers", port, `POST ${CREATE_WIDGET} HTTP/1.1\r\nHost: x\r\nContent-Ty`),
  },
  {
    kind: "h1-partial-body",
    count: PER_KIND,
    limitMs: REQUEST_MS,
    open: (port) =>
      rawHostile(
        "h1-partial-body",
        port,
        `POST ${CREATE_WIDGET} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":"x`,
      ),
  },
  {
    // The stream is reset at the request timeout, then the session, left with no stream, at the idle one.
    kind: "h2-unended-stream",
    count: PER_KIND,
    limitMs: REQUEST_MS + IDLE_MS,
    open: (port) => rawHostile("h2-unended-stream", port, UNENDED_STREAM),
  },
  {
    // Node keeps the socket one second past the Keep-Alive timeout it announces.
    kind: "h1-idle-keepalive",
    count: 50,
    limitMs: IDLE_MS + 1_000,
    open: (port) => rawHostile("h1-idle-keepalive", port, "GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"),
  },
];

test("slow and idle connections are closed within the limits while calls keep succeeding", async () => {
  const harness = await startWidgetHarness({
    SERVER_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
    SERVER_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
    SERVER_IDLE_TIMEOUT_MS: String(IDLE_MS),
  });
  const port = harness.service.port;
  const token = await harness.issuer.token({ roles: [Role.OPERADOR] });
  const auth = { headers: { authorization: `Bearer ${token}` } };
  const grpc = createClient(WidgetService, createGrpcTransport({ baseUrl: harness.service.url }));
  const http1 = createClient(
    WidgetService,
    createConnectTransport({ baseUrl: harness.service.url, httpVersion: "1.1" }),
  );
  const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
  const fdsBefore = openFds();

  // A health Watch is a long-lived server stream: the limits must not cut it.
  const watch = new AbortController();
  const watched: HealthCheckResponse_ServingStatus[] = [];
  const watching = (async () => {
    for await (const update of health.watch({}, { signal: watch.signal })) watched.push(update.status);
  })().catch((error: unknown) => (watch.signal.aborted ? undefined : error));

  let attacking = true;
  const outcomes = { ok: 0, failed: [] as unknown[] };
  const normalCalls = (async () => {
    while (attacking) {
      await Promise.all([
        grpc.ping({ message: "h2" }, auth),
        http1.ping({ message: "h1" }, auth),
        health.check({}),
      ]).then(
        () => outcomes.ok++,
        (error: unknown) => outcomes.failed.push(error),
      );
      await sleep(100);
    }
  })();

  const hostiles: Hostile[] = [];
  for (const { count, open } of HOSTILE_KINDS) {
    for (let i = 0; i < count; i += 50) {
      hostiles.push(
        ...(await Promise.all(Array.from({ length: Math.min(50, count - i) }, () => open(port)))),
      );
    }
  }
  let fdsPeak = openFds();
  const longest = Math.max(...HOSTILE_KINDS.map((k) => k.limitMs));
  const deadline = Date.now() + longest + SLACK_MS;
  while (hostiles.some((h) => h.closedAt === undefined) && Date.now() < deadline) {
    fdsPeak = Math.max(fdsPeak, openFds());
    await sleep(100);
  }
  attacking = false;
  await normalCalls;

  const report = HOSTILE_KINDS.map(({ kind, limitMs }) => {
    const ofKind = hostiles.filter((h) => h.kind === kind);
    const lifetimes = ofKind.flatMap((h) => (h.closedAt === undefined ? [] : [h.closedAt - h.openedAt]));
    return {
      kind,
      limitMs,
      opened: ofKind.length,
      closedByServer: lifetimes.length,
      fastestMs: Math.min(...lifetimes),
      slowestMs: Math.max(...lifetimes),
    };
  });
  // The hostile clients still hold their half of each connection; the server must hold none.
  await sleep(LINGER_MS + 500);
  const fdsClosedByServer = openFds();
  for (const h of hostiles) h.close();
  await sleep(200);
  const fdsAfter = openFds();
  console.info(
    JSON.stringify({
      report,
      fds: {
        before: fdsBefore,
        peak: fdsPeak,
        closedByServer: fdsClosedByServer,
        after: fdsAfter,
      },
      normalCalls: outcomes.ok,
    }),
  );

  for (const row of report) {
    expect(row.closedByServer, row.kind).toBe(row.opened);
    expect(row.slowestMs, row.kind).toBeLessThan(row.limitMs + SLACK_MS);
  }
  expect(fdsPeak - fdsBefore).toBeGreaterThan(hostiles.length);
  expect(fdsClosedByServer - fdsBefore).toBeLessThan(hostiles.length + 50);
  expect(fdsAfter - fdsBefore).toBeLessThan(50);
  expect(outcomes.failed).toEqual([]);
  expect(outcomes.ok).toBeGreaterThan(10);

  expect(await Promise.race([watching, sleep(0).then(() => "still open")])).toBe("still open");
  expect(watched).toEqual([HealthCheckResponse_ServingStatus.SERVING]);
  watch.abort();
  await watching;
  await harness.stop();
});

test("connections beyond the cap are closed on accept", async () => {
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    routes: () => undefined,
    interceptors: [],
    httpRoutes: {
      "/ping": (_req, res) => {
        res.end("pong");
      },
    },
    logger: createLogger({ service: "slowloris-test", level: "silent" }),
    limits: { maxConnections: 5 },
  });
  /** Opens a connection and asks for /ping: the answer, or null if the server closed it first. */
  const ping = (): Promise<{ answer: string | null; socket: net.Socket }> =>
    new Promise((resolve) => {
      const socket = net.connect(server.port, "127.0.0.1");
      let answer = "";
      socket.on("error", () => undefined);
      socket.on("data", (chunk) => {
        answer += chunk;
        if (answer.endsWith("pong")) resolve({ answer, socket });
      });
      socket.on("close", () => resolve({ answer: null, socket }));
      socket.write("GET /ping HTTP/1.1\r\nHost: x\r\n\r\n");
    });

  const held = [];
  for (let i = 0; i < 5; i++) held.push(await ping());
  expect(held.map((h) => h.answer?.startsWith("HTTP/1.1 200"))).toEqual([true, true, true, true, true]);
  const beyond = await Promise.all([ping(), ping(), ping()]);
  expect(beyond.map((b) => b.answer)).toEqual([null, null, null]);

  // A freed place is taken again (the server notices the close asynchronously).
  held.pop()?.socket.destroy();
  let again = await ping();
  for (let tries = 0; again.answer === null && tries < 50; tries++) {
    await sleep(20);
    again = await ping();
  }
  expect(again.answer).toMatch(/^HTTP\/1.1 200/);
  for (const h of [...held, again]) h.socket.destroy();
  await server.close(1_000);
});

test("an HTTP/2 connection is told how many streams it may open at once", async () => {
  const server = await startServer({
    host: "127.0.0.1",
    port: 0,
    routes: () => undefined,
    interceptors: [],
    logger: createLogger({ service: "slowloris-test", level: "silent" }),
    limits: { maxConcurrentStreams: 7 },
  });
  const session = http2.connect(`http://127.0.0.1:${server.port}`);
  const settings = await new Promise<http2.Settings>((resolve) => session.once("remoteSettings", resolve));
  expect(settings.maxConcurrentStreams).toBe(7);
  session.close();
  await server.close(1_000);
});
