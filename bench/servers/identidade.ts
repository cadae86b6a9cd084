// identidade with the full platform chain (fresh database, RabbitMQ, Redis), as its own tests start it:
// a fresh sealing key, a known admin password and login rate limits out of the way of the load.
import { randomBytes } from "node:crypto";
import { service } from "../../services/identidade/src/service.ts";
import { startTestService } from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";

export interface IdentidadeInfo {
  port: number;
  /** Base URL (HTTP/1.1 and HTTP/2 cleartext on one port). */
  url: string;
  jwksUrl: string;
  issuer: string;
  audience: string;
  adminPassword: string;
}

const adminPassword = "senha-do-admin-123";
const running = await startTestService(service, {
  IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
  CONSORCIO_ADMIN_PASSWORD: adminPassword,
  LOGIN_LIMIT_PER_USER: "100000000",
  LOGIN_LIMIT_PER_IP: "100000000",
  // The longest allowed: tokens minted early in the run are still valid when the last case uses them.
  ACCESS_TOKEN_TTL_SECONDS: "3600",
  // Service accounts for the service-to-service client bench: {"<service>": "<secret>"}.
  SERVICE_ACCOUNTS: process.env.BENCH_SERVICE_ACCOUNTS ?? "",
});
try {
  const { url, port, context } = running.service;
  const info: IdentidadeInfo = {
    port,
    url,
    jwksUrl: new URL("/.well-known/jwks.json", url).toString(),
    issuer: context.config.JWT_ISSUER,
    audience: context.config.JWT_AUDIENCE,
    adminPassword,
  };
  serveChild(info, () => running.stop());
} catch (error) {
  await running.stop();
  throw error;
}
