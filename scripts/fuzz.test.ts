// Bad input never becomes Internal, across every RPC of every service: identidade,
// consorciados and auditoria run in-process against the real PostgreSQL, RabbitMQ and Redis
// and get thousands of malformed requests (every protocol, garbage and truncated bodies,
// wrong content types, NUL and huge strings, wrong JSON types), anonymous and authenticated.
// The seed is fixed, so a failure reproduces; the totals by status are printed.
import { randomBytes, randomUUID } from "node:crypto";
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
  ScalarType,
  toBinary,
  toJsonString,
} from "@bufbuild/protobuf";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import {
  ConsorciadoService,
  CreateConsorciadoRequestSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { Health } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { cpf } from "cpf-cnpj-validator";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as auditoria } from "../services/auditoria/src/service.ts";
import { service as consorciados } from "../services/consorciados/src/service.ts";
import { piiKeys } from "../services/consorciados/test/support.ts";
import { service as identidade } from "../services/identidade/src/service.ts";
import { deleteQueues, startTestService, type TestService } from "../services/platform/src/testing.ts";
import {
  frame,
  http1Call,
  type Protocol,
  type RawAnswer,
  type RawRequest,
  rawClient,
} from "../services/platform/test/raw-rpc.ts";

const SEED = 20261203;
const CASES = 4000;
const ADMIN_PASSWORD = "senha-do-admin-fuzz";
const queue = `auditoria.fuzz.${randomUUID().slice(0, 8)}`;

let running: Record<"identidade" | "consorciados" | "auditoria", TestService>;
let tokens: { admin: string; consorciado: string; consorciadoId: string };
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  const id = await startTestService(identidade, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    // consorciados starts after identidade (it needs identidade's JWKS), so the consorciado account
    // below names a random consorciado: its existence is not what this file tests.
    CHECK_CONSORCIADO_ID: "false",
  });
  const jwks = { JWKS_URL: `${id.service.url}/.well-known/jwks.json` };
  running = {
    identidade: id,
    consorciados: await startTestService(consorciados, {
      ...piiKeys,
      ...jwks,
      ERASURE_INTERVAL_SECONDS: "0",
    }),
    auditoria: await startTestService(auditoria, { ...jwks, AUDITORIA_QUEUE: queue }),
  };
  const transport = createConnectTransport({ baseUrl: id.service.url, httpVersion: "2" });
  const auth = createClient(AuthService, transport);
  const admin = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
  // A consorciado's own account, for the owner-scoped RPCs.
  const consorciadoId = randomUUID();
  const password = `Senha forte ${randomUUID()}`;
  const username = `fuzz-${randomUUID().slice(0, 8)}`;
  await createClient(UsuarioService, transport).createUsuario(
    { username, kind: UsuarioKind.CONSORCIADO, roles: [Role.CONSORCIADO], password, consorciadoId },
    bearer(admin),
  );
  const consorciado = (await auth.login({ username, password })).accessToken;
  tokens = { admin, consorciado, consorciadoId };
}, 120_000);
afterAll(async () => {
  for (const service of Object.values(running ?? {}).reverse()) await service.stop();
  await deleteQueues([queue]);
});

const client = <S extends DescService>(name: keyof typeof running, service: S) =>
  createClient(service, createConnectTransport({ baseUrl: running[name].service.url, httpVersion: "2" }));

async function codeOf(call: Promise<unknown>): Promise<{ code: Code | "ok"; fields: string[] }> {
  try {
    await call;
    return { code: "ok", fields: [] };
  } catch (e) {
    const error = ConnectError.from(e);
    const [violations] = error.findDetails(ViolationsSchema);
    const fields = (violations?.violations ?? []).map(
      (v) => v.field?.elements.map((element) => element.fieldName).join(".") ?? "",
    );
    return { code: error.code, fields };
  }
}

