// The auditoria process of bench/auditoria-memory.ts: the real service (inbox + hash chain) on its
// own queue bound to every event and a fresh database, logging at info as in production (stdout
// is discarded by the parent), serving its RPCs to an AUDITOR token it hands out. Answers "memory" with process.memoryUsage() and "snapshot" by
// writing a heap snapshot; "stop" cleans up and exits.
import { randomUUID } from "node:crypto";
import { writeHeapSnapshot } from "node:v8";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { service } from "../services/auditoria/src/service.ts";
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestService,
} from "../services/platform/src/testing.ts";

export interface MemoryServerInfo {
  databaseUrl: string;
  queue: string;
  url: string;
  /** An AUDITOR's token, for the read RPCs. */
  token: string;
}
export type ToMemoryServer = { type: "memory" } | { type: "snapshot"; path: string } | { type: "stop" };
export type FromMemoryServer =
  | { type: "ready"; info: MemoryServerInfo }
  | { type: "memory"; memory: NodeJS.MemoryUsage }
  | { type: "snapshot"; path: string };

const queue = `auditoria.memory.${randomUUID().slice(0, 8)}`;
const issuer = await createTestIssuer();
const jwks = await serveJwks(issuer.jwks);
const running = await startTestService(service, {
  JWKS_URL: jwks.url,
  AUDITORIA_QUEUE: queue,
  LOG_LEVEL: process.env.LOG_LEVEL ?? "info",
  EVENTS_MAX_ATTEMPTS: "3",
  EVENTS_RETRY_DELAY_MS: "200",
});
const send = (message: FromMemoryServer) => process.send?.(message);
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await running.stop();
  await jwks.close();
  await deleteQueues([queue]);
  process.exit(0);
};
process.on("message", (message: ToMemoryServer) => {
  if (message.type === "memory") send({ type: "memory", memory: process.memoryUsage() });
  else if (message.type === "snapshot") send({ type: "snapshot", path: writeHeapSnapshot(message.path) });
  else void stop();
});
process.on("disconnect", () => void stop());
const token = await issuer.token({ roles: [Role.AUDITOR], expiresIn: "2h" });
send({ type: "ready", info: { databaseUrl: running.db.url, queue, url: running.service.url, token } });
