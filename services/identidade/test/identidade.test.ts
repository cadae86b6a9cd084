import { createHash, randomBytes, randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { create, type DescService, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import {
  LoginBloqueadoSchema,
  LoginFalhou_Reason,
  LoginFalhouSchema,
  UsuarioKind,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import {
  CreateUsuarioRequestSchema,
  UsuarioService,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { RetryInfoSchema } from "@consorcio/gen/google/rpc/error_details_pb.js";
import { createTestClock } from "@consorcio/platform/clock.ts";
import { deleteQueues, eventually, startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { base64url, decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from "jose";
import { Secret, TOTP } from "otpauth";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WidgetService } from "../../platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { widgetService } from "../../platform/test/widget-service.ts";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = "senha-do-admin-123";
const secretKey = randomBytes(32).toString("base64");
const baseEnv = { IDENTIDADE_SECRET_KEY: secretKey, CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD };
// Every test logs in from 127.0.0.1 as admin: the rate limits have their own test.
const NO_RATE_LIMITS = { LOGIN_LIMIT_PER_USER: "100000", LOGIN_LIMIT_PER_IP: "100000" };
const logLines: string[] = [];
const captureLogger = pino(
  { level: "debug", base: { service: "identidade" } },
  new Writable({
    write(chunk, _encoding, done) {
      logLines.push(String(chunk));
      done();
    },
  }),
);

let identidade: TestService;
let transport: Transport;
let auth: ReturnType<typeof createClient<typeof AuthService>>;
let usuarios: ReturnType<typeof createClient<typeof UsuarioService>>;
let adminToken: string;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const password = () => `Senha forte ${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  identidade = await startTestService(service, { ...baseEnv, ...NO_RATE_LIMITS }, { logger: captureLogger });
  transport = createConnectTransport({ baseUrl: identidade.service.url, httpVersion: "2" });
  auth = createClient(AuthService, transport);
  usuarios = createClient(UsuarioService, transport);
  adminToken = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
});
afterAll(() => identidade.stop());

async function createStaff(roles: Role[] = [Role.OPERADOR]) {
  const username = `op-${randomUUID().slice(0, 8)}`;
  const pwd = password();
  const { usuario } = await usuarios.createUsuario(
    { username, kind: UsuarioKind.STAFF, roles, password: pwd },
    bearer(adminToken),
  );
  return { username, password: pwd, id: usuario?.id ?? "" };
}

describe("login and tokens", () => {
  test("the first admin logs in and gets an EdDSA token with kid, iss, aud, sub, roles and a 15 min expiry", async () => {
    const tokens = await auth.login({ username: "admin", password: ADMIN_PASSWORD });
    expect(tokens.tokenType).toBe("Bearer");
    expect(tokens.expiresIn).toBe(900);
    const header = decodeProtectedHeader(tokens.accessToken);
    expect(header.alg).toBe("EdDSA");
    expect(header.kid).toBeTruthy();
    const claims = decodeJwt(tokens.accessToken) as Record<string, unknown>;
    expect(claims).toMatchObject({ iss: "consorcio-identidade", aud: "consorcio", roles: ["ADMIN"] });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
    expect(tokens.refreshToken.length).toBeGreaterThanOrEqual(43);
  });

  test("a wrong password and an unknown username fail the same way", async () => {
    const errors = await Promise.all([
      auth.login({ username: "admin", password: "errada-errada" }).catch((e) => ConnectError.from(e)),
      auth
        .login({ username: `ninguem-${randomUUID()}`, password: "errada-errada" })
        .catch((e) => ConnectError.from(e)),
    ]);
    for (const error of errors) {
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.Unauthenticated);
      expect((error as ConnectError).rawMessage).toBe("invalid username or password");
    }
    await usuarios.unlockUsuario(
      {
        id:
          (await usuarios.listUsuarios({ pageSize: 500 }, bearer(adminToken))).usuarios.find(
            (u) => u.username === "admin",
          )?.id ?? "",
      },
      bearer(adminToken),
    );
  });

  test("refresh rotates; reusing a spent refresh token revokes the whole family", async () => {
    const user = await createStaff();
    const first = await auth.login({ username: user.username, password: user.password });
    const second = await auth.refresh({ refreshToken: first.refreshToken });
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(second.accessToken).not.toBe(first.accessToken);
    const third = await auth.refresh({ refreshToken: second.refreshToken });
    // A replay of the first token: the family (including the live third token) dies.
    await expect(auth.refresh({ refreshToken: first.refreshToken })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    await expect(auth.refresh({ refreshToken: third.refreshToken })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    // Another session of the same user is untouched.
    const other = await auth.login({ username: user.username, password: user.password });
    await expect(auth.refresh({ refreshToken: other.refreshToken })).resolves.toBeDefined();
  });

  test("concurrent use of one refresh token yields one success and revokes the family", async () => {
    const user = await createStaff();
    const { refreshToken } = await auth.login({ username: user.username, password: user.password });
    const results = await Promise.allSettled([
      auth.refresh({ refreshToken }),
      auth.refresh({ refreshToken }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const winner = results.find((r) => r.status === "fulfilled");
    await expect(
      auth.refresh({
        refreshToken: (winner as PromiseFulfilledResult<{ refreshToken: string }>).value.refreshToken,
      }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  test("logout revokes the refresh token", async () => {
    const user = await createStaff();
    const { refreshToken } = await auth.login({ username: user.username, password: user.password });
    await auth.logout({ refreshToken });
    await expect(auth.refresh({ refreshToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
  });

  test("a disabled user can neither log in nor refresh", async () => {
    const user = await createStaff();
    const { refreshToken } = await auth.login({ username: user.username, password: user.password });
    await usuarios.disableUsuario({ id: user.id }, bearer(adminToken));
    await expect(auth.login({ username: user.username, password: user.password })).rejects.toMatchObject({
      code: Code.FailedPrecondition,
    });
    await expect(auth.refresh({ refreshToken })).rejects.toMatchObject({ code: Code.Unauthenticated });
    const events = await identidade.db.query(
      "select event_type from platform_outbox where event_type like '%UsuarioDesativado'",
    );
    expect(events.length).toBeGreaterThanOrEqual(1);
  });
});

describe("audit of calls", () => {
  test("a failed login is audited once, with its failure, not as OK", async () => {
    const requestId = randomUUID();
    await auth
      .login({ username: "admin", password: "errada-errada" }, { headers: { "x-request-id": requestId } })
      .catch(() => undefined);
    const calls = (
      await identidade.db.query("select payload from platform_outbox where event_type = $1", [
        ChamadaRegistradaSchema.typeName,
      ])
    )
      .map((row) => fromBinary(ChamadaRegistradaSchema, row.payload))
      .filter((call) => call.correlationId === requestId);
    expect(calls.map((c) => [c.method, c.result])).toEqual([
      ["consorcio.identidade.v1.AuthService/Login", RpcCode.UNAUTHENTICATED],
    ]);
    const adminId = (await usuarios.listUsuarios({ pageSize: 500 }, bearer(adminToken))).usuarios.find(
      (u) => u.username === "admin",
    )?.id;
    // The failure is published with its reason, an enum value.
    const failures = (
      await identidade.db.query("select payload from platform_outbox where event_type = $1", [
        LoginFalhouSchema.typeName,
      ])
    ).map((row) => fromBinary(LoginFalhouSchema, row.payload));
    expect(failures).toContainEqual(
      expect.objectContaining({ usuarioId: adminId, reason: LoginFalhou_Reason.BAD_CREDENTIALS }),
    );
    await usuarios.unlockUsuario({ id: adminId ?? "" }, bearer(adminToken));
  });
});

describe("login throttling, per username and source", () => {
  // Holds of 1 s doubling up to 3 s, on a clock the tests move: a hold is seen to end by itself.
  const clock = createTestClock();
  let short: TestService;
  let shortAuth: ReturnType<typeof createClient<typeof AuthService>>;
  let shortUsuarios: ReturnType<typeof createClient<typeof UsuarioService>>;
  let shortAdmin: { id: string; token: string };
  const from = (ip: string) => ({ headers: { "x-forwarded-for": ip } });
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => "ok" as const,
      (e) => ConnectError.from(e).code,
    );
  const retrySeconds = async (call: Promise<unknown>) => {
    const error = await call.then(
      () => undefined,
      (e) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.ResourceExhausted);
    expect(error?.rawMessage).toMatch(/^too many failed logins from this address: try again in \d+ s$/);
    return Number(error?.findDetails(RetryInfoSchema)[0]?.retryDelay?.seconds);
  };

  beforeAll(async () => {
    short = await startTestService(
      service,
      { ...baseEnv, ...NO_RATE_LIMITS, LOGIN_THROTTLE_SECONDS: "1", LOGIN_THROTTLE_MAX_SECONDS: "3" },
      { clock },
    );
    const shortTransport = createConnectTransport({ baseUrl: short.service.url, httpVersion: "2" });
    shortAuth = createClient(AuthService, shortTransport);
    shortUsuarios = createClient(UsuarioService, shortTransport);
    const token = (await shortAuth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    shortAdmin = { id: decodeJwt(token).sub ?? "", token };
  });
  afterAll(() => short.stop());

  test("failures from one address hold it back, longer each time; admin still logs in from elsewhere", async () => {
    const attacker = from("203.0.113.7");
    const owner = from("198.51.100.20");
    const wrong = () => shortAuth.login({ username: "admin", password: "errada-errada" }, attacker);
    const right = (source: object) =>
      shortAuth.login({ username: "admin", password: ADMIN_PASSWORD }, source);
    for (let i = 0; i < 5; i++) expect(await codeOf(wrong())).toBe(Code.Unauthenticated);
    // Held back from the attacker's address, even with the right password...
    expect(await retrySeconds(right(attacker))).toBe(1);
    // ...but not from the owner's.
    await expect(right(owner)).resolves.toBeDefined();
    expect(
      (await shortUsuarios.getUsuario({ id: shortAdmin.id }, bearer(shortAdmin.token))).usuario?.locked,
    ).toBe(true);
    // The owner and the administrators hear of it, without the address.
    const [event] = (
      await short.db.query("select payload from platform_outbox where event_type = $1", [
        LoginBloqueadoSchema.typeName,
      ])
    ).map((row) => fromBinary(LoginBloqueadoSchema, row.payload));
    expect(event).toMatchObject({ usuarioId: shortAdmin.id, failures: 5 });
    expect(event?.sourceKey).toMatch(/^[0-9a-f]{64}$/);
    const endTime = Number(event?.endTime?.seconds) * 1000;
    expect(endTime).toBeGreaterThan(clock.now().getTime());
    expect(endTime).toBeLessThanOrEqual(clock.now().getTime() + 1_000);

    // The hold ends by itself; the next failure holds the address back twice as long.
    await clock.advance(1_000);
    expect(await codeOf(wrong())).toBe(Code.Unauthenticated);
    expect(await retrySeconds(right(attacker))).toBe(2);
    // An ADMIN's unlock clears every hold on the account at once.
    await shortUsuarios.unlockUsuario({ id: shortAdmin.id }, bearer(shortAdmin.token));
    await expect(right(attacker)).resolves.toBeDefined();
    expect(
      (await shortUsuarios.getUsuario({ id: shortAdmin.id }, bearer(shortAdmin.token))).usuario?.locked,
    ).toBe(false);
  });

  test("an unknown username is held back the same way (nothing tells whether it exists)", async () => {
    const source = from("203.0.113.8");
    const username = `fantasma-${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 5; i++)
      expect(await codeOf(shortAuth.login({ username, password: "errada-errada" }, source))).toBe(
        Code.Unauthenticated,
      );
    expect(await retrySeconds(shortAuth.login({ username, password: "errada-errada" }, source))).toBe(1);
  });

  test("rows are deleted once they no longer matter", async () => {
    const source = from("203.0.113.9");
    await shortAuth
      .login({ username: `esquecido-${randomUUID()}`, password: "x" }, source)
      .catch(() => undefined);
    const keys = async (where: string) =>
      (await short.db.query(`select user_key || source_key as k from login_throttle where ${where}`)).map(
        (row) => row.k as string,
      );
    // Forgotten after the longest hold (3 s) without another failure; the next login sweeps.
    await clock.advance(3_001);
    const stale = await keys(`forget_at < '${clock.now().toISOString()}'`);
    expect(stale.length).toBeGreaterThan(0);
    await shortAuth.login({ username: "admin", password: ADMIN_PASSWORD }, from("198.51.100.21"));
    const left = await keys("true");
    expect(stale.filter((key) => left.includes(key))).toEqual([]);
  });

  test("the database throttle holds with Redis down", async () => {
    const noRedis = await startTestService(service, {
      ...baseEnv,
      ...NO_RATE_LIMITS,
      REDIS_URL: "redis://127.0.0.1:1",
    });
    try {
      const client = createClient(
        AuthService,
        createConnectTransport({ baseUrl: noRedis.service.url, httpVersion: "2" }),
      );
      const codes: (Code | "ok")[] = [];
      for (let i = 0; i < 6; i++)
        codes.push(await codeOf(client.login({ username: "admin", password: "errada-errada" })));
      expect(codes).toEqual([...Array(5).fill(Code.Unauthenticated), Code.ResourceExhausted]);
    } finally {
      await noRedis.stop();
    }
  });

  test("no username (people type their CPF) and no address is stored in the clear", async () => {
    const digits = Array.from({ length: 11 }, () => Math.floor(Math.random() * 10)).join("");
    const cpf = `${digits.slice(0, 3)}.${digits.slice(3, 6)}.${digits.slice(6, 9)}-${digits.slice(9)}`;
    const ip = "192.0.2.123";
    for (const username of [cpf, digits])
      await auth.login({ username, password: "errada-errada" }, from(ip)).catch(() => undefined);
    const rows = await identidade.db.query("select * from login_throttle");
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const dump = JSON.stringify(rows);
    for (const plaintext of [cpf, digits, digits.slice(0, 9), ip]) expect(dump).not.toContain(plaintext);
    // The old table of plaintext usernames is gone.
    const [old] = await identidade.db.query("select to_regclass('login_attempt') as t");
    expect(old?.t).toBeNull();
  });
});

describe("rate limits", () => {
  let limited: TestService;
  let client: ReturnType<typeof createClient<typeof AuthService>>;
  beforeAll(async () => {
    limited = await startTestService(service, { ...baseEnv, LOGIN_LIMIT_PER_IP: "3" });
    client = createClient(
      AuthService,
      createConnectTransport({ baseUrl: limited.service.url, httpVersion: "2" }),
    );
  });
  afterAll(() => limited.stop());

  const fiveLogins = async (headers: () => Record<string, string>) => {
    const codes: (Code | "ok")[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push(
        await client.login({ username: `u${i}-${randomUUID()}`, password: "x" }, { headers: headers() }).then(
          () => "ok" as const,
          (e) => ConnectError.from(e).code,
        ),
      );
    }
    return codes;
  };
  const limitedAfterThree = [
    Code.Unauthenticated,
    Code.Unauthenticated,
    Code.Unauthenticated,
    Code.ResourceExhausted,
    Code.ResourceExhausted,
  ];
  const randomIp = () => `2001:db8:${randomBytes(2).toString("hex")}::${randomBytes(2).toString("hex")}`;

  test("login attempts per IP are rate-limited through Redis", async () => {
    const ip = randomIp();
    expect(await fiveLogins(() => ({ "x-forwarded-for": ip }))).toEqual(limitedAfterThree);
  });

  test("a client rotating the first X-Forwarded-For entry is still limited: the edge's entry counts", async () => {
    const seenByEdge = randomIp();
    expect(await fiveLogins(() => ({ "x-forwarded-for": `${randomIp()}, ${seenByEdge}` }))).toEqual(
      limitedAfterThree,
    );
    // Envoy's own x-envoy-external-address is preferred to any x-forwarded-for.
    const external = randomIp();
    expect(
      await fiveLogins(() => ({ "x-envoy-external-address": external, "x-forwarded-for": randomIp() })),
    ).toEqual(limitedAfterThree);
  });
});

describe("MFA (TOTP)", () => {
  test("enrol, confirm, then login requires the code; recovery codes work once", async () => {
    const user = await createStaff();
    const login = () => auth.login({ username: user.username, password: user.password });
    const { accessToken } = await login();
    const enrolment = await auth.enrollTotp({}, bearer(accessToken));
    expect(enrolment.otpauthUri).toMatch(/^otpauth:\/\/totp\//);
    const totp = new TOTP({
      secret: Secret.fromBase32(enrolment.secret),
      digits: 6,
      period: 30,
      algorithm: "SHA1",
    });
    await expect(
      auth.confirmTotp({ code: "000000" === totp.generate() ? "111111" : "000000" }, bearer(accessToken)),
    ).rejects.toMatchObject({
      code: Code.InvalidArgument,
    });
    const { recoveryCodes } = await auth.confirmTotp({ code: totp.generate() }, bearer(accessToken));
    expect(recoveryCodes).toHaveLength(10);

    await expect(login()).rejects.toMatchObject({ code: Code.FailedPrecondition });
    const wrong = totp.generate() === "123456" ? "654321" : "123456";
    await expect(
      auth.login({ username: user.username, password: user.password, totpCode: wrong }),
    ).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    const code = totp.generate();
    await expect(
      auth.login({ username: user.username, password: user.password, totpCode: code }),
    ).resolves.toBeDefined();
    // A code is good once: a replay within its window is refused.
    await expect(
      auth.login({ username: user.username, password: user.password, totpCode: code }),
    ).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    const recovery = recoveryCodes[0] ?? "";
    await expect(
      auth.login({ username: user.username, password: user.password, recoveryCode: recovery }),
    ).resolves.toBeDefined();
    await expect(
      auth.login({ username: user.username, password: user.password, recoveryCode: recovery }),
    ).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    expect((await usuarios.getUsuario({ id: user.id }, bearer(adminToken))).usuario?.mfaEnabled).toBe(true);
  });
});

describe("partner clients (client credentials)", () => {
  test("a partner gets a token with its scopes; a wrong secret or scope is refused", async () => {
    const username = `parceiro-${randomUUID().slice(0, 8)}`;
    const created = await usuarios.createUsuario(
      {
        username,
        kind: UsuarioKind.PARCEIRO,
        roles: [Role.PARCEIRO],
        scopes: ["boletos.read", "cotas.read"],
      },
      bearer(adminToken),
    );
    expect(created.clientSecret.length).toBeGreaterThanOrEqual(43);
    const token = await auth.token({
      grantType: "client_credentials",
      clientId: username,
      clientSecret: created.clientSecret,
      scope: "cotas.read",
    });
    expect(token.scope).toBe("cotas.read");
    const claims = decodeJwt(token.accessToken) as Record<string, unknown>;
    expect(claims).toMatchObject({ roles: ["PARCEIRO"], scope: "cotas.read", sub: created.usuario?.id });
    await expect(
      auth.token({ grantType: "client_credentials", clientId: username, clientSecret: "errado", scope: "" }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(
      auth.token({
        grantType: "client_credentials",
        clientId: username,
        clientSecret: created.clientSecret,
        scope: "admin",
      }),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
    // Clients cannot use the password login.
    await expect(auth.login({ username, password: created.clientSecret })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    // A reset secret replaces the old one.
    const { clientSecret } = await usuarios.resetPassword(
      { id: created.usuario?.id ?? "" },
      bearer(adminToken),
    );
    await expect(
      auth.token({
        grantType: "client_credentials",
        clientId: username,
        clientSecret: created.clientSecret,
        scope: "",
      }),
    ).rejects.toMatchObject({ code: Code.Unauthenticated });
    await expect(
      auth.token({ grantType: "client_credentials", clientId: username, clientSecret, scope: "" }),
    ).resolves.toBeDefined();
  });
});

describe("account administration", () => {
  test("create validates roles against the kind, rejects duplicates, lists with pagination, updates with a version", async () => {
    await expect(
      usuarios.createUsuario(
        { username: "misturado", kind: UsuarioKind.STAFF, roles: [Role.CONSORCIADO], password: password() },
        bearer(adminToken),
      ),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
    const user = await createStaff();
    await expect(
      usuarios.createUsuario(
        { username: user.username, kind: UsuarioKind.STAFF, roles: [Role.OPERADOR], password: password() },
        bearer(adminToken),
      ),
    ).rejects.toMatchObject({ code: Code.AlreadyExists });

    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await usuarios.listUsuarios({ pageSize: 2, pageToken }, bearer(adminToken));
      expect(page.usuarios.length).toBeLessThanOrEqual(2);
      seen.push(...page.usuarios.map((u) => u.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(user.id);

    const { usuario } = await usuarios.getUsuario({ id: user.id }, bearer(adminToken));
    if (!usuario) throw new Error("usuario missing");
    const mask = create(FieldMaskSchema, { paths: ["roles"] });
    const updated = await usuarios.updateUsuario(
      { usuario: { ...usuario, roles: [Role.GERENTE, Role.AUDITOR] }, updateMask: mask },
      bearer(adminToken),
    );
    expect(updated.usuario?.roles).toEqual([Role.GERENTE, Role.AUDITOR]);
    await expect(
      usuarios.updateUsuario(
        { usuario: { ...usuario, roles: [Role.ADMIN] }, updateMask: mask },
        bearer(adminToken),
      ),
    ).rejects.toMatchObject({ code: Code.Aborted });
  });

  test('an UpdateUsuario without a version is InvalidArgument "version required", not Aborted', async () => {
    const { usuario } = await usuarios.createUsuario(
      {
        username: `v-${randomUUID().slice(0, 8)}`,
        kind: UsuarioKind.STAFF,
        roles: [Role.OPERADOR],
        password: password(),
      },
      bearer(adminToken),
    );
    const error = await usuarios
      .updateUsuario(
        {
          usuario: { ...usuario, roles: [Role.GERENTE], version: 0 } as never,
          updateMask: create(FieldMaskSchema, { paths: ["roles"] }),
        },
        bearer(adminToken),
      )
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toMatchObject({ code: Code.InvalidArgument });
    expect((error as ConnectError).rawMessage).toContain("version required");
  });

  test("retried UpdateUsuario and DisableUsuario with the same request_id change nothing more", async () => {
    const { usuario } = await usuarios.createUsuario(
      {
        username: `r-${randomUUID().slice(0, 8)}`,
        kind: UsuarioKind.STAFF,
        roles: [Role.OPERADOR],
        password: password(),
      },
      bearer(adminToken),
    );
    if (!usuario) throw new Error("usuario missing");
    const update = {
      usuario: { ...usuario, roles: [Role.GERENTE] },
      updateMask: create(FieldMaskSchema, { paths: ["roles"] }),
      requestId: randomUUID(),
    };
    const first = await usuarios.updateUsuario(update, bearer(adminToken));
    // Without the key the same request would be Aborted: its version is spent.
    const again = await usuarios.updateUsuario(update, bearer(adminToken));
    expect(again.usuario?.version).toBe(first.usuario?.version);
    const disable = { id: usuario.id, requestId: randomUUID() };
    await usuarios.disableUsuario(disable, bearer(adminToken));
    expect((await usuarios.disableUsuario(disable, bearer(adminToken))).usuario?.disabled).toBe(true);
  });

  test("a retried CreateUsuario with the same request_id creates one account", async () => {
    const requestId = randomUUID();
    const request = {
      username: `idem-${randomUUID().slice(0, 8)}`,
      kind: UsuarioKind.STAFF,
      roles: [Role.OPERADOR],
      password: password(),
      requestId,
    };
    const first = await usuarios.createUsuario(request, bearer(adminToken));
    const again = await usuarios.createUsuario(request, bearer(adminToken));
    expect(again.usuario?.id).toBe(first.usuario?.id);
  });

  test("every RPC that is not public denies without a token and with a wrong role", async () => {
    const partner = await (async () => {
      const username = `p-${randomUUID().slice(0, 8)}`;
      const { clientSecret } = await usuarios.createUsuario(
        { username, kind: UsuarioKind.PARCEIRO, roles: [Role.PARCEIRO] },
        bearer(adminToken),
      );
      return (
        await auth.token({ grantType: "client_credentials", clientId: username, clientSecret, scope: "" })
      ).accessToken;
    })();
    const operador = await createStaff([Role.OPERADOR]);
    const operadorToken = (await auth.login({ username: operador.username, password: operador.password }))
      .accessToken;
    const services: DescService[] = [UsuarioService, AuthService];
    const publicMethods = new Set(["Login", "Refresh", "Logout", "Token"]);
    let checked = 0;
    for (const desc of services) {
      const client = createClient(desc, transport) as unknown as Record<
        string,
        (req: object, opts?: object) => Promise<unknown>
      >;
      for (const method of desc.methods) {
        if (publicMethods.has(method.name)) continue;
        const call = client[method.localName];
        if (!call) throw new Error(`no client method ${method.localName}`);
        await expect(call({}), method.name).rejects.toMatchObject({ code: Code.Unauthenticated });
        await expect(call({}, bearer(partner)), method.name).rejects.toMatchObject({
          code: Code.PermissionDenied,
        });
        if (desc === UsuarioService) {
          await expect(call({}, bearer(operadorToken)), method.name).rejects.toMatchObject({
            code: Code.PermissionDenied,
          });
        }
        checked++;
      }
    }
    expect(checked).toBe(UsuarioService.methods.length + 2);
  });
});

describe("tokens verified by another service", () => {
  let widget: TestService;
  let widgetClient: ReturnType<typeof createClient<typeof WidgetService>>;
  const queue = `platformtest.${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    widget = await startTestService(widgetService, {
      JWKS_URL: `${identidade.service.url}/.well-known/jwks.json`,
      WIDGET_QUEUE: queue,
    });
    widgetClient = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: widget.service.url, httpVersion: "2" }),
    );
  });
  afterAll(async () => {
    await widget.stop();
    await deleteQueues([queue]);
  });

  const createWidget = (token: string) => widgetClient.createWidget({ name: "verificado" }, bearer(token));

  test("a token issued by identidade is accepted, with its roles", async () => {
    const operador = await createStaff([Role.OPERADOR]);
    const { accessToken } = await auth.login({ username: operador.username, password: operador.password });
    await expect(createWidget(accessToken)).resolves.toBeDefined();
    const auditor = await createStaff([Role.AUDITOR]);
    const auditorToken = (await auth.login({ username: auditor.username, password: auditor.password }))
      .accessToken;
    await expect(createWidget(auditorToken)).rejects.toMatchObject({ code: Code.PermissionDenied });
  });

  test("wrong audience, wrong issuer, forged signature, HS256 and alg none are rejected", async () => {
    // Instances sharing identidade's keys but configured for another audience / issuer.
    const shared = {
      ...baseEnv,
      ...NO_RATE_LIMITS,
    };
    const tokensFrom = async (env: Record<string, string>) => {
      const other = await startTestService(service, { ...shared, ...env }, { db: identidade.db });
      try {
        const client = createClient(
          AuthService,
          createConnectTransport({ baseUrl: other.service.url, httpVersion: "2" }),
        );
        return (await client.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
      } finally {
        await other.stop();
      }
    };
    const wrongAudience = await tokensFrom({ JWT_AUDIENCE: "outro-publico" });
    const wrongIssuer = await tokensFrom({ JWT_ISSUER: "outro-emissor" });
    const good = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    const { kid } = decodeProtectedHeader(good);
    const claims = decodeJwt(good) as Record<string, unknown>;

    const { privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    const forged = await new SignJWT(claims)
      .setProtectedHeader({ alg: "EdDSA", kid: kid ?? "" })
      .sign(privateKey);
    const jwks = (await (await fetch(`${identidade.service.url}/.well-known/jwks.json`)).json()) as {
      keys: { x: string }[];
    };
    const hs256 = await new SignJWT(claims)
      .setProtectedHeader({ alg: "HS256", kid: kid ?? "" })
      .sign(new TextEncoder().encode(jwks.keys[0]?.x ?? ""));
    const none = `${base64url.encode(JSON.stringify({ alg: "none", kid }))}.${good.split(".")[1]}.`;

    await expect(createWidget(good)).resolves.toBeDefined();
    for (const [name, token] of Object.entries({ wrongAudience, wrongIssuer, forged, hs256, none })) {
      await expect(createWidget(token), name).rejects.toMatchObject({ code: Code.Unauthenticated });
    }
  });

  test("after a key rotation, tokens of the old and the new key are both accepted", async () => {
    const before = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    await expect(createWidget(before)).resolves.toBeDefined();
    const { kid } = await usuarios.rotateSigningKey({}, bearer(adminToken));
    const after = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
    expect(decodeProtectedHeader(after).kid).toBe(kid);
    expect(decodeProtectedHeader(before).kid).not.toBe(kid);
    // The other service refetches the JWKS on an unknown kid (after a 1 s cool-down at most).
    await eventually(async () =>
      createWidget(after).then(
        () => true,
        () => false,
      ),
    );
    await expect(createWidget(before)).resolves.toBeDefined();
    const published = (await (await fetch(`${identidade.service.url}/.well-known/jwks.json`)).json()) as {
      keys: { kid: string }[];
    };
    expect(published.keys.map((k) => k.kid)).toEqual(
      expect.arrayContaining([kid, decodeProtectedHeader(before).kid]),
    );
  });

  test("an expired token is rejected", async () => {
    const shortLived = await startTestService(
      service,
      {
        ...baseEnv,
        ...NO_RATE_LIMITS,
        ACCESS_TOKEN_TTL_SECONDS: "2",
      },
      { db: identidade.db },
    );
    try {
      const client = createClient(
        AuthService,
        createConnectTransport({ baseUrl: shortLived.service.url, httpVersion: "2" }),
      );
      const token = (await client.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
      const claims = decodeJwt(token) as {
        exp: number;
        iat: number;
      };
      expect(claims.exp - claims.iat).toBe(2);
      await expect(createWidget(token)).resolves.toBeDefined();
      // Past the expiry and the verifier's 5 s clock tolerance.
      await new Promise((resolve) => setTimeout(resolve, (claims.exp + 6) * 1000 - Date.now()));
      await expect(createWidget(token)).rejects.toMatchObject({ code: Code.Unauthenticated });
    } finally {
      await shortLived.stop();
    }
  });
});

describe("secrets at rest and in logs", () => {
  test("no password, client secret, refresh token or TOTP secret is stored or logged in plaintext", async () => {
    const user = await createStaff();
    const tokens = await auth.login({ username: user.username, password: user.password });
    const { secret } = await auth.enrollTotp({}, bearer(tokens.accessToken));
    const partnerName = `cofre-${randomUUID().slice(0, 8)}`;
    // With a request_id, so the replay store is exercised too.
    const createPartner = {
      username: partnerName,
      kind: UsuarioKind.PARCEIRO,
      roles: [Role.PARCEIRO],
      requestId: randomUUID(),
    };
    const { clientSecret } = await usuarios.createUsuario(createPartner, bearer(adminToken));
    const replayed = await usuarios.createUsuario(createPartner, bearer(adminToken));
    expect(replayed.clientSecret).toBe("");
    // A staff account created with a request_id: its password must not be fingerprinted in clear either.
    const staffPassword = password();
    const staffRequest = {
      username: `fp-${randomUUID().slice(0, 8)}`,
      kind: UsuarioKind.STAFF,
      roles: [Role.OPERADOR],
      password: staffPassword,
      requestId: randomUUID(),
    };
    await usuarios.createUsuario(staffRequest, bearer(adminToken));
    const [stored] = await identidade.db.query(
      "select request_hash from platform_idempotency where request_id = $1",
      [staffRequest.requestId],
    );
    const naive = createHash("sha256")
      .update(toBinary(CreateUsuarioRequestSchema, create(CreateUsuarioRequestSchema, staffRequest)))
      .digest();
    expect(Buffer.compare(stored?.request_hash, naive)).not.toBe(0);
    await auth.login({ username: user.username, password: `${user.password}-errada` }).catch(() => undefined);

    const dump = JSON.stringify(
      await identidade.db.query(
        // bytea columns as text, so a secret inside a protobuf payload would show.
        `select json_agg(t) as rows from (select * from usuario) t
         union all select json_agg(r) from refresh_token r
         union all select json_agg(k) from signing_key k
         union all select json_agg(encode(payload, 'escape')) from platform_outbox
         union all select json_agg(encode(response, 'escape') || encode(request_hash, 'escape')) from platform_idempotency`,
      ),
    );
    expect(dump).toContain(partnerName); // the dump does read the payloads
    for (const plaintext of [
      user.password,
      ADMIN_PASSWORD,
      clientSecret,
      tokens.refreshToken,
      secret,
      staffPassword,
    ]) {
      expect(dump).not.toContain(plaintext);
      expect(logLines.join("")).not.toContain(plaintext);
    }
    // Signing keys are sealed: no private "d" member in clear.
    const keys = await identidade.db.query<{ private_jwk: string }>("select private_jwk from signing_key");
    for (const key of keys) expect(key.private_jwk).toMatch(/^v1\./);
    expect(logLines.length).toBeGreaterThan(0);
  });
});