describe("bad input seen on main is InvalidArgument before any SQL", () => {
  test("UpdateConsorciado with consorciado.id 'x' or ''", async () => {
    for (const id of ["x", ""]) {
      const result = await codeOf(
        client("consorciados", ConsorciadoService).updateConsorciado(
          { consorciado: { id, version: 1, email: "a@b.com.br" }, updateMask: { paths: ["email"] } },
          bearer(tokens.admin),
        ),
      );
      expect({ id, ...result }).toEqual({ id, code: Code.InvalidArgument, fields: ["consorciado"] });
    }
  });

  test("UpdateUsuario with usuario.id 'x'", async () => {
    const result = await codeOf(
      client("identidade", UsuarioService).updateUsuario(
        { usuario: { id: "x", version: 1, roles: [Role.OPERADOR] }, updateMask: { paths: ["roles"] } },
        bearer(tokens.admin),
      ),
    );
    expect(result).toEqual({ code: Code.InvalidArgument, fields: ["usuario"] });
  });

  test("CreateUsuario with a consorciado_id that only looks like a UUID", async () => {
    const result = await codeOf(
      client("identidade", UsuarioService).createUsuario(
        {
          username: `fuzz-${randomUUID().slice(0, 8)}`,
          kind: UsuarioKind.CONSORCIADO,
          roles: [Role.CONSORCIADO],
          password: "Senha forte 123456",
          consorciadoId: "-".repeat(36),
        },
        bearer(tokens.admin),
      ),
    );
    expect(result).toEqual({ code: Code.InvalidArgument, fields: ["consorciado_id"] });
  });

  test("ListAuditRecords with a NUL character in subject, actor or type", async () => {
    for (const field of ["subject", "actor", "type"] as const) {
      const result = await codeOf(
        client("auditoria", AuditoriaService).listAuditRecords({ [field]: "a\0b" }, bearer(tokens.admin)),
      );
      expect({ field, ...result }).toEqual({ field, code: Code.InvalidArgument, fields: [field] });
    }
  });

  test("ListAuditRecords with a from_time beyond year 9999 (sent in binary)", async () => {
    const result = await codeOf(
      client("auditoria", AuditoriaService).listAuditRecords(
        { fromTime: { seconds: -3_431_182_341_719_945_072n } },
        bearer(tokens.admin),
      ),
    );
    expect(result).toEqual({ code: Code.InvalidArgument, fields: ["from_time"] });
  });

  test("Login with username 'ad\\u0000min'", async () => {
    const result = await codeOf(
      client("identidade", AuthService).login({ username: "ad\0min", password: ADMIN_PASSWORD }),
    );
    expect(result).toEqual({ code: Code.InvalidArgument, fields: ["username"] });
  });

  test("a malformed protobuf body, in Connect and gRPC, and a GET with bad base64", async () => {
    const raw = rawClient(running.consorciados.service.url);
    const headers = { authorization: `Bearer ${tokens.admin}` };
    const create = "/consorcio.consorciados.v1.ConsorciadoService/CreateConsorciado";
    const get = "/consorcio.consorciados.v1.ConsorciadoService/GetConsorciado";
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff]);
    const answers = [
      await raw.call({ path: create, protocol: "connect", body: garbage, headers }),
      await raw.call({ path: create, protocol: "grpc", body: frame(garbage), headers }),
      await raw.call({
        path: get,
        protocol: "connect-get",
        body: "encoding=proto&base64=1&message=*",
        headers,
      }),
    ];
    await raw.close();
    expect(answers.map((a) => [a.code, a.httpStatus])).toEqual([
      [Code.InvalidArgument, 400],
      [Code.InvalidArgument, 200],
      [Code.InvalidArgument, 400],
    ]);
    // And the same over gRPC with a generated client still works.
    const grpc = createClient(
      ConsorciadoService,
      createGrpcTransport({ baseUrl: running.consorciados.service.url }),
    );
    const created = await grpc.createConsorciado(
      {
        consorciado: {
          tipo: TipoPessoa.FISICA,
          pessoa: { case: "pf", value: { cpf: cpf.generate(), nome: "Pessoa Válida" } },
        },
      },
      bearer(tokens.admin),
    );
    expect(created.consorciado?.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

// ---- the fuzzer ----

interface Rpc {
  service: keyof typeof running;
  method: DescMethod;
  path: string;
  get: boolean;
}

const rpcs: Rpc[] = [
  ...[AuthService, UsuarioService, Health].map((s) => ["identidade", s] as const),
  ...[ConsorciadoService, Health].map((s) => ["consorciados", s] as const),
  ...[AuditoriaService, Health].map((s) => ["auditoria", s] as const),
].flatMap(([service, desc]) =>
  desc.methods
    .filter((method) => method.methodKind === "unary")
    .map((method) => ({
      service,
      method,
      path: `/${desc.typeName}/${method.name}`,
      get: method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS,
    })),
);

const HUGE = "x".repeat(200_000);
const strings = fc.oneof(
  fc.constantFrom("", "x", "ad\0min", "\0", "admin", "00000000-0000-0000-0000-000000000000", "-".repeat(36)),
  fc.constant(randomUUID()),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.string({ maxLength: 20 }).map((s) => `${s}\0${s}`),
  fc.constantFrom(HUGE, "ç".repeat(5_000)),
);
const int64 = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
const uint64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });

function scalar(type: ScalarType): fc.Arbitrary<unknown> {
  switch (type) {
    case ScalarType.STRING:
      return strings;
    case ScalarType.BYTES:
      return fc.uint8Array({ maxLength: 64 });
    case ScalarType.BOOL:
      return fc.boolean();
    case ScalarType.DOUBLE:
    case ScalarType.FLOAT:
      return fc.double();
    case ScalarType.INT64:
    case ScalarType.SINT64:
    case ScalarType.SFIXED64:
      return int64;
    case ScalarType.UINT64:
    case ScalarType.FIXED64:
      return uint64;
    case ScalarType.UINT32:
    case ScalarType.FIXED32:
      return fc.oneof(fc.constantFrom(0, 1, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
    default:
      return fc.oneof(fc.constantFrom(0, -1, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
  }
}

function value(field: DescField, depth: number): fc.Arbitrary<unknown> {
  const enumValue = (values: readonly { number: number }[]) =>
    fc.oneof(fc.constantFrom(...values.map((v) => v.number)), fc.integer({ min: -3, max: 50 }));
  switch (field.fieldKind) {
    case "scalar":
      return scalar(field.scalar);
    case "enum":
      return enumValue(field.enum.values);
    case "message":
      return message(field.message, depth + 1);
    case "list": {
      const item =
        field.listKind === "message"
          ? message(field.message, depth + 1)
          : field.listKind === "enum"
            ? enumValue(field.enum.values)
            : scalar(field.scalar);
      return fc.array(item, { maxLength: 3 });
    }
    case "map": {
      const item =
        field.mapKind === "message"
          ? message(field.message, depth + 1)
          : field.mapKind === "enum"
            ? enumValue(field.enum.values)
            : scalar(field.scalar);
      const key = field.mapKey === ScalarType.STRING ? strings : fc.integer().map(String);
      return fc.dictionary(key as fc.Arbitrary<string>, item, { maxKeys: 3 });
    }
  }
}

/** A random message of the schema, as a `create` init (fields left out at random). */
function message(schema: DescMessage, depth = 0): fc.Arbitrary<Record<string, unknown> | undefined> {
  if (depth > 3) return fc.constant(undefined);
  const parts: Record<string, fc.Arbitrary<unknown>> = {};
  for (const member of schema.members) {
    if (member.kind === "oneof") {
      parts[member.localName] = fc.oneof(
        fc.constant(undefined),
        ...member.fields.map((f) => value(f, depth).map((v) => ({ case: f.localName, value: v }))),
      );
    } else {
      parts[member.localName] = fc.option(value(member, depth), { nil: undefined, freq: 2 });
    }
  }
  return fc.record(parts);
}

type Body =
  | { kind: "message"; init: Record<string, unknown> | undefined }
  | { kind: "random"; bytes: Uint8Array }
  | { kind: "truncated"; init: Record<string, unknown> | undefined; cut: number }
  | { kind: "wrong-json"; init: Record<string, unknown> | undefined; field: number; wrong: unknown }
  | { kind: "text"; text: string };

type Variant =
  | "connect-proto"
  | "connect-json"
  | "connect-get"
  | "grpc"
  | "grpc-web"
  | "unframed"
  | "two-frames"
  | "compressed-flag"
  | "wrong-content-type";

interface Case {
  rpc: Rpc;
  body: Body;
  variant: Variant;
  auth: "anonymous" | "admin" | "consorciado" | "garbage";
  http1: boolean;
  contentType: string;
}

const fuzzCase: fc.Arbitrary<Case> = fc.integer({ min: 0, max: rpcs.length - 1 }).chain((index) => {
  const rpc = rpcs[index] as Rpc;
  const init = message(rpc.method.input);
  const body: fc.Arbitrary<Body> = fc.oneof(
    { weight: 4, arbitrary: init.map((i) => ({ kind: "message" as const, init: i })) },
    {
      weight: 2,
      arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ kind: "random" as const, bytes: b })),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("truncated" as const), init, cut: fc.nat({ max: 1000 }) }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("wrong-json" as const),
        init,
        field: fc.nat(),
        wrong: fc.oneof(
          fc.constant(null),
          fc.boolean(),
          fc.double(),
          fc.string(),
          fc.constant([1, "a"]),
          fc.constant({ a: 1 }),
        ),
      }),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 30 }), fc.json(), fc.constantFrom("{", "[]", "null", '{"a":'))
        .map((t) => ({ kind: "text" as const, text: t })),
    },
  );
  return fc.record({
    rpc: fc.constant(rpc),
    body,
    variant: fc.constantFrom<Variant>(
      "connect-proto",
      "connect-json",
      "connect-get",
      "grpc",
      "grpc-web",
      "unframed",
      "two-frames",
      "compressed-flag",
      "wrong-content-type",
    ),
    auth: fc.constantFrom("anonymous", "admin", "admin", "consorciado", "garbage"),
    http1: fc.boolean(),
    contentType: fc.constantFrom(
      "text/plain",
      "application/xml",
      "application/grpc+xml",
      "application/connect+proto",
      "application/json; charset=latin1",
      "",
    ),
  });
});

