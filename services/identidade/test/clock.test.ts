// identidade on a test clock: refresh tokens and login holds end when the clock says so, with no sleeping.
import { createHash, randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { createTestClock } from "@consorcio/platform/clock.ts";
import { startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = "senha-do-admin-123";
const clock = createTestClock();
let identidade: TestService;
let auth: ReturnType<typeof createClient<typeof AuthService>>;
let usuarios: ReturnType<typeof createClient<typeof UsuarioService>>;

beforeAll(async () => {
  identidade = await startTestService(
    service,
    {
      IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
      CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
      REFRESH_TOKEN_TTL_SECONDS: "3600",
      LOGIN_LIMIT_PER_USER: "100000",
      LOGIN_LIMIT_PER_IP: "100000",
      LOGIN_THROTTLE_SECONDS: "60",
      LOGIN_THROTTLE_MAX_SECONDS: "600",
    },
    { clock },
  );
  const transport = createConnectTransport({ baseUrl: identidade.service.url, httpVersion: "2" });
  auth = createClient(AuthService, transport);
  usuarios = createClient(UsuarioService, transport);
});
afterAll(() => identidade?.stop());

test("a refresh token works until its lifetime on the service clock has passed, then is refused", async () => {
  const first = await auth.login({ username: "admin", password: ADMIN_PASSWORD });
  await clock.advance(3_599_000);
  const second = await auth.refresh({ refreshToken: first.refreshToken });
  // The rotated token's lifetime starts at the clock's now.
  await clock.advance(3_599_000);
  const third = await auth.refresh({ refreshToken: second.refreshToken });
  await clock.advance(3_600_000);
  await expect(auth.refresh({ refreshToken: third.refreshToken })).rejects.toMatchObject({
    code: Code.Unauthenticated,
  });
  const [row] = await identidade.db.query<{ expires_at: Date; used_at: Date | null }>(
    "select expires_at, used_at from refresh_token where token_hash = $1",
    [createHash("sha256").update(third.refreshToken).digest("hex")],
  );
  expect(row).toEqual({ expires_at: clock.now(), used_at: null });
});

test("a login hold ends when the clock passes its end, and the account reads unlocked then", async () => {
  const attacker = { headers: { "x-forwarded-for": "203.0.113.70" } };
  const codeOf = (call: Promise<unknown>) =>
    call.then(
      () => "ok",
      (error) => ConnectError.from(error).code,
    );
  const right = () => auth.login({ username: "admin", password: ADMIN_PASSWORD }, attacker);
  for (let i = 0; i < 5; i++)
    expect(await codeOf(auth.login({ username: "admin", password: "errada-errada" }, attacker))).toBe(
      Code.Unauthenticated,
    );
  expect(await codeOf(right())).toBe(Code.ResourceExhausted);
  const token = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
  const adminId = decodeJwt(token).sub ?? "";
  const locked = async () =>
    (await usuarios.getUsuario({ id: adminId }, { headers: { authorization: `Bearer ${token}` } })).usuario
      ?.locked;
  expect(await locked()).toBe(true);
  await clock.advance(59_000);
  expect(await codeOf(right())).toBe(Code.ResourceExhausted);
  await clock.advance(1_000);
  expect(await locked()).toBe(false);
  expect(await codeOf(right())).toBe("ok");
});
