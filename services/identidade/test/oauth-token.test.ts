// POST /v1/auth:token as stock OAuth 2.0 clients call it (RFC 6749): a form body, HTTP Basic
// client authentication and §5.2 errors, over real HTTP; the Connect/JSON Token RPC unchanged.
import { randomBytes, randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = "senha-do-admin-123";
/** Attempts a minute per (client, source): low enough to be reached in a test. */
const LIMIT_PER_CLIENT = 6;

let identidade: TestService;
let auth: ReturnType<typeof createClient<typeof AuthService>>;
let usuarios: ReturnType<typeof createClient<typeof UsuarioService>>;
let adminToken: string;

beforeAll(async () => {
  identidade = await startTestService(service, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOGIN_LIMIT_PER_USER: String(LIMIT_PER_CLIENT),
    LOGIN_LIMIT_PER_IP: "100000",
  });
  const transport = createConnectTransport({ baseUrl: identidade.service.url, httpVersion: "1.1" });
  auth = createClient(AuthService, transport);
  usuarios = createClient(UsuarioService, transport);
  adminToken = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
});
afterAll(() => identidade?.stop());

/** A new partner client with two scopes. */
async function partner(): Promise<{
  clientId: string;
  clientSecret: string;
  id: string;
  form: { client_id: string; client_secret: string };
}> {
  const clientId = `parceiro-${randomUUID().slice(0, 8)}`;
  const created = await usuarios.createUsuario(
    {
      username: clientId,
      kind: UsuarioKind.PARCEIRO,
      roles: [Role.PARCEIRO],
      scopes: ["cotas.read", "boletos.read"],
    },
    { headers: { authorization: `Bearer ${adminToken}` } },
  );
  const clientSecret = created.clientSecret;
  return {
    clientId,
    clientSecret,
    id: created.usuario?.id ?? "",
    form: { client_id: clientId, client_secret: clientSecret },
  };
}

