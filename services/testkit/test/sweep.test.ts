// The sweep itself, against the platform's test service: it must see what a policy says and
// report a caller treated otherwise.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WidgetService } from "../../platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { widgetService } from "../../platform/test/widget-service.ts";
import {
  createTestIssuer,
  deleteQueues,
  type RoleTokens,
  rpcsOf,
  serveJwks,
  startTestService,
  sweepMethod,
  type TestService,
  tokensForEveryRole,
} from "../src/index.ts";

const queue = `platformtest.sweep.${randomUUID().slice(0, 8)}`;
let running: TestService;
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let roles: RoleTokens;

beforeAll(async () => {
  const issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  running = await startTestService(widgetService, { JWKS_URL: jwks.url, WIDGET_QUEUE: queue });
  roles = await tokensForEveryRole(issuer);
});
afterAll(async () => {
  await running?.stop();
  await jwks?.close();
  await deleteQueues([queue]);
});

const method = (name: string) => {
  const found = rpcsOf([WidgetService]).find((rpc) => rpc.name === `WidgetService.${name}`);
  if (!found) throw new Error(name);
  return found.method;
};

describe("policy sweep", () => {
  test("a service enforcing its policies passes, owner-scoped and public RPCs included", async () => {
    const target = { url: running.service.url, ...roles };
    expect(await sweepMethod(target, method("CreateWidget"))).toEqual([]);
    expect(await sweepMethod(target, method("GetWidget"))).toEqual([]);
    expect(await sweepMethod(target, method("Ping"))).toEqual([]);
  });

  test("an RPC without a policy is reported", async () => {
    expect(await sweepMethod({ url: running.service.url, ...roles }, method("Unguarded"))).toEqual([
      "Unguarded has no consorcio.auth.v1.policy",
    ]);
  });

  test("roles the policy allows but the service refuses are reported", async () => {
    // Tokens of an issuer the service does not trust: every allowed role is turned away.
    const stranger = await tokensForEveryRole(await createTestIssuer());
    const problems = await sweepMethod({ url: running.service.url, ...stranger }, method("CreateWidget"));
    expect(problems).toEqual(
      ["ADMIN", "GERENTE", "OPERADOR", "FINANCEIRO", "AUDITOR", "CONSORCIADO", "PARCEIRO", "SERVICE"].map(
        (role) =>
          role === "ADMIN" || role === "OPERADOR"
            ? `${role} is in the policy, yet gets Unauthenticated`
            : `${role} is outside the policy, yet gets Unauthenticated`,
      ),
    );
  });
});
