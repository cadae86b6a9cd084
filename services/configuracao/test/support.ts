import { randomUUID } from "node:crypto";
import { type CallOptions, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { ConfiguracaoService } from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import { createTestClock, type TestClock } from "@consorcio/platform/clock.ts";
import {
  createTestIssuer,
  serveJwks,
  startTestService,
  type TestDatabase,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { service } from "../src/service.ts";

export type Issuer = Awaited<ReturnType<typeof createTestIssuer>>;

/** One test issuer and its JWKS for every instance a test file starts. */
export async function startIssuer() {
  const issuer = await createTestIssuer();
  const jwks = await serveJwks(issuer.jwks);
  const admin = await issuer.token({ roles: [Role.ADMIN], subject: "admin-1" });
  const svc = await issuer.token({ roles: [Role.SERVICE], subject: "svc-financeiro" });
  const auditor = await issuer.token({ roles: [Role.AUDITOR], subject: "auditor-1" });
  const bearer = (token: string): CallOptions => ({ headers: { authorization: `Bearer ${token}` } });
  return {
    issuer,
    jwksUrl: jwks.url,
    as: { admin: bearer(admin), service: bearer(svc), auditor: bearer(auditor) },
    serviceToken: svc,
    close: () => jwks.close(),
  };
}

/** configuracao on a fresh database (or `db`, for a second replica), on a clock the test moves. */
export async function startConfiguracao(
  auth: Awaited<ReturnType<typeof startIssuer>>,
  options: { env?: Record<string, string>; db?: TestDatabase; clock?: TestClock } = {},
) {
  const clock = options.clock ?? createTestClock(new Date("2027-03-10T12:00:00Z"));
  const running: TestService = await startTestService(
    service,
    { JWKS_URL: auth.jwksUrl, WATCH_POLL_MS: "60000", ...options.env },
    { clock, ...(options.db ? { db: options.db } : {}) },
  );
  const client = createClient(
    ConfiguracaoService,
    createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
  );
  return { ...running, client, clock };
}

/** A key no other test (nor an earlier run, through the shared Redis) has used. */
export function uniqueKey(prefix: string): string {
  return `${prefix}.k${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}
