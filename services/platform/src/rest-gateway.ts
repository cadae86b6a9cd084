// The REST gateway of local mode (DESIGN.md §8): serves the google.api.http rules of the
// services, from the same descriptor set Envoy's transcoder loads, and forwards each call to
// its service over the Connect protocol (binary, HTTP/2), as the platform's own clients do.
// It behaves as Envoy's grpc_json_transcoder is configured in envoy/envoy.yaml: proto3 JSON
// with camelCase names and every primitive field printed, unknown query parameters refused,
// errors as google.rpc.Status JSON with the HTTP status mapped from the gRPC code.
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import {
  create,
  createFileRegistry,
  type DescField,
  type DescMessage,
  type DescMethod,
  type FileRegistry,
  fromBinary,
  fromJson,
  getExtension,
  hasExtension,
  type JsonObject,
  type JsonValue,
  ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { AnySchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { http as httpRuleExtension } from "@consorcio/gen/google/api/annotations_pb.js";
import type { HttpRule } from "@consorcio/gen/google/api/http_pb.js";
import { corsHandler } from "./cors.ts";
import type { Logger } from "./logging.ts";
import { matchPathTemplate, type PathTemplate, parsePathTemplate } from "./path-template.ts";

export interface RestGatewayOptions {
  host: string;
  port: number;
  /** The descriptors with the rules (envoy/descriptor.binpb, see loadDescriptorSet). */
  registry: FileRegistry;
  /** Where each proto service (full name) is served. Services not listed are not routed. */
  upstreams: ReadonlyArray<{ baseUrl: string; services: readonly string[] }>;
  /** Browser origins allowed (parseAllowedOrigins); none by default. */
  corsOrigins?: readonly (string | RegExp)[];
  logger: Logger;
  /** Deadline of a forwarded call, as Envoy's route timeout (default 60 s). */
  timeoutMs?: number;
}

export interface RunningRestGateway {
  port: number;
  url: string;
  /** The routes served, "POST /v1/auth:login → consorcio.identidade.v1.AuthService.Login". */
  routes: string[];
  close(): Promise<void>;
}

/** Reads a FileDescriptorSet written by `buf build` (envoy/descriptor.binpb). */
export function loadDescriptorSet(path: string): FileRegistry {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new Error(`${path} is missing: run \`npm run generate\` to build the descriptor set`);
  }
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

interface Route {
  httpMethod: string;
  template: PathTemplate;
  method: DescMethod & { methodKind: "unary" | "server_streaming" };
  /** "" (no body), "*" or a top-level field name. */
  body: string;
  responseBody: string;
  transport: Transport;
}

const HTTP_BODY = "google.api.HttpBody";
const BODY_LIMIT_BYTES = 8 * 1024 * 1024;
/** Request headers forwarded to the service (the token, request and trace context). */
const FORWARDED_HEADERS = ["authorization", "x-request-id", "x-correlation-id", "traceparent"];
/** Response headers of the protocol, not of the application: not passed back. */
const PROTOCOL_HEADER =
  /^(content-type|content-length|content-encoding|accept-encoding|transfer-encoding|connection|keep-alive|date|vary|grpc-.*|connect-.*|trailer-.*)$/i;

/** HTTP status of each gRPC code, as Envoy's transcoder and grpc-gateway map them. */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.Canceled:
      return 499;
    case Code.InvalidArgument:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return 400;
    case Code.DeadlineExceeded:
      return 504;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.PermissionDenied:
      return 403;
    case Code.Unauthenticated:
      return 401;
    case Code.ResourceExhausted:
      return 429;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    default:
      return 500;
  }
}

/** The routes of every rule (and additional binding) of the upstreams' services. */
function buildRoutes(options: RestGatewayOptions): Route[] {
  const routes: Route[] = [];
  for (const upstream of options.upstreams) {
    const transport = createConnectTransport({
      baseUrl: upstream.baseUrl,
      httpVersion: "2",
      useBinaryFormat: true,
    });
    for (const name of upstream.services) {
      const service = options.registry.getService(name);
      if (!service) throw new Error(`the descriptor set has no service ${name}: run \`npm run generate\``);
      for (const method of service.methods) {
        const options_ = method.proto.options;
        if (!options_ || !hasExtension(options_, httpRuleExtension)) continue;
        if (method.methodKind !== "unary" && method.methodKind !== "server_streaming") continue;
        const rule = getExtension(options_, httpRuleExtension);
        for (const binding of [rule, ...rule.additionalBindings]) {
          const route = routeOf(binding, method as Route["method"], transport, rule);
          if (route) routes.push(route);
        }
      }
    }
  }
  return routes;
}

