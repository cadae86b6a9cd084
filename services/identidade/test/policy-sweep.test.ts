// Every identidade RPC against its contract's policy, with identidade's own tokens for every role.
import { randomBytes, randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import {
  rpcsOf,
  type SweepTarget,
  startTestService,
  sweepMethod,
  type TestService,
} from "@consorcio/testkit";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service } from "../src/service.ts";
import { identidadeTokensForEveryRole } from "./support.ts";

const ADMIN_PASSWORD = `Adm-${randomBytes(12).toString("base64url")}`;
let identidade: TestService;
let target: SweepTarget;

beforeAll(async () => {
  identidade = await startTestService(service, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
    LOGIN_LIMIT_PER_USER: "100000",
    LOGIN_LIMIT_PER_IP: "100000",
    // Only the policies are swept here, with no consorciados running: the CONSORCIADO account's
    // consorciado is not looked up (consorciado-check.test.ts tests the lookup).
    CHECK_CONSORCIADO_ID: "false",
  });
  const url = identidade.service.url;
  const auth = createClient(AuthService, createConnectTransport({ baseUrl: url, httpVersion: "2" }));
  const admin = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
  target = { url, ...(await identidadeTokensForEveryRole(url, admin, randomUUID())) };
});
afterAll(() => identidade?.stop());

describe("policy sweep", () => {
  test.each(rpcsOf(service.services))("$name", async ({ method }) => {
    expect(await sweepMethod(target, method)).toEqual([]);
  });
});
