// A disabled user's access tokens are refused within seconds, in identidade and in
// another service, with the shared cache up, with it unreachable, and embedded.
import { randomBytes, randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import {
  createLogger,
  createMemoryBus,
  createMemoryCache,
  type RunningService,
  runService,
} from "@consorcio/platform";
import {
  createTestDatabase,
  eventually,
  startTestService,
  type TestDatabase,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { afterAll, describe, expect, test } from "vitest";
import { WidgetService } from "../../platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { widgetService } from "../../platform/test/widget-service.ts";
import { service } from "../src/service.ts";

const ADMIN_PASSWORD = "senha-do-admin-123";
const baseEnv = {
  IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
  CONSORCIO_ADMIN_PASSWORD: ADMIN_PASSWORD,
  LOGIN_LIMIT_PER_USER: "100000",
  LOGIN_LIMIT_PER_IP: "100000",
};
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

/** A port nothing listens on: a Redis that is down for the whole test. */
async function closedPort(): Promise<number> {
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

/** identidade and a service verifying its tokens through the JWKS, however they were started. */
async function scenario(identidadeUrl: string, widgetUrl: string) {
  const transport = (url: string) => createConnectTransport({ baseUrl: url, httpVersion: "2" });
  const auth = createClient(AuthService, transport(identidadeUrl));
  const usuarios = createClient(UsuarioService, transport(identidadeUrl));
  const widgets = createClient(WidgetService, transport(widgetUrl));
  const adminToken = (await auth.login({ username: "admin", password: ADMIN_PASSWORD })).accessToken;
  const loggedIn = async () => {
    const username = `adm-${randomUUID().slice(0, 8)}`;
    const password = `Senha forte ${randomUUID().slice(0, 8)}`;
    const { usuario } = await usuarios.createUsuario(
      { username, kind: UsuarioKind.STAFF, roles: [Role.ADMIN], password },
      bearer(adminToken),
    );
    const { accessToken } = await auth.login({ username, password });
    return { id: usuario?.id ?? "", token: accessToken };
  };
  const inIdentidade = (token: string, id: string) => code(usuarios.getUsuario({ id }, bearer(token)));
  const inWidget = (token: string) => code(widgets.createWidget({ name: "revogacao" }, bearer(token)));

  const disabled = await loggedIn();
  const other = await loggedIn();
  expect(await inIdentidade(disabled.token, disabled.id)).toBe(OK);
  expect(await inWidget(disabled.token)).toBe(OK);

  await usuarios.disableUsuario({ id: disabled.id }, bearer(adminToken));
  // Well before the token's 15 min expiry: within a few seconds, in both services.
  await eventually(async () => (await inWidget(disabled.token)) === Code.Unauthenticated, 5_000);
  await eventually(
    async () => (await inIdentidade(disabled.token, disabled.id)) === Code.Unauthenticated,
    5_000,
  );
  await expect(widgets.createWidget({ name: "revogacao" }, bearer(disabled.token))).rejects.toThrow(
    /token revoked/,
  );
  // Everyone else is untouched.
  expect(await inIdentidade(other.token, other.id)).toBe(OK);
  expect(await inWidget(other.token)).toBe(OK);
  expect(await inWidget(adminToken)).toBe(OK);
}

async function startPair(env: Record<string, string>) {
  const identidade = await startTestService(service, { ...baseEnv, ...env });
  const widget = await startTestService(widgetService, {
    ...env,
    JWKS_URL: `${identidade.service.url}/.well-known/jwks.json`,
    WIDGET_QUEUE: `platformtest.${randomUUID().slice(0, 8)}`,
  });
  return { identidade, widget };
}

describe("a disabled user's access tokens", () => {
  const started: TestService[] = [];
  afterAll(async () => {
    for (const running of started.reverse()) await running.stop();
  });

  test("are refused within seconds by identidade and by another service (Redis and RabbitMQ)", async () => {
    const { identidade, widget } = await startPair({});
    started.push(identidade, widget);
    await scenario(identidade.service.url, widget.service.url);
  });

  test("are refused within seconds with Redis unreachable, from UsuarioDesativado", async () => {
    const { identidade, widget } = await startPair({ REDIS_URL: `redis://127.0.0.1:${await closedPort()}` });
    started.push(identidade, widget);
    expect(await identidade.service.context.cache.healthy()).toBe(false);
    await scenario(identidade.service.url, widget.service.url);
  });
});

test("embedded mode (in-process bus and cache shared by the services): refused within seconds", async () => {
  const logger = createLogger({ service: "launcher", level: "silent" });
  const bus = createMemoryBus(logger);
  const cache = createMemoryCache();
  const databases: TestDatabase[] = [];
  const running: RunningService[] = [];
  const start = async (definition: typeof service | typeof widgetService, env: Record<string, string>) => {
    const db = await createTestDatabase(definition.name);
    databases.push(db);
    const envFor = { DATABASE_URL: db.url, PORT: "0", HOST: "127.0.0.1", MIGRATE_ON_START: "true", ...env };
    const started = await runService(definition as typeof widgetService, { env: envFor, bus, cache, logger });
    running.push(started);
    return started;
  };
  try {
    const identidade = await start(service, { ...baseEnv, LOG_LEVEL: "silent" });
    const widget = await start(widgetService, {
      LOG_LEVEL: "silent",
      JWKS_URL: `${identidade.url}/.well-known/jwks.json`,
    });
    await scenario(identidade.url, widget.url);
  } finally {
    for (const started of running.reverse()) await started.stop();
    await bus.close();
    for (const db of databases) await db.drop();
  }
});
