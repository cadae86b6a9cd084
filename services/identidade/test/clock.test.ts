// identidade on a test clock: a refresh token expires when the clock says so, with no sleeping.
import { createHash, randomBytes } from "node:crypto";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { createTestClock } from "@consorcio/platform/clock.ts";
import { startTestService, type TestService } from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = "senha-do-admin-123";
const clock = createTestClock();
let identidade: TestService;
let auth: ReturnType<typeof createClient<typeof AuthService>>;

beforeAll(async () => {
  identidade = await startTestService(
    service,
    {
      IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
      CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
      REFRESH_TOKEN_TTL_SECONDS: "3600",
    },
    { clock },
  );
  auth = createClient(
    AuthService,
    createConnectTransport({ baseUrl: identidade.service.url, httpVersion: "2" }),
  );
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