function routeOf(
  binding: HttpRule,
  method: Route["method"],
  transport: Transport,
  rule: HttpRule,
): Route | undefined {
  const { pattern } = binding;
  if (pattern.case === undefined) return undefined;
  const httpMethod =
    pattern.case === "custom" ? pattern.value.kind.toUpperCase() : pattern.case.toUpperCase();
  const path = pattern.case === "custom" ? pattern.value.path : pattern.value;
  return {
    httpMethod,
    template: parsePathTemplate(path),
    method,
    body: binding.body,
    // Additional bindings take the main rule's response_body unless they say otherwise.
    responseBody: binding.responseBody || rule.responseBody,
    transport,
  };
}

/** A call the gateway refuses before any service sees it. */
function refusal(code: Code, message: string): ConnectError {
  return new ConnectError(message, code);
}

/** The field of `message` named `name` in proto or JSON form. */
function fieldNamed(message: DescMessage, name: string): DescField | undefined {
  return message.fields.find((field) => field.name === name || field.jsonName === name);
}

/** Walks a dotted field path through singular message fields; the last field is returned. */
function resolvePath(message: DescMessage, path: string[]): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const [index, name] of path.entries()) {
    const field: DescField | undefined = current && fieldNamed(current, name);
    if (!field) return undefined;
    fields.push(field);
    if (index < path.length - 1) {
      if (field.fieldKind !== "message" || isWellKnownScalar(field.message)) return undefined;
      current = field.message;
    }
  }
  return fields;
}

/** Messages whose proto3 JSON form is a string, number or boolean. */
function isWellKnownScalar(message: DescMessage): boolean {
  return (
    message.file.name.startsWith("google/protobuf/") &&
    [
      "Timestamp",
      "Duration",
      "FieldMask",
      "DoubleValue",
      "FloatValue",
      "Int64Value",
      "UInt64Value",
      "Int32Value",
      "UInt32Value",
      "BoolValue",
      "StringValue",
      "BytesValue",
    ].includes(message.name)
  );
}

/** A path or query string as the JSON value of the field (proto3 JSON parses the rest). */
function jsonOfText(field: DescField, text: string, where: string): JsonValue {
  const scalar =
    field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")
      ? field.scalar
      : undefined;
  const message =
    field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message")
      ? field.message
      : undefined;
  const isEnum = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum");
  const bool = scalar === ScalarType.BOOL || message?.typeName === "google.protobuf.BoolValue";
  if (bool) {
    if (text === "true" || text === "false") return text === "true";
    throw refusal(Code.InvalidArgument, `${where}: ${JSON.stringify(text)} is not a boolean`);
  }
  if (isEnum) return /^-?\d+$/.test(text) ? Number(text) : text;
  if (message && !isWellKnownScalar(message))
    throw refusal(Code.InvalidArgument, `${where}: a message field cannot be set from a string`);
  // Numbers (int64 included) are accepted as strings by proto3 JSON; strings and bytes are themselves.
  return text;
}

/** Sets a value at a field path of a JSON object (JSON names), making the objects on the way. */
function setJson(target: JsonObject, fields: DescField[], value: JsonValue): void {
  let object = target;
  for (const [index, field] of fields.entries()) {
    // One key per field: a proto-named key of the body moves under the JSON name.
    if (field.name !== field.jsonName && field.name in object) {
      object[field.jsonName] ??= object[field.name] as JsonValue;
      delete object[field.name];
    }
    if (index === fields.length - 1) {
      object[field.jsonName] = value;
      return;
    }
    const next = object[field.jsonName];
    if (typeof next !== "object" || next === null || Array.isArray(next)) object[field.jsonName] = {};
    object = object[field.jsonName] as JsonObject;
  }
}

