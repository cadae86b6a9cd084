// Every financeiro RPC against its contract's policy: no token, every role outside it, every role inside it.
import { rpcsOf, type SweepTarget, sweepMethod, tokensForEveryRole } from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";
import { type Financeiro, startFinanceiro } from "./support.ts";

let running: Financeiro;
let target: SweepTarget;

beforeAll(async () => {
  running = await startFinanceiro();
  target = { url: running.service.url, ...(await tokensForEveryRole(running.issuer)) };
}, 60_000);
afterAll(() => running?.stop());

describe("policy sweep", () => {
  test.each(rpcsOf(service.services))("$name", async ({ method }) => {
    expect(await sweepMethod(target, method)).toEqual([]);
  });
});