function binaryOf(schema: DescMessage, init: Record<string, unknown> | undefined): Uint8Array {
  try {
    return toBinary(schema, create(schema, init as never));
  } catch {
    return new Uint8Array([0xff]);
  }
}

function jsonOf(schema: DescMessage, body: Body): string {
  if (body.kind === "text") return body.text;
  if (body.kind === "random") return Buffer.from(body.bytes).toString("latin1");
  let json: string;
  try {
    json = toJsonString(schema, create(schema, body.init as never));
  } catch {
    return "{";
  }
  if (body.kind === "truncated") return json.slice(0, body.cut % (json.length + 1));
  if (body.kind === "wrong-json") {
    const object = JSON.parse(json) as Record<string, unknown>;
    const field = schema.fields[body.field % Math.max(1, schema.fields.length)];
    if (field) object[field.jsonName] = body.wrong;
    return JSON.stringify(object);
  }
  return json;
}

function bytesOf(schema: DescMessage, body: Body): Uint8Array {
  if (body.kind === "random") return body.bytes;
  if (body.kind === "text") return new TextEncoder().encode(body.text);
  const bytes = binaryOf(schema, body.init);
  if (body.kind === "truncated") return bytes.subarray(0, body.cut % (bytes.length + 1));
  if (body.kind === "wrong-json") return new TextEncoder().encode(jsonOf(schema, body));
  return bytes;
}