function basic(clientId: string, clientSecret: string): string {
  // RFC 6749 §2.3.1: each part form-encoded, then base64.
  const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`;
  return `Basic ${Buffer.from(pair).toString("base64")}`;
}

async function post(
  body: string | Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${identidade.service.url}/v1/auth:token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
    body: typeof body === "string" ? body : new URLSearchParams(body).toString(),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

describe("the token endpoint with a form body (RFC 6749)", () => {
  test("client credentials in the body get a Bearer token with the granted scope, never cached", async () => {
    const client = await partner();
    const res = await post({ grant_type: "client_credentials", ...client.form, scope: "cotas.read" });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.json).toMatchObject({ token_type: "Bearer", expires_in: 900, scope: "cotas.read" });
    const claims = decodeJwt(String(res.json.access_token));
    expect(claims).toMatchObject({ sub: client.id, scope: "cotas.read", roles: ["PARCEIRO"] });
  });

  test("client credentials with HTTP Basic get a token too", async () => {
    const client = await partner();
    const res = await post(
      { grant_type: "client_credentials", scope: "boletos.read cotas.read" },
      { authorization: basic(client.clientId, client.clientSecret) },
    );
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ token_type: "Bearer", scope: "boletos.read cotas.read" });
    expect(decodeJwt(String(res.json.access_token)).sub).toBe(client.id);
  });

  test("a wrong secret is invalid_client with 401 and a Basic challenge, in the body or in Basic", async () => {
    const client = await partner();
    for (const res of [
      await post({ grant_type: "client_credentials", client_id: client.clientId, client_secret: "errado" }),
      await post({ grant_type: "client_credentials" }, { authorization: basic(client.clientId, "errado") }),
      await post(
        { grant_type: "client_credentials" },
        { authorization: basic(`x${client.clientId}`, "errado") },
      ),
      await post({ grant_type: "client_credentials", client_id: client.clientId }),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers.get("www-authenticate")).toMatch(/^Basic /);
      expect(res.json).toEqual({ error: "invalid_client", error_description: expect.any(String) });
    }
  });

  test("a scope the client does not have is invalid_scope", async () => {
    const client = await partner();
    const res = await post({
      grant_type: "client_credentials",
      ...client.form,
      scope: "cotas.read admin.write",
    });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "invalid_scope" });
    expect(String(res.json.error_description)).toContain("admin.write");
  });

  test("a grant type other than client_credentials and refresh_token is unsupported_grant_type", async () => {
    const res = await post({ grant_type: "password", username: "admin", password: ADMIN_PASSWORD });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: "unsupported_grant_type" });
  });

  test("malformed requests are invalid_request", async () => {
    const client = await partner();
    const cases: Array<[string | Record<string, string>, Record<string, string>?]> = [
      [{ client_id: client.clientId, client_secret: client.clientSecret }], // no grant_type
      [`grant_type=client_credentials&grant_type=client_credentials&client_id=${client.clientId}`], // repeated
      // Two authentication methods at once.
      [
        { grant_type: "client_credentials", client_secret: client.clientSecret },
        { authorization: basic(client.clientId, client.clientSecret) },
      ],
      [{ grant_type: "client_credentials", ...client.form, scope: "x".repeat(1025) }],
      [
        JSON.stringify({ grant_type: "client_credentials", ...client.form }),
        { "content-type": "application/json" },
      ],
      [{ grant_type: "refresh_token" }], // no refresh_token
    ];
    for (const [body, headers] of cases) {
      const res = await post(body, headers);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json).toMatchObject({ error: "invalid_request" });
    }
  });

  test("refresh_token: a valid one rotates, an unknown or reused one is invalid_grant", async () => {
    const { refreshToken } = await auth.login({ username: "admin", password: ADMIN_PASSWORD });
    const rotated = await post({ grant_type: "refresh_token", refresh_token: refreshToken });
    expect(rotated.status).toBe(200);
    expect(rotated.json).toMatchObject({ token_type: "Bearer", refresh_token: expect.any(String) });
    for (const token of [refreshToken, "nao-existe"]) {
      const res = await post({ grant_type: "refresh_token", refresh_token: token });
      expect(res.status).toBe(400);
      expect(res.json).toMatchObject({ error: "invalid_grant" });
    }
  });

  test("the same rate limit as the RPC: past it, 429 with Retry-After", async () => {
    const client = await partner();
    const statuses: number[] = [];
    for (let i = 0; i <= LIMIT_PER_CLIENT; i++) {
      const res = await post({
        grant_type: "client_credentials",
        client_id: client.clientId,
        client_secret: "errado",
      });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get("retry-after")).toBeTruthy();
        expect(res.json).toMatchObject({ error: "invalid_request" });
      }
    }
    expect(statuses.slice(0, LIMIT_PER_CLIENT)).toEqual(Array(LIMIT_PER_CLIENT).fill(401));
    expect(statuses.at(-1)).toBe(429);
    // The limit is per client: the RPC sees the same count.
    await expect(
      auth.token({
        grantType: "client_credentials",
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        scope: "",
      }),
    ).rejects.toThrow(/too many/);
  });

  test("each call is audited like the Token RPC, with its outcome", async () => {
    const client = await partner();
    const correlation = randomUUID();
    await post({ grant_type: "client_credentials", ...client.form }, { "x-correlation-id": correlation });
    await post(
      { grant_type: "client_credentials", client_id: client.clientId, client_secret: "errado" },
      { "x-correlation-id": correlation },
    );
    // In the order written (ids are UUIDv7): the relay's updates move rows in the heap.
    const calls = (
      await identidade.db.query("select payload from platform_outbox where event_type = $1 order by id", [
        ChamadaRegistradaSchema.typeName,
      ])
    )
      .map((row) => fromBinary(ChamadaRegistradaSchema, row.payload))
      .filter((call) => call.correlationId === correlation);
    expect(calls.map((c) => [c.method, c.target, c.result])).toEqual([
      ["consorcio.identidade.v1.AuthService/Token", client.clientId, RpcCode.OK],
      ["consorcio.identidade.v1.AuthService/Token", client.clientId, RpcCode.UNAUTHENTICATED],
    ]);
  });
});

describe("the JSON Token RPC", () => {
  test("is unchanged: Connect JSON gets camelCase fields and Connect errors", async () => {
    const client = await partner();
    const url = `${identidade.service.url}/consorcio.identidade.v1.AuthService/Token`;
    const call = (body: unknown) =>
      fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const ok = await call({
      grantType: "client_credentials",
      clientId: client.clientId,
      clientSecret: client.clientSecret,
      scope: "cotas.read",
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ tokenType: "Bearer", scope: "cotas.read", expiresIn: 900 });
    const refused = await call({
      grantType: "client_credentials",
      clientId: client.clientId,
      clientSecret: "errado",
    });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ code: "unauthenticated" });
  });
});
