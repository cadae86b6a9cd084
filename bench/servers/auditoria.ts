// auditoria with the full platform chain on its own durable queue bound to every event (`#`):
// each message goes through the inbox and is appended to the hash chain under the head's lock.
import { randomUUID } from "node:crypto";
import { service } from "../../services/auditoria/src/service.ts";
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestService,
} from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";

export interface IngestInfo {
  port?: number;
  /** Where the consumer writes; the load generator counts rows there. */
  databaseUrl: string;
  /** Table the count is taken from, and the column that holds the message id. */
  table: string;
  idColumn: string;
  /** The durable queue (and its retry / dead-letter queues) to delete afterwards. */
  queue: string;
}

const queue = `auditoria.bench.${randomUUID().slice(0, 8)}`;
const issuer = await createTestIssuer();
const jwks = await serveJwks(issuer.jwks);
const stop = async (running?: { stop(): Promise<void> }) => {
  await running?.stop();
  await jwks.close();
  await deleteQueues([queue]);
};
const running = await startTestService(service, { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue }).catch(
  async (error: unknown) => {
    await stop();
    throw error;
  },
);
const info: IngestInfo = {
  port: running.service.port,
  databaseUrl: running.db.url,
  table: "audit_record",
  idColumn: "message_id",
  queue,
};
serveChild(info, () => stop(running));
