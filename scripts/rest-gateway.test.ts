// The local REST gateway over real identidade and consorciados (in-process, real PostgreSQL,
// RabbitMQ, Redis): its responses match the schemas of openapi/consorcio.openapi.yaml, the
// document partners get. Every object schema is closed here (no property it does not list),
// so a field the document does not describe fails too.
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createLogger } from "@consorcio/platform/logging.ts";
import {
  loadDescriptorSet,
  type RunningRestGateway,
  startRestGateway,
} from "@consorcio/platform/rest-gateway.ts";
import { startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { cpf } from "cpf-cnpj-validator";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { service as consorciadosService } from "../services/consorciados/src/service.ts";
import { service as identidadeService } from "../services/identidade/src/service.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const ADMIN_PASSWORD = `senha-do-admin-${randomUUID()}`;
const DOCUMENT_ID = "https://consorcio.example/openapi";

interface Operation {
  responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }>; $ref?: string }>;
}
const document = parse(readFileSync(`${root}openapi/consorcio.openapi.yaml`, "utf8")) as {
  servers?: { url: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses: Record<string, Operation["responses"][string]> };
};

/** Every object schema with listed properties and no word on others admits no others. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (typeof schema !== "object" || schema === null) return schema;
  const copy = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, closed(value)]));
  if ("properties" in copy && !("additionalProperties" in copy)) copy.additionalProperties = false;
  return copy;
}

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv, ["date-time", "date", "email", "uri", "uuid", "byte"]);
// The protobuf formats of the document: 32-bit numbers in range, 64-bit integers as decimal strings.
ajv.addFormat("int32", {
  type: "number",
  validate: (n) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31,
});
ajv.addFormat("uint32", { type: "number", validate: (n) => Number.isInteger(n) && n >= 0 && n < 2 ** 32 });
ajv.addFormat("int64", /^-?\d{1,19}$/);
ajv.addFormat("uint64", /^\d{1,20}$/);
for (const name of ["float", "double"]) ajv.addFormat(name, { type: "number", validate: () => true });
ajv.addSchema({ $id: DOCUMENT_ID, components: { schemas: closed(document.components.schemas) } });

/** The schema errors of a body against the operation's response for that status. */
function schemaErrors(path: string, method: string, status: number, body: unknown): unknown[] {
  const operation = document.paths[path]?.[method];
  if (!operation) throw new Error(`the OpenAPI has no ${method.toUpperCase()} ${path}`);
  let response = operation.responses[String(status)] ?? operation.responses.default;
  if (response?.$ref) response = document.components.responses[response.$ref.split("/").at(-1) ?? ""];
  const ref = response?.content?.["application/json"]?.schema.$ref;
  if (!ref) throw new Error(`${method.toUpperCase()} ${path} documents no JSON body for ${status}`);
  const validate = ajv.getSchema(`${DOCUMENT_ID}${ref}`) ?? ajv.compile({ $ref: `${DOCUMENT_ID}${ref}` });
  return validate(body) ? [] : (validate.errors ?? ["invalid"]);
}

function expectMatchesSchema(path: string, method: string, status: number, body: unknown): void {
  expect(
    schemaErrors(path, method, status, body),
    `${method.toUpperCase()} ${path} ${status}: ${JSON.stringify(body)}`,
  ).toEqual([]);
}

let identidade: TestService;
let consorciados: TestService;
let gateway: RunningRestGateway;

beforeAll(async () => {
  identidade = await startTestService(identidadeService, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
  });
  consorciados = await startTestService(consorciadosService, {
    PII_MASTER_KEY: randomBytes(32).toString("base64"),
    PII_INDEX_KEY: randomBytes(32).toString("base64"),
    JWKS_URL: `${identidade.service.url}/.well-known/jwks.json`,
  });
  gateway = await startRestGateway({
    host: "127.0.0.1",
    port: 0,
    registry: loadDescriptorSet(`${root}envoy/descriptor.binpb`),
    logger: createLogger({ service: "rest-gateway", level: "silent" }),
    upstreams: [
      {
        baseUrl: identidade.service.url,
        services: identidadeService.services.map((desc) => desc.typeName),
      },
      {
        baseUrl: consorciados.service.url,
        services: consorciadosService.services.map((desc) => desc.typeName),
      },
    ],
  });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await consorciados?.stop();
  await identidade?.stop();
});

