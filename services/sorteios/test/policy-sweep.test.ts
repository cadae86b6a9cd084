// Every sorteios RPC against its contract's policy: no token, every role outside it, every role inside it.
import { createTestIssuer, deleteQueues } from "@consorcio/platform/testing.ts";
import { rpcsOf, type SweepTarget, sweepMethod, tokensForEveryRole } from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";
import { startPeers, startSorteios } from "./support.ts";

let peers: Awaited<ReturnType<typeof startPeers>>;
let running: Awaited<ReturnType<typeof startSorteios>>;
let target: SweepTarget;

beforeAll(async () => {
  const issuer = await createTestIssuer();
  peers = await startPeers(issuer);
  running = await startSorteios(peers.url, issuer);
  target = { url: running.service.url, ...(await tokensForEveryRole(issuer)) };
});
afterAll(async () => {
  await running?.stop();
  await running?.db.drop();
  await peers?.close();
  if (running) await deleteQueues([running.queue]);
});

describe("policy sweep", () => {
  test.each(rpcsOf(service.services))("$name", async ({ method }) => {
    expect(await sweepMethod(target, method)).toEqual([]);
  });
});