/** The request message: the body (as the rule says), then path variables, then query parameters. */
function requestJson(
  route: Route,
  variables: Map<string, string>,
  query: URLSearchParams,
  body: Buffer,
  contentType: string | undefined,
): { json: JsonObject; httpBody?: { field?: DescField } } {
  const input = route.method.input;
  let json: JsonObject = {};
  const bound = new Set<string>();
  let httpBody: { field?: DescField } | undefined;
  if (route.body === "*") {
    if (input.typeName === HTTP_BODY) {
      json = { contentType: contentType ?? "", data: body.toString("base64") };
      httpBody = {};
    } else json = parseBody(body, true) as JsonObject;
    for (const field of input.fields) bound.add(field.name);
  } else if (route.body) {
    const field = fieldNamed(input, route.body);
    if (!field) throw refusal(Code.Internal, `rule body names no field ${route.body}`);
    bound.add(field.name);
    if (field.fieldKind === "message" && field.message.typeName === HTTP_BODY) {
      json[field.jsonName] = { contentType: contentType ?? "", data: body.toString("base64") };
      httpBody = { field };
    } else json[field.jsonName] = parseBody(body, false);
  }
  for (const [path, value] of variables) {
    const fields = resolvePath(input, path.split("."));
    if (!fields) throw refusal(Code.Internal, `path variable ${path} names no field`);
    const last = fields.at(-1) as DescField;
    setJson(json, fields, jsonOfText(last, value, `path variable ${path}`));
    bound.add(fields.map((field) => field.name).join("."));
  }
  // Query parameters fill the fields neither the body nor the path took; anything else is refused.
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    const fields = resolvePath(input, key.split("."));
    const last = fields?.at(-1);
    const name = fields?.map((field) => field.name).join(".") ?? "";
    const taken = [...bound].some(
      (path) => path === name || name.startsWith(`${path}.`) || path.startsWith(`${name}.`),
    );
    if (!fields || !last || taken || last.fieldKind === "map")
      throw refusal(Code.InvalidArgument, `unknown query parameter ${JSON.stringify(key)}`);
    // Personal data never travels in a URL (logs and proxies keep URLs): as the OpenAPI says.
    if (fields.some((field) => field.proto.options?.debugRedact))
      throw refusal(
        Code.InvalidArgument,
        `${key} is personal data: it goes in the body of a POST, never in a URL query`,
      );
    if (last.fieldKind === "list") {
      setJson(
        json,
        fields,
        values.map((value) => jsonOfText(last, value, `query parameter ${key}`)),
      );
    } else {
      if (values.length > 1)
        throw refusal(Code.InvalidArgument, `query parameter ${JSON.stringify(key)} is not repeated`);
      setJson(json, fields, jsonOfText(last, values[0] ?? "", `query parameter ${key}`));
    }
  }
  return { json, ...(httpBody ? { httpBody } : {}) };
}

function parseBody(body: Buffer, wholeMessage: boolean): JsonValue {
  if (body.length === 0) return wholeMessage ? {} : null;
  let value: JsonValue;
  try {
    value = JSON.parse(body.toString("utf8")) as JsonValue;
  } catch (error) {
    throw refusal(Code.InvalidArgument, `the body is not JSON: ${(error as Error).message}`);
  }
  if (wholeMessage && (typeof value !== "object" || value === null || Array.isArray(value)))
    throw refusal(Code.InvalidArgument, "the body must be a JSON object");
  return value;
}