function toRequest(c: Case): { request: RawRequest; http1: boolean } {
  const schema = c.rpc.method.input;
  const headers: Record<string, string> = {};
  if (c.auth === "admin") headers.authorization = `Bearer ${tokens.admin}`;
  if (c.auth === "consorciado") headers.authorization = `Bearer ${tokens.consorciado}`;
  if (c.auth === "garbage") headers.authorization = "Bearer eyJhbGciOiJub25lIn0.e30.";
  const base = { path: c.rpc.path, headers };
  const bytes = bytesOf(schema, c.body);
  let request: RawRequest;
  switch (c.variant) {
    case "connect-proto":
      request = { ...base, protocol: "connect", body: bytes };
      break;
    case "connect-json":
      request = {
        ...base,
        protocol: "connect",
        body: new TextEncoder().encode(jsonOf(schema, c.body)),
        contentType: "application/json",
      };
      break;
    case "connect-get": {
      const json = c.body.kind === "message" && bytes.length % 2 === 0;
      const query = json
        ? `encoding=json&message=${encodeURIComponent(jsonOf(schema, c.body))}`
        : `encoding=proto&base64=1&message=${encodeURIComponent(
            c.body.kind === "text" ? c.body.text : base64Encode(bytes, "url"),
          )}`;
      // Past a few KiB a URL is refused by the HTTP layer, not by us: send those as POST.
      request =
        query.length < 4_000
          ? { ...base, protocol: "connect-get", body: `${query}&connect=v1` }
          : { ...base, protocol: "connect", body: bytes };
      break;
    }
    case "grpc":
      request = { ...base, protocol: "grpc", body: frame(bytes) };
      break;
    case "grpc-web":
      request = { ...base, protocol: "grpc-web", body: frame(bytes) };
      break;
    case "unframed":
      request = { ...base, protocol: c.http1 ? "grpc-web" : "grpc", body: bytes };
      break;
    case "two-frames":
      request = { ...base, protocol: "grpc", body: Buffer.concat([frame(bytes), frame(bytes)]) };
      break;
    case "compressed-flag":
      request = { ...base, protocol: c.http1 ? "grpc-web" : "grpc", body: frame(bytes, 1) };
      break;
    case "wrong-content-type":
      request = { ...base, protocol: "connect", body: bytes, contentType: c.contentType };
      break;
  }
  return { request, http1: c.http1 && request.protocol !== "grpc" };
}

