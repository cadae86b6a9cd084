// Bad input is the caller's fault: it gets InvalidArgument before anything of ours runs,
// never an Internal from deep down (PostgreSQL refuses NUL in text and dates out of range;
// connect reports an undecodable body as Internal).
import { type DescMessage, fromBinary, ScalarType } from "@bufbuild/protobuf";
import { buildPath, type PathBuilder, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { ValidationError, Violation, violationsToProto } from "@bufbuild/protovalidate";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Compression,
  createAsyncIterable,
  type UniversalHandler,
  type UniversalServerRequest,
  type UniversalServerResponse,
} from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  contentTypeUnaryJson,
  errorToJsonBytes,
  parseContentType as parseConnectContentType,
} from "@connectrpc/connect/protocol-connect";
import { parseContentType as parseGrpcContentType } from "@connectrpc/connect/protocol-grpc";
import { parseContentType as parseGrpcWebContentType } from "@connectrpc/connect/protocol-grpc-web";
import { compressionBrotli, compressionGzip } from "@connectrpc/connect-node";

const NUL_RULE = "string.no_nul";
const TIMESTAMP_RULE = "timestamp.valid";
type MapKey = Parameters<PathBuilder["map"]>[0];

// What google.protobuf.Timestamp allows: 0001-01-01 to 9999-12-31. JSON parsing enforces
// it, binary parsing does not, and a Date beyond it is invalid.
const MIN_SECONDS = -62_135_596_800n;
const MAX_SECONDS = 253_402_300_799n;

/**
 * Strings holding U+0000 (at any depth, in lists and maps, keys too) and Timestamps out of
 * their range, each with its path.
 */
function inputViolations(message: ReflectMessage, path: PathBuilder, found: Violation[]): void {
  const violate = (at: PathBuilder, forKey = false) =>
    found.push(new Violation("must not contain the NUL character", NUL_RULE, at.toPath(), [], forKey));
  const hasNul = (value: unknown) => typeof value === "string" && value.includes("\0");
  if (message.desc.typeName === "google.protobuf.Timestamp") {
    const { seconds, nanos } = message.message as unknown as { seconds: bigint; nanos: number };
    if (seconds < MIN_SECONDS || seconds > MAX_SECONDS || nanos < 0 || nanos > 999_999_999)
      found.push(
        new Violation("must be a time from year 1 to 9999", TIMESTAMP_RULE, path.toPath(), [], false),
      );
    return;
  }
  for (const field of message.fields) {
    if (!message.isSet(field)) continue;
    const at = path.clone().field(field);
    switch (field.fieldKind) {
      case "scalar":
        if (field.scalar === ScalarType.STRING && hasNul(message.get(field))) violate(at);
        break;
      case "message":
        inputViolations(message.get(field), at, found);
        break;
      case "list": {
        let index = 0;
        for (const item of message.get(field)) {
          if (field.listKind === "message")
            inputViolations(item as ReflectMessage, at.clone().list(index), found);
          else if (hasNul(item)) violate(at.clone().list(index));
          index++;
        }
        break;
      }
      case "map":
        for (const [key, value] of message.get(field)) {
          if (hasNul(key)) violate(at.clone().map(key as MapKey), true);
          if (field.mapKind === "message")
            inputViolations(value as ReflectMessage, at.clone().map(key as MapKey), found);
          else if (hasNul(value)) violate(at.clone().map(key as MapKey));
        }
        break;
    }
  }
}

/** One violation per string of the message (at any depth) holding U+0000 and per invalid Timestamp. */
export function findInvalidInput(schema: DescMessage, message: unknown): Violation[] {
  const found: Violation[] = [];
  inputViolations(reflect(schema, message as never), buildPath(schema), found);
  return found;
}

function refuseInvalid(schema: DescMessage, message: unknown): void {
  const found = findInvalidInput(schema, message);
  if (found.length === 0) return;
  const [value, desc] = violationsToProto(found);
  const error = new ValidationError(found);
  throw new ConnectError(error.message, Code.InvalidArgument, undefined, [{ desc, value }]);
}

/**
 * Refuses any request whose strings contain U+0000 or whose Timestamps are out of range,
 * with a field violation for each. Runs after authorization, so anonymous callers learn
 * nothing of the contract.
 */
export function createInputInterceptor(): Interceptor {
  return (next) => async (req) => {
    const schema = req.method.input;
    if (!req.stream) {
      refuseInvalid(schema, req.message);
      return next(req);
    }
    const source = req.message;
    async function* checked() {
      for await (const message of source) {
        refuseInvalid(schema, message);
        yield message;
      }
    }
    return next({ ...req, message: checked() });
  };
}

/** What connect-node accepts (its default acceptCompression). */
const COMPRESSIONS: readonly Compression[] = [compressionGzip, compressionBrotli];

function undecodable(what: string): ConnectError {
  return new ConnectError(`invalid request: ${what}`, Code.InvalidArgument);
}

/** undefined: none; null: one connect does not know (it refuses the call itself). */
function compressionNamed(name: string | null): Compression | undefined | null {
  if (!name || name === "identity") return undefined;
  return COMPRESSIONS.find((c) => c.name === name) ?? null;
}

async function decompress(compression: Compression, bytes: Uint8Array, readMaxBytes: number) {
  try {
    return await compression.decompress(bytes, readMaxBytes);
  } catch (error) {
    const connectError = ConnectError.from(error);
    if (connectError.code === Code.ResourceExhausted) throw connectError;
    throw undecodable(`not valid ${compression.name} data`);
  }
}

type Check = (bytes: Uint8Array) => void;

/**
 * Passes the body through chunk by chunk, checking each length-prefixed message
 * (gRPC, gRPC-Web, Connect streams) before connect can see it complete.
 */
