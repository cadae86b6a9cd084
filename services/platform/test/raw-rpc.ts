// Hand-made requests in every protocol connect-node serves, for tests of what the server
// does with bytes no generated client would send. Each answer is reduced to its status code.
import http2 from "node:http2";
import { Code } from "@connectrpc/connect";
import { codeFromString } from "@connectrpc/connect/protocol-connect";

export type Protocol = "connect" | "connect-get" | "connect-stream" | "grpc" | "grpc-web";

export interface RawRequest {
  /** `/package.Service/Method` */
  path: string;
  protocol: Protocol;
  /** Body as sent (already framed); for connect-get, the query string after `?`. */
  body: Uint8Array | string;
  /** Overrides the protocol's content type (undefined: the protocol's binary one). */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RawAnswer {
  /** The RPC status; "ok" when the call succeeded; undefined when the answer is HTTP only (404, 415…). */
  code: Code | "ok" | undefined;
  httpStatus: number;
  message: string;
}

const CONTENT_TYPES: Record<Protocol, string | undefined> = {
  connect: "application/proto",
  "connect-get": undefined,
  "connect-stream": "application/connect+proto",
  grpc: "application/grpc",
  "grpc-web": "application/grpc-web+proto",
};

/** A length-prefixed message (gRPC, gRPC-Web, Connect streams). */
export function frame(data: Uint8Array, flags = 0): Uint8Array {
  const out = new Uint8Array(5 + data.length);
  out[0] = flags;
  new DataView(out.buffer).setUint32(1, data.length);
  out.set(data, 5);
  return out;
}

function* frames(body: Buffer): Generator<{ flags: number; data: Buffer }> {
  let offset = 0;
  while (offset + 5 <= body.length) {
    const length = body.readUInt32BE(offset + 1);
    yield { flags: body[offset] as number, data: body.subarray(offset + 5, offset + 5 + length) };
    offset += 5 + length;
  }
}

function grpcCode(value: string | undefined): Code | "ok" | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return n === 0 ? "ok" : (n as Code);
}

type HeaderMap = Record<string, string | string[] | undefined>;

function decode(
  request: RawRequest,
  httpStatus: number,
  headers: HeaderMap,
  trailers: HeaderMap,
  body: Buffer,
): RawAnswer {
  const text = (value: unknown) => (typeof value === "string" ? decodeURIComponent(value) : "");
  if (request.protocol === "connect" || request.protocol === "connect-get") {
    if (httpStatus === 200) return { code: "ok", httpStatus, message: "" };
    try {
      const json = JSON.parse(body.toString("utf8")) as { code?: string; message?: string };
      const code = json.code ? codeFromString(json.code) : undefined;
      if (code !== undefined) return { code, httpStatus, message: json.message ?? "" };
    } catch {}
    return { code: undefined, httpStatus, message: body.toString("utf8").slice(0, 200) };
  }
  if (httpStatus !== 200) return { code: undefined, httpStatus, message: "" };
  if (request.protocol === "grpc") {
    const status = trailers["grpc-status"] ?? headers["grpc-status"];
    const code = grpcCode(Array.isArray(status) ? status[0] : status);
    return {
      code: code ?? Code.Unknown,
      httpStatus,
      message: text(trailers["grpc-message"] ?? headers["grpc-message"]),
    };
  }
  if (request.protocol === "grpc-web") {
    const inHeaders = grpcCode(headers["grpc-status"] as string | undefined);
    if (inHeaders !== undefined)
      return { code: inHeaders, httpStatus, message: text(headers["grpc-message"]) };
    for (const { flags, data } of frames(body)) {
      if ((flags & 0x80) === 0) continue;
      const lines = Object.fromEntries(
        data
          .toString("utf8")
          .split("\r\n")
          .map((line) => line.split(":").map((part) => part.trim())),
      ) as Record<string, string>;
      return {
        code: grpcCode(lines["grpc-status"]) ?? Code.Unknown,
        httpStatus,
        message: text(lines["grpc-message"]),
      };
    }
    return { code: Code.Unknown, httpStatus, message: "no trailer" };
  }
  for (const { flags, data } of frames(body)) {
    if ((flags & 0x02) === 0) continue;
    const end = JSON.parse(data.toString("utf8")) as { error?: { code?: string; message?: string } };
    if (!end.error) return { code: "ok", httpStatus, message: "" };
    return {
      code: codeFromString(end.error.code ?? "") ?? Code.Unknown,
      httpStatus,
      message: end.error.message ?? "",
    };
  }
  return { code: Code.Unknown, httpStatus, message: "no end of stream" };
}

function requestHeaders(request: RawRequest): Record<string, string> {
  const headers: Record<string, string> = { ...request.headers };
  const contentType = request.contentType ?? CONTENT_TYPES[request.protocol];
  if (contentType) headers["content-type"] = contentType;
  if (request.protocol === "grpc") headers.te = "trailers";
  return headers;
}

/** The same request over HTTP/1.1 (fetch), where the protocol allows it (not gRPC). */
export async function http1Call(baseUrl: string, request: RawRequest): Promise<RawAnswer> {
  const get = request.protocol === "connect-get";
  const response = await fetch(`${baseUrl}${request.path}${get ? `?${request.body as string}` : ""}`, {
    method: get ? "GET" : "POST",
    headers: requestHeaders(request),
    ...(get ? {} : { body: request.body as Uint8Array<ArrayBuffer> }),
  });
  const body = Buffer.from(await response.arrayBuffer());
  return decode(request, response.status, Object.fromEntries(response.headers), {}, body);
}

/** HTTP/2 connections for many requests; a connection the server ended is replaced. */
export function rawClient(baseUrl: string) {
  let session: http2.ClientHttp2Session | undefined;
  const current = () => {
    if (!session || session.closed || session.destroyed) {
      session = http2.connect(baseUrl);
      session.on("error", () => {});
    }
    return session;
  };
  return {
    call(request: RawRequest): Promise<RawAnswer> {
      const get = request.protocol === "connect-get";
      const headers: http2.OutgoingHttpHeaders = {
        ":method": get ? "GET" : "POST",
        ":path": get ? `${request.path}?${request.body as string}` : request.path,
        ...requestHeaders(request),
      };
      return new Promise((resolve, reject) => {
        const stream = current().request(headers);
        let status = 0;
        let responseHeaders: http2.IncomingHttpHeaders = {};
        let trailers: http2.IncomingHttpHeaders = {};
        const chunks: Buffer[] = [];
        stream.on("response", (h) => {
          responseHeaders = h;
          status = Number(h[":status"]);
        });
        stream.on("trailers", (t) => {
          trailers = t;
        });
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("error", reject);
        stream.on("close", () => {
          if (status === 0) reject(new Error(`stream closed without a response (${stream.rstCode})`));
          else resolve(decode(request, status, responseHeaders, trailers, Buffer.concat(chunks)));
        });
        stream.end(get ? undefined : request.body);
      });
    },
    close(): Promise<void> {
      const open = session;
      return new Promise((resolve) => (open && !open.closed ? open.close(() => resolve()) : resolve()));
    },
  };
}