/** The body of a failing case, short enough to read (bigints and long strings abridged). */
const abridged = (body: Body) =>
  JSON.stringify(body, (_key, v) =>
    typeof v === "bigint"
      ? `${v}n`
      : typeof v === "string" && v.length > 80
        ? `${v.slice(0, 20)}…(${v.length})`
        : v,
  );

const label = (answer: RawAnswer) =>
  answer.code === "ok" ? "OK" : answer.code === undefined ? `HTTP ${answer.httpStatus}` : Code[answer.code];

describe("the fuzzer", () => {
  test(`${CASES} malformed requests across every RPC and protocol: no Internal, no Unknown, no 500`, async () => {
    const cases = fc.sample(fuzzCase, { seed: SEED, numRuns: CASES });
    const clients = Object.fromEntries(
      Object.entries(running).map(([name, s]) => [name, rawClient(s.service.url)]),
    ) as Record<keyof typeof running, ReturnType<typeof rawClient>>;
    const totals = new Map<string, number>();
    const byProtocol = new Map<Protocol, number>();
    const failures: string[] = [];
    const reached = new Set<string>();
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < cases.length; i = next++) {
        const c = cases[i] as Case;
        const { request, http1 } = toRequest(c);
        const url = running[c.rpc.service].service.url;
        const answer = await (http1 ? http1Call(url, request) : clients[c.rpc.service].call(request)).catch(
          (error: unknown) => ({ code: Code.Unknown, httpStatus: 0, message: String(error) }) as RawAnswer,
        );
        const name = label(answer);
        totals.set(name, (totals.get(name) ?? 0) + 1);
        byProtocol.set(request.protocol, (byProtocol.get(request.protocol) ?? 0) + 1);
        if (answer.code !== undefined && answer.code !== Code.Unauthenticated) reached.add(c.rpc.path);
        if (answer.code === Code.Internal || answer.code === Code.Unknown || answer.httpStatus === 500) {
          failures.push(
            `#${i} ${c.rpc.path} ${c.variant}/${request.protocol}${http1 ? " http1" : ""} ${c.auth}: ${name} ${answer.message} ${abridged(c.body)}`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await Promise.all(Object.values(clients).map((c) => c.close()));
    const sorted = [...totals].sort((a, b) => b[1] - a[1]);
    console.log(
      `fuzz (seed ${SEED}): ${cases.length} requests over ${rpcs.length} RPCs; by status: ${sorted
        .map(([k, v]) => `${k} ${v}`)
        .join(", ")}; by protocol: ${[...byProtocol].map(([k, v]) => `${k} ${v}`).join(", ")}`,
    );
    expect(failures.slice(0, 20)).toEqual([]);
    // Every RPC was reached past authentication at least once.
    expect(rpcs.filter((rpc) => !reached.has(rpc.path)).map((rpc) => rpc.path)).toEqual([]);
  }, 120_000);

  test("a well-formed CreateConsorciado still succeeds after the storm", async () => {
    const request = create(CreateConsorciadoRequestSchema, {
      consorciado: {
        tipo: TipoPessoa.FISICA,
        pessoa: { case: "pf", value: { cpf: cpf.generate(), nome: "Depois do Fuzz" } },
      },
    });
    const { consorciado } = await client("consorciados", ConsorciadoService).createConsorciado(
      request,
      bearer(tokens.admin),
    );
    expect(consorciado?.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});