async function rest(method: string, path: string, token?: string, body?: unknown) {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: {
      "content-type": "application/json",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function novoConsorciado() {
  return {
    tipo: "TIPO_PESSOA_FISICA",
    pf: {
      cpf: cpf.generate(true),
      nome: `Maria José da Conceição ${randomUUID().slice(0, 6)}`,
      dataNascimento: { year: 1980, month: 5, day: 17 },
    },
    endereco: {
      cep: "01310-100",
      logradouro: "Avenida Paulista",
      numero: "1000",
      municipio: "São Paulo",
      uf: "SP",
    },
    email: `maria.${randomUUID().slice(0, 6)}@example.com`,
    telefones: ["+5511998765432"],
    chavePix: "maria@example.com",
  };
}

describe("REST gateway responses match the OpenAPI document", () => {
  test("the document names the local gateway as a server", () => {
    expect(document.servers?.map((server) => server.url)).toContain("http://127.0.0.1:8080");
  });

  test("login, create, get, list and search consorciados; errors as Status", async () => {
    const login = await rest("POST", "/v1/auth:login", undefined, {
      username: "admin",
      password: ADMIN_PASSWORD,
    });
    expect(login.status).toBe(200);
    expectMatchesSchema("/v1/auth:login", "post", 200, login.json);
    const token = login.json.accessToken as string;
    expect(token).toMatch(/^ey/);
    // The closed schemas bite: a field the document does not list, a proto name, a number as int64.
    expect(schemaErrors("/v1/auth:login", "post", 200, { ...login.json, access_token: token })).not.toEqual(
      [],
    );
    expect(schemaErrors("/v1/auth:login", "post", 200, { ...login.json, expiresIn: "900" })).not.toEqual([]);

    const input = novoConsorciado();
    const created = await rest("POST", "/v1/consorciados", token, input);
    expect(created.status, JSON.stringify(created.json)).toBe(200);
    expectMatchesSchema("/v1/consorciados", "post", 200, created.json);
    const consorciado = created.json.consorciado as { id: string; pf: { nome: string } };
    expect(consorciado.pf.nome).toBe(input.pf.nome);

    const read = await rest("GET", `/v1/consorciados/${consorciado.id}`, token);
    expect(read.status).toBe(200);
    expectMatchesSchema("/v1/consorciados/{id}", "get", 200, read.json);
    expect((read.json.consorciado as { email: string }).email).toBe(input.email);

    const listed = await rest("GET", "/v1/consorciados?pageSize=10&status=CONSORCIADO_STATUS_ATIVO", token);
    expect(listed.status, JSON.stringify(listed.json)).toBe(200);
    expectMatchesSchema("/v1/consorciados", "get", 200, listed.json);
    expect((listed.json.consorciados as { id: string }[]).map((item) => item.id)).toContain(consorciado.id);

    const searched = await rest("POST", "/v1/consorciados:search", token, { documento: input.pf.cpf });
    expect(searched.status).toBe(200);
    expectMatchesSchema("/v1/consorciados:search", "post", 200, searched.json);
    expect((searched.json.consorciados as { id: string }[]).map((item) => item.id)).toEqual([consorciado.id]);

    // Errors: NotFound, InvalidArgument with its violations, Unauthenticated, and what the gateway refuses.
    const missing = await rest("GET", "/v1/consorciados/0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", token);
    expect([missing.status, missing.json.code]).toEqual([404, 5]);
    expectMatchesSchema("/v1/consorciados/{id}", "get", 404, missing.json);
    const invalid = await rest("POST", "/v1/consorciados", token, {
      ...novoConsorciado(),
      email: "não é email",
    });
    expect([invalid.status, invalid.json.code]).toEqual([400, 3]);
    expectMatchesSchema("/v1/consorciados", "post", 400, invalid.json);
    expect(JSON.stringify(invalid.json.details)).toContain("email");
    const anonymous = await rest("GET", `/v1/consorciados/${consorciado.id}`);
    expect([anonymous.status, anonymous.json.code]).toEqual([401, 16]);
    expectMatchesSchema("/v1/consorciados/{id}", "get", 401, anonymous.json);
    const inUrl = await rest("GET", `/v1/consorciados?documento=${input.pf.cpf}`, token);
    expect([inUrl.status, inUrl.json.code]).toEqual([400, 3]);
    expect(inUrl.json.message).toContain("never in a URL");
    const unknown = await rest("GET", "/v1/consorciados?tamanho=10", token);
    expect([unknown.status, unknown.json.message]).toEqual([400, 'unknown query parameter "tamanho"']);
    expectMatchesSchema("/v1/consorciados", "get", 400, unknown.json);
  });
});
