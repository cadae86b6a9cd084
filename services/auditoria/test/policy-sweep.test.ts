// Every auditoria RPC against its contract's policy: no token, every role outside it, every role inside it.
import { randomUUID } from "node:crypto";
import {
  createTestIssuer,
  deleteQueues,
  rpcsOf,
  type SweepTarget,
  serveJwks,
  startTestService,
  sweepMethod,
  type TestService,
  tokensForEveryRole,
} from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";

const queue = `auditoria.sweep.${randomUUID().slice(0, 8)}`;
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let running: TestService;
let target: SweepTarget;

beforeAll(async () => {
  const issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  running = await startTestService(service, { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue });
  target = { url: running.service.url, ...(await tokensForEveryRole(issuer)) };
});
afterAll(async () => {
  await running?.stop();
  await jwks?.close();
  await deleteQueues([queue]);
});

describe("policy sweep", () => {
  test.each(rpcsOf(service.services))("$name", async ({ method }) => {
    expect(await sweepMethod(target, method)).toEqual([]);
  });
});
