import { randomBytes, randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { createTestClock } from "@consorcio/platform/clock.ts";
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestService,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { service } from "../src/service.ts";

export const piiKeys = {
  PII_MASTER_KEY: randomBytes(32).toString("base64"),
  PII_INDEX_KEY: randomBytes(32).toString("base64"),
};

/** consorciados on a fresh database, trusting a test issuer's keys, on a clock the test moves. */
export async function startConsorciados(env: Record<string, string> = {}) {
  const issuer = await createTestIssuer();
  const jwks = await serveJwks(issuer.jwks);
  const clock = createTestClock();
  // A queue of this run's own: the broker is shared with every other test run.
  const queue = `consorciados.test.${randomUUID().slice(0, 8)}`;
  const running: TestService = await startTestService(
    service,
    { ...piiKeys, JWKS_URL: jwks.url, CONSORCIADOS_QUEUE: queue, ...env },
    { clock },
  );
  const client = createClient(
    ConsorciadoService,
    createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
  );
  return {
    ...running,
    issuer,
    client,
    clock,
    queue,
    async stop() {
      await running.stop();
      await jwks.close();
      await deleteQueues([queue]);
    },
  };
}
