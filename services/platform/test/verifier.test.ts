import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { expect, test } from "vitest";
import { createTokenVerifier } from "../src/auth.ts";
import { createTestIssuer } from "../src/testing.ts";

test("a key set that cannot be fetched is Unavailable, not the caller's fault; a bad token is Unauthenticated", async () => {
  const issuer = await createTestIssuer();
  const token = await issuer.token({ roles: [Role.ADMIN] });
  let healthy = false;
  const server = createServer((_req, res) => {
    if (!healthy) {
      res.writeHead(503);
      res.end();
      return;
    }
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(issuer.jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`);
  const verify = createTokenVerifier({ jwksUrl: url, issuer: issuer.issuer, audience: issuer.audience });
  const code = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (e: unknown) => ConnectError.from(e).code,
    );

  expect(await code(verify(token))).toBe(Code.Unavailable);
  healthy = true;
  await new Promise((resolve) => setTimeout(resolve, 1_100)); // past the refetch cool-down
  expect((await verify(token)).roles).toEqual([Role.ADMIN]);
  expect(await code(verify("not-a-jwt"))).toBe(Code.Unauthenticated);
  expect(await code(verify(await issuer.token({ roles: [Role.ADMIN], expiresIn: "-1m" })))).toBe(
    Code.Unauthenticated,
  );
  await new Promise((resolve) => server.close(resolve));
});