async function* checkEnvelopes(
  body: AsyncIterable<Uint8Array>,
  compression: Compression | undefined,
  check: Check,
  readMaxBytes: number,
): AsyncIterable<Uint8Array> {
  let pending: Uint8Array = new Uint8Array(0);
  let checking = true;
  for await (const chunk of body) {
    if (checking) {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      while (checking && pending.length >= 5) {
        const flags = pending[0] as number;
        const length = new DataView(pending.buffer, pending.byteOffset, 5).getUint32(1);
        // Too large: connect refuses it (ResourceExhausted) without our help.
        if (length > readMaxBytes) checking = false;
        if (!checking || pending.length < 5 + length) break;
        let data = pending.subarray(5, 5 + length);
        pending = pending.subarray(5 + length);
        // Only plain (0) and compressed (1) messages; end-of-stream frames are connect's.
        if ((flags & ~1) !== 0) continue;
        if (flags === 1) {
          if (!compression) throw undecodable("compressed message without a message encoding");
          data = await decompress(compression, data, readMaxBytes);
        }
        check(data);
      }
    }
    yield chunk;
  }
}

/** Passes a unary body through, checking it whole before connect sees its end. */
async function* checkWhole(
  body: AsyncIterable<Uint8Array>,
  compression: Compression | undefined,
  check: Check,
  readMaxBytes: number,
): AsyncIterable<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    // Beyond the limit connect refuses it (ResourceExhausted); keep nothing.
    if (size <= readMaxBytes) chunks.push(chunk);
    else chunks.length = 0;
    yield chunk;
  }
  if (size > readMaxBytes) return;
  let data: Uint8Array = Buffer.concat(chunks);
  if (compression && data.length > 0) data = await decompress(compression, data, readMaxBytes);
  check(data);
}

/** A Connect unary GET: the message is in the query (`message`, `base64`, `compression`, `encoding`). */
async function checkQuery(
  url: string,
  check: Check,
  readMaxBytes: number,
): Promise<ConnectError | undefined> {
  const query = new URL(url, "http://localhost").searchParams;
  const text = query.get("message") ?? "";
  let data: Uint8Array;
  if (query.get("base64") === "1") {
    try {
      data = base64Decode(text);
    } catch {
      return undecodable("message is not valid base64");
    }
  } else {
    data = new TextEncoder().encode(text);
  }
  try {
    const compression = compressionNamed(query.get("compression"));
    if (compression === null) return undefined;
    if (compression) data = await decompress(compression, data, readMaxBytes);
    if (query.get("encoding") === "proto") check(data);
  } catch (error) {
    return ConnectError.from(error);
  }
  return undefined;
}

function connectUnaryError(error: ConnectError): UniversalServerResponse {
  return {
    status: codeToHttpStatus(error.code),
    header: new Headers({ "content-type": contentTypeUnaryJson }),
    body: createAsyncIterable([errorToJsonBytes(error, {})]),
  };
}

/** Which framing and compression header a request's content type means; undefined: not ours to check. */
function framingOf(
  contentType: string,
): { enveloped: boolean; binary: boolean; encoding: string } | undefined {
  const grpc = parseGrpcContentType(contentType) ?? parseGrpcWebContentType(contentType);
  if (grpc) return { enveloped: true, binary: grpc.binary, encoding: "grpc-encoding" };
  const connect = parseConnectContentType(contentType);
  if (!connect) return undefined;
  return connect.stream
    ? { enveloped: true, binary: connect.binary, encoding: "connect-content-encoding" }
    : { enveloped: false, binary: connect.binary, encoding: "content-encoding" };
}

function guard(handler: UniversalHandler, readMaxBytes: number): UniversalHandler {
  const input = handler.method.input;
  // JSON that does not parse is already InvalidArgument; binary that does not is Internal there.
  const checkBinary: Check = (bytes) => {
    try {
      fromBinary(input, bytes);
    } catch (error) {
      throw undecodable(error instanceof Error ? error.message : "not a valid message");
    }
  };
  const guarded = async (req: UniversalServerRequest): Promise<UniversalServerResponse> => {
    if (req.method === "GET") {
      if (!handler.allowedMethods.includes("GET")) return handler(req);
      const problem = await checkQuery(req.url, checkBinary, readMaxBytes);
      return problem ? connectUnaryError(problem) : handler(req);
    }
    const framing = framingOf(req.header.get("content-type") ?? "");
    const body = req.body;
    if (!framing || typeof body !== "object" || body === null || !(Symbol.asyncIterator in body))
      return handler(req);
    const compression = compressionNamed(req.header.get(framing.encoding));
    if (compression === null || (!framing.binary && !compression)) return handler(req);
    const check: Check = framing.binary ? checkBinary : () => {};
    const checked = (framing.enveloped ? checkEnvelopes : checkWhole)(
      body as AsyncIterable<Uint8Array>,
      compression,
      check,
      readMaxBytes,
    );
    return handler({ ...req, body: checked });
  };
  return Object.assign(guarded, {
    protocolNames: handler.protocolNames,
    service: handler.service,
    method: handler.method,
    requestPath: handler.requestPath,
    allowedMethods: handler.allowedMethods,
    supportedContentType: handler.supportedContentType,
  });
}

/**
 * Wraps the router's handlers so that a request body connect could not decode
 * (binary, a gRPC frame, compressed data, a GET's base64) is InvalidArgument:
 * connect-node reports those as Internal. Call it after all routes are added.
 */
export function refuseUndecodableRequests(handlers: UniversalHandler[], readMaxBytes: number): void {
  for (const [index, handler] of handlers.entries()) handlers[index] = guard(handler, readMaxBytes);
}
