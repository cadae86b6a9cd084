// The whole platform in-process for the lifecycle test: every service on its own fresh database,
// one test clock, a recorder of every message the bus carried, and the helpers to wait for quiet
// and to snapshot the business tables. Two modes: "rabbitmq" (real RabbitMQ and Redis, on a
// virtual host of its own, so no other test's events reach the services and every message on it
// is theirs) and "embedded" (npm start's in-process event bus and cache, shared by all services).
import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";
import {
  type Cache,
  connectRabbitMqBus,
  createLogger,
  createMemoryBus,
  createMemoryCache,
  type EventBus,
  type OutgoingMessage,
  runService,
} from "@consorcio/platform";
import { createTestClock, type TestClock } from "@consorcio/platform/clock.ts";
import {
  createTestDatabase,
  createTestIssuer,
  serveJwks,
  startTestService as startRealService,
  startTestS3,
  type TestService,
  testServers,
} from "@consorcio/platform/testing.ts";
import type { JSONWebKeySet } from "jose";
import { service as auditoriaService } from "../../auditoria/src/service.ts";
import { service as configuracaoService } from "../../configuracao/src/service.ts";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { service as financeiroService } from "../../financeiro/src/service.ts";
import { financeiroEnv } from "../../financeiro/test/support.ts";
import { service as gruposService } from "../../grupos/src/service.ts";
import { service as identidadeService } from "../../identidade/src/service.ts";
import { service as sorteiosService } from "../../sorteios/src/service.ts";

const run = promisify(execFile);

export type ServiceName =
  | "identidade"
  | "consorciados"
  | "grupos"
  | "financeiro"
  | "sorteios"
  | "configuracao"
  | "auditoria";

export type BusMode = "rabbitmq" | "embedded";

