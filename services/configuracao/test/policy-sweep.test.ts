// Every configuracao RPC against its contract's policy: no token, every role outside it, every role inside it.
import { rpcsOf, type SweepTarget, sweepMethod, tokensForEveryRole } from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";
import { startConfiguracao, startIssuer } from "./support.ts";

let auth: Awaited<ReturnType<typeof startIssuer>>;
let running: Awaited<ReturnType<typeof startConfiguracao>>;
let target: SweepTarget;

beforeAll(async () => {
  auth = await startIssuer();
  running = await startConfiguracao(auth);
  target = { url: running.service.url, ...(await tokensForEveryRole(auth.issuer)) };
});
afterAll(async () => {
  await running?.stop();
  await auth?.close();
});

describe("policy sweep", () => {
  test.each(rpcsOf(service.services))("$name", async ({ method }) => {
    expect(await sweepMethod(target, method)).toEqual([]);
  });
});
