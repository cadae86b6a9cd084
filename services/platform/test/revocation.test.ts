// Revoked subjects: refused through the shared cache, or through UsuarioDesativado
// when the cache is down, by every instance of a service; later tokens still work.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { UsuarioDesativadoSchema } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EventBus } from "../src/bus.ts";
import { createMemoryCache, createRedisCache } from "../src/cache.ts";
import { createLogger } from "../src/logging.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import { createRevocations, revocationKey } from "../src/revocation.ts";
import {
  createTestIssuer,
  eventually,
  serveJwks,
  startTestService,
  type TestService,
  testServers,
} from "../src/testing.ts";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { widgetService } from "./widget-service.ts";

const logger = createLogger({ service: "test", level: "silent" });

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const OK = "ok";
const code = (call: Promise<unknown>) =>
  call.then(
    () => OK,
    (error: unknown) => ConnectError.from(error).code,
  );

let issuer: Awaited<ReturnType<typeof createTestIssuer>>;
let jwks: Awaited<ReturnType<typeof serveJwks>>;
const started: TestService[] = [];

beforeAll(async () => {
  issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
});
afterAll(async () => {
  for (const running of started.reverse()) await running.stop();
  await jwks.close();
});

async function startWidget(env: Record<string, string> = {}) {
  const running = await startTestService(widgetService, {
    JWKS_URL: jwks.url,
    WIDGET_QUEUE: `platformtest.${randomUUID().slice(0, 8)}`,
    ...env,
  });
  started.push(running);
  const client = createClient(
    WidgetService,
    createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
  );
  return {
    running,
    call: (token: string) =>
      code(client.createWidget({ name: "revogacao" }, { headers: { authorization: `Bearer ${token}` } })),
  };
}

const tokenOf = (subject: string) => issuer.token({ subject, roles: [Role.OPERADOR] });

describe("through the shared cache", () => {
  test("a subject revoked by another process is refused within a second or two; others are not", async () => {
    const widget = await startWidget();
    const [revoked, other] = [randomUUID(), randomUUID()];
    const token = await tokenOf(revoked);
    const otherToken = await tokenOf(other);
    expect(await widget.call(token)).toBe(OK);

    // identidade's side, in another process: only the shared (unprefixed) key, no event.
    const shared = createRedisCache({ url: testServers.redisUrl, logger });
    await eventually(() => shared.healthy());
    const identidade = createRevocations({ shared, service: "identidade", logger });
    await identidade.revoke(revoked);
    expect(await shared.get(revocationKey(revoked))).toBeTruthy();

    await eventually(async () => (await widget.call(token)) === Code.Unauthenticated, 3_000);
    expect(await widget.call(otherToken)).toBe(OK);
    await shared.del(revocationKey(revoked));
    await shared.close();
  });

  test("a token issued after the revocation is accepted (a user enabled again logs in again)", async () => {
    const revocations = createRevocations({ shared: createMemoryCache(), service: "test", logger });
    const subject = randomUUID();
    const before = await tokenOf(subject);
    const issuedAt = decodeJwt(before).iat as number;
    const at = new Date(issuedAt * 1000 + 500);
    await revocations.revoke(subject, at);
    expect(await revocations.isRevoked({ subject, roles: [], issuedAt })).toBe(true);
    // The next whole second: issued after the revocation.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, (issuedAt + 1) * 1000 - Date.now() + 20)));
    const after = decodeJwt(await tokenOf(subject)).iat as number;
    expect(await revocations.isRevoked({ subject, roles: [], issuedAt: after })).toBe(false);
    expect(await revocations.isRevoked({ subject: randomUUID(), roles: [], issuedAt })).toBe(false);
  });
});

describe("with the cache down, from UsuarioDesativado", () => {
  let publisher: EventBus;
  beforeAll(async () => {
    publisher = await connectRabbitMqBus({ url: testServers.amqpUrl, logger });
  });
  afterAll(() => publisher.close());

  const publishDisabled = (usuarioId: string) =>
    publisher.publish([
      {
        id: randomUUID(),
        type: UsuarioDesativadoSchema.typeName,
        routingKey: UsuarioDesativadoSchema.typeName,
        body: toBinary(UsuarioDesativadoSchema, create(UsuarioDesativadoSchema, { usuarioId })),
        headers: {},
        timestamp: new Date(),
      },
    ]);

  test("every instance of a service refuses the subject (each has its own queue); others are not", async () => {
    const redis = `redis://127.0.0.1:${await freePort()}`;
    const replicas = [await startWidget({ REDIS_URL: redis }), await startWidget({ REDIS_URL: redis })];
    const [revoked, other] = [randomUUID(), randomUUID()];
    const token = await tokenOf(revoked);
    const otherToken = await tokenOf(other);
    for (const replica of replicas) expect(await replica.call(token)).toBe(OK);

    await publishDisabled(revoked);
    for (const replica of replicas) {
      await eventually(async () => (await replica.call(token)) === Code.Unauthenticated, 5_000);
      expect(await replica.call(otherToken)).toBe(OK);
    }
  });

  test("a revocation read from the cache still holds after the cache stops", async () => {
    const port = await freePort();
    const redis: ChildProcess = spawn(
      "redis-server",
      ["--port", String(port), "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    try {
      const url = `redis://127.0.0.1:${port}`;
      const widget = await startWidget({ REDIS_URL: url });
      await eventually(() => widget.running.service.context.cache.healthy());
      const subject = randomUUID();
      const token = await tokenOf(subject);
      expect(await widget.call(token)).toBe(OK);

      const shared = createRedisCache({ url, logger });
      await eventually(() => shared.healthy());
      await createRevocations({ shared, service: "identidade", logger }).revoke(subject);
      await shared.close();
      await eventually(async () => (await widget.call(token)) === Code.Unauthenticated, 3_000);

      redis.kill("SIGKILL");
      await eventually(async () => !(await widget.running.service.context.cache.healthy()));
      await new Promise((resolve) => setTimeout(resolve, 1_200)); // past the lookup memo
      expect(await widget.call(token)).toBe(Code.Unauthenticated);
    } finally {
      redis.kill("SIGKILL");
    }
  });
});
