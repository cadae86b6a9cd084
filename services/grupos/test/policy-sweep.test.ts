// Every grupos RPC against its contract's policy: no token, every role outside it, every role inside it.
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestService,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { rpcsOf, type SweepTarget, sweepMethod, tokensForEveryRole } from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";

let running: TestService;
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let target: SweepTarget;
const queue = `grupos.sweep.${process.pid}`;

beforeAll(async () => {
  const issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  running = await startTestService(service, { JWKS_URL: jwks.url, GRUPOS_QUEUE: queue });
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
