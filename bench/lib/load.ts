// One load generator for every case, on raw node:http2: a fixed number of
// streams in flight on one session, each answered request immediately replaced.
import http2 from "node:http2";

export interface Target {
  url: string;
  path: string;
  /** Request headers besides :method and :path. */
  headers: Record<string, string>;
  body: Uint8Array;
  /**
   * Per-request bodies: request i of one `drive` sends `bodies[i]` instead of `body`
   * (e.g. records that must be distinct). There must be at least `limits.requests` of them.
   */
  bodies?: readonly Uint8Array[];
  /**
   * Per-request extra headers: request i of one `drive` also sends `requestHeaders[i]` (e.g. a distinct
   * bearer token each). There must be at least `limits.requests` of them.
   */
  requestHeaders?: readonly Record<string, string>[];
  /** The exact response body a success carries. */
  expect: Uint8Array;
  /** When set, decides whether a 200 response's body is a success instead of comparing it with `expect`. */
  accept?: (body: Buffer) => boolean;
  /** gRPC: the call must end with grpc-status 0 (in headers or trailers). */
  grpc: boolean;
}

export interface Limits {
  requests: number;
  seconds: number;
  concurrency: number;
}

export interface Measured {
  completed: number;
  failures: number;
  firstFailure?: string;
  seconds: number;
  /** Latencies in milliseconds, ascending. */
  latencies: Float64Array;
}

/** Sends requests until `limits.requests` are done or `limits.seconds` have passed. */
export function drive(session: http2.ClientHttp2Session, target: Target, limits: Limits): Promise<Measured> {
  if (target.bodies && target.bodies.length < limits.requests)
    return Promise.reject(
      new RangeError(`${target.bodies.length} request bodies for ${limits.requests} requests`),
    );
  if (target.requestHeaders && target.requestHeaders.length < limits.requests)
    return Promise.reject(
      new RangeError(`${target.requestHeaders.length} header sets for ${limits.requests} requests`),
    );
  const latencies = new Float64Array(limits.requests);
  const headers = { ":method": "POST", ":path": target.path, ...target.headers };
  const expect = Buffer.from(target.expect);
  const started = performance.now();
  const deadline = started + limits.seconds * 1000;
  let issued = 0;
  let completed = 0;
  let inFlight = 0;
  let failures = 0;
  let firstFailure: string | undefined;

  return new Promise((resolve) => {
    const fail = (reason: string) => {
      failures++;
      firstFailure ??= reason;
    };
    const settle = () => {
      if (inFlight > 0) return;
      const sorted = latencies.subarray(0, completed).sort();
      resolve({
        completed,
        failures,
        ...(firstFailure ? { firstFailure } : {}),
        seconds: (performance.now() - started) / 1000,
        latencies: sorted,
      });
    };
    const next = () => {
      if (issued >= limits.requests || performance.now() > deadline) return settle();
      if (session.closed || session.destroyed) {
        fail("session closed before the run ended");
        return settle();
      }
      const index = issued++;
      inFlight++;
      const sent = performance.now();
      let status = 0;
      let grpcStatus: string | undefined;
      let error: string | undefined;
      const chunks: Buffer[] = [];
      const extra = target.requestHeaders?.[index];
      const stream = session.request(extra ? { ...headers, ...extra } : headers);
      stream.on("response", (responseHeaders) => {
        status = Number(responseHeaders[":status"]);
        grpcStatus = responseHeaders["grpc-status"] as string | undefined;
      });
      stream.on("trailers", (trailers) => {
        grpcStatus = (trailers["grpc-status"] as string | undefined) ?? grpcStatus;
      });
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("error", (cause: Error) => {
        error = cause.message;
      });
      stream.on("close", () => {
        latencies[completed++] = performance.now() - sent;
        inFlight--;
        if (error !== undefined) fail(`stream error: ${error}`);
        else if (status !== 200) fail(`HTTP ${status}: ${Buffer.concat(chunks).toString().slice(0, 200)}`);
        else if (target.grpc && grpcStatus !== "0") fail(`grpc-status ${grpcStatus ?? "missing"}`);
        else {
          const received = (chunks.length === 1 ? chunks[0] : undefined) ?? Buffer.concat(chunks);
          if (!(target.accept ? target.accept(received) : received.equals(expect)))
            fail("unexpected response body");
        }
        next();
      });
      stream.end(target.bodies?.[index] ?? target.body);
    };
    for (let i = 0; i < limits.concurrency; i++) next();
  });
}

/** Opens one HTTP/2 cleartext session and waits until it is connected. */
export async function connect(url: string): Promise<http2.ClientHttp2Session> {
  const session = http2.connect(url);
  await new Promise<void>((resolve, reject) => {
    session.once("connect", () => resolve());
    session.once("error", reject);
  });
  session.on("error", () => {}); // failures surface on the streams
  return session;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
}
