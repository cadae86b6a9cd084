// consorciados with the full platform chain (fresh database, RabbitMQ, Redis, a test JWKS),
// as its own tests start it, plus an OPERADOR token for the load generator.
import { randomBytes } from "node:crypto";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { service } from "../../services/consorciados/src/service.ts";
import { createTestIssuer, serveJwks, startTestService } from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";

export interface ConsorciadosInfo {
  port: number;
  /** Bearer token with ROLE_OPERADOR. */
  token: string;
  /** The service's own test database (the load generator reads created ids from it). */
  databaseUrl: string;
}

const issuer = await createTestIssuer();
const jwks = await serveJwks(issuer.jwks);
const running = await startTestService(service, {
  PII_MASTER_KEY: randomBytes(32).toString("base64"),
  PII_INDEX_KEY: randomBytes(32).toString("base64"),
  JWKS_URL: jwks.url,
  ERASURE_INTERVAL_SECONDS: "0",
}).catch(async (error: unknown) => {
  await jwks.close();
  throw error;
});
const stop = async () => {
  await running.stop();
  await jwks.close();
};
try {
  const token = await issuer.token({ roles: [Role.OPERADOR], expiresIn: "2h" });
  const info: ConsorciadosInfo = { port: running.service.port, token, databaseUrl: running.db.url };
  serveChild(info, stop);
} catch (error) {
  await stop();
  throw error;
}