export interface Platform {
  mode: BusMode;
  clock: TestClock;
  issuer: Awaited<ReturnType<typeof createTestIssuer>>;
  services: Record<ServiceName, TestService>;
  pixSecret: string;
  /** Every message the broker delivered on the platform's virtual host, in arrival order. */
  recorded: OutgoingMessage[];
  /** Publishes messages again on the platform's virtual host, as their producers did. */
  republish(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Resolves once every outbox is drained and every queue of the vhost is empty, twice in a row. */
  quiet(timeoutMs?: number): Promise<void>;
  /** Row count and digest of every business table (platform_* bookkeeping left out), per service. */
  snapshot(): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

/** A RabbitMQ virtual host for this run only; falls back to "/" where rabbitmqctl cannot make one. */
async function createVhost(name: string): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  try {
    await run("rabbitmqctl", ["add_vhost", name]);
    await run("rabbitmqctl", ["set_permissions", "-p", name, "guest", ".*", ".*", ".*"]);
  } catch {
    return undefined;
  }
  const base = testServers.amqpUrl.replace(/\/+$/, "");
  return {
    url: `${base}/${encodeURIComponent(name)}`,
    async drop() {
      await run("rabbitmqctl", ["delete_vhost", name]).catch(() => undefined);
    },
  };
}

async function queueDepth(vhost: string): Promise<number> {
  const { stdout } = await run("rabbitmqctl", [
    "list_queues",
    "-p",
    vhost,
    "-q",
    "--no-table-headers",
    "name",
    "messages",
  ]);
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((cols) => cols.length === 2)
    .reduce((total, [, n]) => total + Number(n), 0);
}

/** The embedded bus, remembering its queues so that quiet() can ask each for its depth. */
function trackQueues(bus: EventBus, queues: Set<string>): EventBus {
  return {
    ...bus,
    publish: (messages) => bus.publish(messages),
    subscribe: (options) => {
      queues.add(options.queue);
      return bus.subscribe(options);
    },
    declare: (topology, waitMs) => {
      for (const t of topology) queues.add(t.queue);
      return bus.declare(topology, waitMs);
    },
    onConnected: (listener) => bus.onConnected(listener),
    takeDeadLetters: (queue, max) => bus.takeDeadLetters(queue, max),
    healthy: () => bus.healthy(),
    queueDepth: (queue) => bus.queueDepth?.(queue) ?? Promise.resolve(undefined),
    close: () => bus.close(),
  };
}

export async function startPlatform(start: Date, mode: BusMode = "rabbitmq"): Promise<Platform> {
  const tag = randomUUID().slice(0, 8);
  const vhostName = `lifecycle-${tag}`;
  const closers: Array<() => Promise<void>> = [];
  const logger = createLogger({ service: "lifecycle", level: "silent" });
  const queues = new Set<string>();
  let bus: EventBus;
  let shared: { bus: EventBus; cache: Cache } | undefined;
  let amqp: Record<string, string> = {};
  if (mode === "rabbitmq") {
    const vhost = await createVhost(vhostName);
    if (!vhost) throw new Error("the lifecycle test needs rabbitmqctl to create its own virtual host");
    amqp = { AMQP_URL: vhost.url };
    closers.push(() => vhost.drop());
    bus = await connectRabbitMqBus({ url: vhost.url, logger });
    closers.unshift(() => bus.close());
  } else {
    bus = trackQueues(createMemoryBus(logger), queues);
    shared = { bus, cache: createMemoryCache() };
    closers.unshift(() => bus.close());
  }
  const clock = createTestClock(start);
  const started: TestService[] = [];
  /** A service on a fresh database: startTestService's, or the same with the embedded adapters. */
  async function startTestService<E extends Parameters<typeof startRealService>[0]>(
    definition: E,
    env: Record<string, string>,
    options: { clock: TestClock },
  ): Promise<TestService> {
    if (!shared) return startRealService(definition, env, options);
    const db = await createTestDatabase(definition.name);
    const service = await runService(definition as unknown as Parameters<typeof runService>[0], {
      env: {
        DATABASE_URL: db.url,
        MIGRATION_DATABASE_URL: db.migrationUrl,
        PORT: "0",
        HOST: "127.0.0.1",
        MIGRATE_ON_START: "true",
        LOG_LEVEL: "silent",
        EVENTS_MAX_ATTEMPTS: "3",
        EVENTS_RETRY_DELAY_MS: "50",
        ANONYMOUS_CALLS_PER_MINUTE: "100000",
        ...env,
      },
      bus: shared.bus,
      cache: shared.cache,
      clock: options.clock,
    });
    return {
      service,
      db,
      async stop() {
        await service.stop();
        await db.drop();
      },
    };
  }
  const secrets = {
    grupos: randomBytes(24).toString("base64url"),
    financeiro: randomBytes(24).toString("base64url"),
    sorteios: randomBytes(24).toString("base64url"),
  };
  // Recorder first, so it sees every event from the first adesão on.
  const recorded: OutgoingMessage[] = [];
  await bus.subscribe({
    queue: `lifecycle.recorder.${tag}`,
    bindings: ["#"],
    handler: async (m) => {
      if (m.headers["x-replay"]) return;
      recorded.push({
        id: m.id,
        type: m.type,
        routingKey: m.type,
        body: m.body,
        headers: m.headers,
        timestamp: m.timestamp,
      });
    },
    maxAttempts: 3,
    retryDelayMs: 50,
  });

  const issuer = await createTestIssuer();
  const identidade = await startTestService(
    identidadeService,
    {
      ...amqp,
      IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
      CONSORCIO_ADMIN_PASSWORD: `Adm-${randomBytes(12).toString("base64url")}`,
      SERVICE_ACCOUNTS: JSON.stringify(secrets),
    },
    { clock },
  );
  started.push(identidade);
  const own = (await (
    await fetch(`${identidade.service.url}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  const jwks = await serveJwks({ keys: [...own.keys, ...issuer.jwks.keys] });
  closers.push(() => jwks.close());
  const s3 = await startTestS3();
  closers.push(() => s3.close());
  const common = { ...amqp, JWKS_URL: jwks.url };
  const auditoria = await startTestService(auditoriaService, common, { clock });
  started.push(auditoria);
  const configuracao = await startTestService(configuracaoService, common, { clock });
  started.push(configuracao);
  const consorciados = await startTestService(
    consorciadosService,
    {
      ...common,
      PII_MASTER_KEY: randomBytes(32).toString("base64"),
      PII_INDEX_KEY: randomBytes(32).toString("base64"),
    },
    { clock },
  );
  started.push(consorciados);
  const grupos = await startTestService(
    gruposService,
    {
      ...common,
      IDENTIDADE_URL: identidade.service.url,
      CONSORCIADOS_URL: consorciados.service.url,
      SERVICE_CLIENT_SECRET: secrets.grupos,
    },
    { clock },
  );
  started.push(grupos);
  const financeiro = await startTestService(
    financeiroService,
    { ...financeiroEnv, ...s3.env, ...common },
    { clock },
  );
  started.push(financeiro);
  const sorteios = await startTestService(
    sorteiosService,
    {
      ...common,
      IDENTIDADE_URL: identidade.service.url,
      GRUPOS_URL: grupos.service.url,
      FINANCEIRO_URL: financeiro.service.url,
      SERVICE_CLIENT_SECRET: secrets.sorteios,
    },
    { clock },
  );
  started.push(sorteios);
  const services = { identidade, consorciados, grupos, financeiro, sorteios, configuracao, auditoria };

  const outboxPending = async () => {
    let total = 0;
    for (const s of Object.values(services)) {
      const [row] = await s.db.query<{ n: number }>(
        "select count(*)::int as n from platform_outbox where published_at is null",
      );
      total += row?.n ?? 0;
    }
    return total;
  };

  const depth = async () => {
    if (mode === "rabbitmq") return queueDepth(vhostName);
    let total = 0;
    for (const q of queues) total += (await bus.queueDepth?.(q)) ?? 0;
    return total;
  };

  return {
    mode,
    clock,
    issuer,
    services,
    pixSecret: financeiroEnv.PIX_WEBHOOK_SECRET,
    recorded,
    async republish(messages) {
      for (let i = 0; i < messages.length; i += 200)
        await bus.publish(
          messages.slice(i, i + 200).map((m) => ({ ...m, headers: { ...m.headers, "x-replay": "1" } })),
        );
    },
    async quiet(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      let calm = 0;
      while (calm < 2) {
        if (Date.now() > deadline) throw new Error(`the platform did not settle within ${timeoutMs} ms`);
        const busy = (await outboxPending()) + (await depth());
        calm = busy === 0 ? calm + 1 : 0;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
    },
    async snapshot() {
      const out: Record<string, string> = {};
      for (const [name, s] of Object.entries(services)) {
        const tables = await s.db.query<{ t: string }>(
          `select tablename as t from pg_tables where schemaname = 'public'
             and tablename not like 'platform\\_%' and tablename not like 'mikro\\_orm%' order by 1`,
        );
        for (const { t } of tables) {
          const [row] = await s.db.query<{ n: number; d: string | null }>(
            `select count(*)::int as n, md5(string_agg(x::text, '|' order by x::text)) as d from "${t}" x`,
          );
          out[`${name}.${t}`] = `${row?.n}:${row?.d ?? ""}`;
        }
      }
      return out;
    },
    async stop() {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      for (const close of closers) await close().catch(() => undefined);
    },
  };
}