/** An error as google.rpc.Status JSON, details as Any with their types resolved. */
function statusJson(error: ConnectError, registry: FileRegistry): JsonObject {
  const details = error.details.map((detail): JsonValue => {
    const typeName = "desc" in detail ? detail.desc.typeName : detail.type;
    const value = "desc" in detail ? undefined : detail.value;
    const any = create(AnySchema, {
      typeUrl: `type.googleapis.com/${typeName}`,
      value: value ?? new Uint8Array(),
    });
    try {
      return toJson(AnySchema, any, { registry });
    } catch {
      // A type the descriptors do not know: its bytes, as Any keeps them.
      return { "@type": any.typeUrl, value: Buffer.from(any.value).toString("base64") };
    }
  });
  return { code: error.code, message: error.rawMessage, details };
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT_BYTES) {
        reject(refusal(Code.ResourceExhausted, `the body exceeds ${BODY_LIMIT_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Headers for the service: the client's token and context, and the client's address as Envoy appends it. */
function upstreamHeaders(req: http.IncomingMessage): Headers {
  const headers = new Headers();
  for (const name of FORWARDED_HEADERS) {
    const value = req.headers[name];
    if (typeof value === "string") headers.set(name, value);
  }
  const peer = (req.socket.remoteAddress ?? "").replace(/^::ffff:/, "");
  const forwarded = req.headers["x-forwarded-for"];
  headers.set(
    "x-forwarded-for",
    [typeof forwarded === "string" ? forwarded : "", peer].filter(Boolean).join(", "),
  );
  headers.set("x-envoy-external-address", peer);
  return headers;
}

function copyHeaders(res: http.ServerResponse, from: Headers | undefined): void {
  from?.forEach((value, name) => {
    if (!PROTOCOL_HEADER.test(name)) res.setHeader(name, value);
  });
}

/** The message (or its response_body field) as the HTTP response. */
function writeMessage(res: http.ServerResponse, route: Route, value: unknown, registry: FileRegistry): void {
  const output = route.method.output;
  let json = toJson(output, value as never, { registry, alwaysEmitImplicit: true }) as JsonObject;
  let schema: DescMessage | undefined = output;
  if (route.responseBody) {
    const field = fieldNamed(output, route.responseBody);
    schema = field?.fieldKind === "message" ? field.message : undefined;
    const picked = field ? json[field.jsonName] : undefined;
    json = (picked ??
      (field?.fieldKind === "list" ? [] : field?.fieldKind === "message" ? {} : null)) as JsonObject;
  }
  if (schema?.typeName === HTTP_BODY) {
    const body = json as { contentType?: string; data?: string };
    res.writeHead(200, { "content-type": body.contentType || "application/octet-stream" });
    res.end(Buffer.from(body.data ?? "", "base64"));
    return;
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(json));
}

export async function startRestGateway(options: RestGatewayOptions): Promise<RunningRestGateway> {
  const routes = buildRoutes(options);
  const { registry, logger } = options;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const cors = corsHandler(options.corsOrigins ?? [], ["GET", "POST", "PUT", "PATCH", "DELETE"]);

  const fail = (res: http.ServerResponse, error: ConnectError, status = httpStatusOf(error.code)) => {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    copyHeaders(res, error.metadata);
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify(statusJson(error, registry)));
  };

  const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    const method = (req.method ?? "GET").toUpperCase();
    let best: { route: Route; variables: Map<string, string> } | undefined;
    let pathMatched = false;
    for (const route of routes) {
      const variables = matchPathTemplate(route.template, url.pathname);
      if (!variables) continue;
      pathMatched = true;
      if (route.httpMethod !== method) continue;
      if (!best || route.template.literals > best.route.template.literals) best = { route, variables };
    }
    if (!best) {
      return pathMatched
        ? fail(res, refusal(Code.Unimplemented, `${method} is not allowed on ${url.pathname}`), 405)
        : fail(res, refusal(Code.NotFound, `no REST route for ${method} ${url.pathname}`), 404);
    }
    const { route, variables } = best;
    const body = await readBody(req);
    const { json } = requestJson(route, variables, url.searchParams, body, req.headers["content-type"]);
    let input: unknown;
    try {
      input = fromJson(route.method.input, json, { registry });
    } catch (error) {
      throw refusal(Code.InvalidArgument, (error as Error).message);
    }
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const header = upstreamHeaders(req);
    if (route.method.methodKind === "unary") {
      const response = await route.transport.unary(
        route.method as never,
        abort.signal,
        timeoutMs,
        header,
        input as never,
      );
      copyHeaders(res, response.header);
      writeMessage(res, route, response.message, registry);
      return;
    }
    // Server streaming: a JSON array written as the messages come (Envoy's default).
    const response = await route.transport.stream(
      route.method as never,
      abort.signal,
      timeoutMs,
      header,
      (async function* () {
        yield input as never;
      })(),
    );
    let first = true;
    for await (const message of response.message) {
      if (first) {
        copyHeaders(res, response.header);
        res.writeHead(200, { "content-type": "application/json" });
        res.write("[");
      }
      res.write(
        `${first ? "" : ","}${JSON.stringify(toJson(route.method.output, message as never, { registry, alwaysEmitImplicit: true }))}`,
      );
      first = false;
    }
    if (first) res.writeHead(200, { "content-type": "application/json" }).write("[");
    res.end("]");
  };

  // Slow or idle clients are cut as on the services (DEFAULT_LIMITS in server.ts).
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 30_000 }, (req, res) => {
    const run = () =>
      serve(req, res).catch((error: unknown) => {
        const connectError = ConnectError.from(error);
        if (connectError.code === Code.Internal || connectError.code === Code.Unknown)
          logger.error({ err: error, path: req.url }, "REST call failed");
        fail(res, connectError);
      });
    if (cors) cors(req, res, run);
    else run();
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${options.host.includes(":") ? `[${options.host}]` : options.host}:${port}`,
    routes: routes.map(
      (route) =>
        `${route.httpMethod} ${route.template.source} → ${route.method.parent.typeName}.${route.method.name}`,
    ),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      }),
  };
}
