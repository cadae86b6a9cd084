import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter } from "@connectrpc/connect";
import {
  type ChamadaRegistrada,
  ChamadaRegistradaSchema,
} from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import type { z } from "zod";
import { createRefusalAudit } from "./audit.ts";
import { createTokenVerifier, type TokenVerifier } from "./auth.ts";
import type { EventBus, QueueTopology } from "./bus.ts";
import { type Cache, createRedisCache, prefixedCache } from "./cache.ts";
import type { ServiceName } from "./catalog.ts";
import { createServiceClients, type ServiceClients, serviceAccountId } from "./clients.ts";
import { type Clock, systemClock } from "./clock.ts";
import { ConfigError, loadConfig, type PlatformConfig, requireNode24 } from "./config.ts";
import { type ConsumerDefinition, consumerBindings, inboxHandler } from "./consumer.ts";
import { parseAllowedOrigins } from "./cors.ts";
import { type Database, type MigrationEntry, migrateDatabase, openDatabase, type TableGrants } from "./db.ts";
import { type HealthState, registerHealth } from "./health.ts";
import { platformInterceptors } from "./interceptors.ts";
import { type JobDefinition, type JobRunResult, platformJobs, startJobScheduler } from "./jobs.ts";
import { createLogger, type Logger, redactOptions } from "./logging.ts";
import { createMetrics, metricsRoute, type PlatformMetrics, type ServiceMetrics } from "./metrics.ts";
import { enqueueEvent, type OutboxRelay, startOutboxRelay } from "./outbox.ts";
import { connectRabbitMqBus } from "./rabbitmq-bus.ts";
import { sensitiveKeys } from "./redaction.ts";
import { registerReflection } from "./reflection.ts";
import { createRevocations, type Revocations, refusingRevoked } from "./revocation.ts";
import { type HttpRoute, type RunningServer, startServer } from "./server.ts";
import { type ObjectStorage, openMinioStorage, s3Settings } from "./storage.ts";
import { instrumentCache, observedHandler, registerPlatformGauges } from "./telemetry.ts";
import { createTracing, type TracingOptions } from "./tracing.ts";
import { createTransactions, type Transactions } from "./unit-of-work.ts";

/** Everything a service's routes, consumers and hooks may use. */
export interface ServiceContext<Config extends PlatformConfig = PlatformConfig> {
  config: Config;
  logger: Logger;
  db: Database;
  bus: EventBus;
  cache: Cache;
  relay: OutboxRelay;
  tx: Transactions;
  /** Typed clients of the services this one declares in `calls`. */
  clients: ServiceClients;
  /** Disabled subjects whose earlier access tokens every service refuses. */
  revocations: Revocations;
  verifyToken: TokenVerifier;
  /** Objects in the service's bucket; undefined without S3_ENDPOINT (a service needing it fails in `prepare`). */
  storage?: ObjectStorage;
  /** The time business decisions use; tests move it. */
  clock: Clock;
  /** The service's own counters on /metrics (`metrics.counter(name, help, labels)`). */
  metrics: ServiceMetrics;
}

/** A service, described once; the platform runs it standalone or embedded. */
export interface ServiceDefinition<Env extends z.ZodObject = z.ZodObject, Deps = undefined> {
  /** A catalog name; only the platform's own tests use others (with PORT set). */
  name: ServiceName | (string & {});
  /** Proto services served (for reflection and health). */
  services: readonly DescService[];
  /** Proto services of other services this one calls (`context.clients.get`). */
  calls?: readonly DescService[];
  /** Extra environment settings of this service. */
  env?: Env;
  entities: readonly unknown[];
  migrations: readonly MigrationEntry[];
  /** The service role's privileges on these tables instead of the default DML (append-only logs). */
  grants?: TableGrants;
  /** Builds the service's own dependencies once the platform's are up (after migrations). */
  prepare?(context: Omit<ServiceContext<PlatformConfig & z.infer<Env>>, "verifyToken">): Promise<Deps>;
  routes(router: ConnectRouter, context: ServiceContext<PlatformConfig & z.infer<Env>>, deps: Deps): void;
  consumers?(
    context: ServiceContext<PlatformConfig & z.infer<Env>>,
    deps: Deps,
  ): readonly ConsumerDefinition[];
  httpRoutes?(context: ServiceContext<PlatformConfig & z.infer<Env>>, deps: Deps): Record<string, HttpRoute>;
  /** Scheduled work; each slot runs once across the replicas (see jobs.ts). */
  jobs?(context: ServiceContext<PlatformConfig & z.infer<Env>>, deps: Deps): readonly JobDefinition[];
  /** The verifier of this service's own tokens (identidade); others use the JWKS. */
  tokenVerifier?(deps: Deps): TokenVerifier;
  /** Runs before serving (bootstrap data). */
  onStart?(context: ServiceContext<PlatformConfig & z.infer<Env>>, deps: Deps): Promise<void>;
  /** Releases what `prepare` built, after the server stopped. */
  onStop?(deps: Deps): Promise<void>;
}

export interface RunOptions {
  env: Record<string, string | undefined>;
  /** Shared adapters of the embedded mode; otherwise built from AMQP_URL / REDIS_URL. */
  bus?: EventBus;
  cache?: Cache;
  logger?: Logger;
  /** The system clock unless a test gives its own. */
  clock?: Clock;
  /** Span processors of a test or bench (an in-memory exporter); otherwise OTEL_* decide. */
  tracing?: TracingOptions;
}

export interface RunningService {
  context: ServiceContext<PlatformConfig>;
  port: number;
  url: string;
  health: HealthState;
  /** Runs a scheduled job now (operators, tests), recorded like a scheduled run. */
  runJob(name: string): Promise<JobRunResult>;
  stop(): Promise<void>;
}

export async function runService<Env extends z.ZodObject, Deps>(
  definition: ServiceDefinition<Env, Deps>,
  options: RunOptions,
): Promise<RunningService> {
  type Config = PlatformConfig & z.infer<Env>;
  const config = loadConfig(definition.name, options.env, definition.env) as Config;
  // The contracts' debug_redact fields are redacted, also in a logger given by the caller.
  const redact = sensitiveKeys([...definition.services, ...(definition.calls ?? [])]);
  const logger = options.logger
    ? options.logger.child({}, { redact: redactOptions(redact) })
    : createLogger({ service: definition.name, level: config.LOG_LEVEL, redact });
  if (config.MIGRATE_ON_START) await migrate(definition, config, logger);
  const db = await openDatabase({
    url: config.DATABASE_URL,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
    pool: {
      max: config.DATABASE_POOL_MAX,
      acquireTimeoutMs: config.DATABASE_ACQUIRE_TIMEOUT_MS,
      statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
    },
  });
  const owned: Array<() => Promise<void>> = [() => db.close()];
  try {
    const tracing = createTracing({
      service: definition.name,
      env: options.env,
      logger,
      given: options.tracing,
    });
    // Last of all: the spans of the shutdown itself are exported too.
    owned.push(() => tracing.shutdown());
    const metrics: PlatformMetrics = createMetrics(definition.name);
    const bus = options.bus ?? (await ownedBus(config, logger, owned));
    const rawCache = options.cache
      ? prefixedCache(options.cache, `${definition.name}:`)
      : config.REDIS_URL
        ? createRedisCache({ url: config.REDIS_URL, logger, prefix: `${definition.name}:` })
        : undefined;
    if (!rawCache) throw new Error("REDIS_URL is required when no shared cache is given");
    const cache = instrumentCache(rawCache, metrics);
    if (!options.cache) owned.unshift(() => cache.close());
    // Revocations live in the namespace every service reads: a given (embedded) cache itself, unprefixed.
    const sharedCache = options.cache ?? createRedisCache({ url: config.REDIS_URL as string, logger });
    if (!options.cache) owned.unshift(() => sharedCache.close());
    const revocations = createRevocations({ shared: sharedCache, service: definition.name, logger });
    const relay = startOutboxRelay({ db, bus, logger, tracing, metrics });
    owned.unshift(() => relay.stop());
    const clients = createServiceClients({
      caller: definition.name,
      calls: definition.calls ?? [],
      env: options.env,
      credentials: config.SERVICE_CLIENT_SECRET
        ? {
            clientId: config.SERVICE_CLIENT_ID ?? serviceAccountId(definition.name),
            clientSecret: config.SERVICE_CLIENT_SECRET,
          }
        : undefined,
      defaultTimeoutMs: config.SERVICE_CALL_TIMEOUT_MS,
      logger,
      tracing,
      metrics,
    });
    const clock = options.clock ?? systemClock;
    const storageSettings = s3Settings(config);
    const storage = storageSettings ? await openMinioStorage(storageSettings, logger) : undefined;
    const base = {
      config,
      logger,
      db,
      bus,
      cache,
      relay,
      tx: createTransactions(db, relay, { tracing, metrics }),
      revocations,
      clients,
      clock,
      metrics,
      ...(storage ? { storage } : {}),
    };
    const deps = (await definition.prepare?.(base)) as Deps;
    if (definition.onStop) owned.unshift(() => definition.onStop?.(deps) ?? Promise.resolve());
    const verifyToken = refusingRevoked(
      definition.tokenVerifier?.(deps) ??
        createTokenVerifier({
          jwksUrl: new URL(config.JWKS_URL),
          issuer: config.JWT_ISSUER,
          audience: config.JWT_AUDIENCE,
        }),
      revocations,
    );
    const context: ServiceContext<Config> = { ...base, verifyToken };

    await bus.subscribe(revocations.subscription());

    const queues: string[] = [];
    for (const consumer of definition.consumers?.(context, deps) ?? []) {
      queues.push(consumer.queue);
      await bus.subscribe({
        queue: consumer.queue,
        bindings: consumerBindings(consumer),
        handler: observedHandler(inboxHandler(base.tx, consumer, logger), {
          queue: consumer.queue,
          maxAttempts: config.EVENTS_MAX_ATTEMPTS,
          tracing,
          metrics,
        }),
        maxAttempts: config.EVENTS_MAX_ATTEMPTS,
        retryDelayMs: config.EVENTS_RETRY_DELAY_MS,
        ...(consumer.prefetch ? { prefetch: consumer.prefetch } : {}),
      });
    }
    await definition.onStart?.(context, deps);
    const jobs = startJobScheduler({
      db,
      clock,
      logger,
      stopTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
      jobs: [...platformJobs({ db, clock }), ...(definition.jobs?.(context, deps) ?? [])],
    });
    // Before what the jobs use (the service's deps, the relay, the database) is released.
    owned.unshift(() => jobs.stop());

    let health: HealthState | undefined;
    const recordCall = async (call: ChamadaRegistrada) => {
      await db.fork().transactional(async (em) => {
        enqueueEvent(em, ChamadaRegistradaSchema, call, {
          correlationId: call.correlationId,
          actor: call.actor,
        });
      });
      relay.wake();
    };
    const refusals = createRefusalAudit({
      intervalMs: config.AUDIT_REFUSALS_INTERVAL_SECONDS * 1000,
      record: recordCall,
      logger,
    });
    // After the server stopped (no call left to refuse), before the database closes.
    owned.unshift(() => refusals.close());
    const server: RunningServer = await startServer({
      host: config.HOST,
      port: config.port,
      logger,
      limits: {
        headersTimeoutMs: config.SERVER_HEADERS_TIMEOUT_MS,
        requestTimeoutMs: config.SERVER_REQUEST_TIMEOUT_MS,
        idleTimeoutMs: config.SERVER_IDLE_TIMEOUT_MS,
        maxConcurrentStreams: config.SERVER_MAX_CONCURRENT_STREAMS,
        maxConnections: config.SERVER_MAX_CONNECTIONS,
      },
      interceptors: platformInterceptors({
        logger,
        verifyToken,
        service: definition.name,
        trustedProxyHops: config.TRUSTED_PROXY_HOPS,
        recordCall,
        refusals,
        anonymousCallsPerMinute: config.ANONYMOUS_CALLS_PER_MINUTE,
        services: definition.services,
        tracing,
        metrics,
      }),
      // /metrics is the platform's (Prometheus scrapes it inside the mesh; GET only).
      httpRoutes: { ...definition.httpRoutes?.(context, deps), "/metrics": metricsRoute(metrics.registry) },
      corsOrigins: parseAllowedOrigins(config.CORS_ALLOWED_ORIGINS),
      routes(router) {
        definition.routes(router, context, deps);
        health = registerHealth(router, {
          services: definition.services.map((service) => service.typeName),
          // Without the broker the service still takes writes (they wait in the outbox): degraded, still ready.
          required: { database: () => db.ping() },
          optional: {
            broker: async () => bus.healthy(),
            cache: () => cache.healthy(),
            ...(storage ? { storage: () => storage.healthy() } : {}),
          },
          probeTimeoutMs: config.HEALTH_PROBE_TIMEOUT_MS,
        });
        registerReflection(router, definition.services);
      },
    });
    logger.info({ port: server.port }, `${definition.name} listening`);
    const healthState = health as unknown as HealthState;
    registerPlatformGauges(metrics, {
      db,
      bus,
      queues,
      health: healthState,
      checks: ["", "database", "broker", "cache", ...(storage ? ["storage"] : [])],
      poolMax: config.DATABASE_POOL_MAX,
    });
    let stopping: Promise<void> | undefined;
    return {
      context,
      port: server.port,
      url: `http://127.0.0.1:${server.port}`,
      health: healthState,
      runJob: (name) => jobs.runJob(name),
      stop() {
        stopping ??= (async () => {
          healthState.shutDown();
          await server.close(config.SHUTDOWN_TIMEOUT_MS);
          for (const close of owned)
            await close().catch((error) => logger.warn({ err: error }, "close failed"));
          logger.info(`${definition.name} stopped`);
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const close of owned) await close().catch(() => undefined);
    throw error;
  }
}

/** Migrates as the migration role, then grants the service role (DATABASE_URL's user by default). */
async function migrate(
  definition: Pick<ServiceDefinition, "entities" | "migrations" | "grants">,
  config: PlatformConfig,
  logger: Logger,
) {
  const serviceRole =
    config.DATABASE_SERVICE_ROLE ?? decodeURIComponent(new URL(config.DATABASE_URL).username);
  await migrateDatabase({
    url: config.MIGRATION_DATABASE_URL ?? config.DATABASE_URL,
    entities: definition.entities,
    migrations: definition.migrations,
    logger,
    serviceRole: serviceRole || undefined,
    grants: definition.grants,
  });
}

async function ownedBus(
  config: PlatformConfig,
  logger: Logger,
  owned: Array<() => Promise<void>>,
): Promise<EventBus> {
  if (!config.AMQP_URL) throw new Error("AMQP_URL is required when no shared event bus is given");
  // A short wait so a normal start has its consumers running; a broker outage does not stop it.
  const bus = await connectRabbitMqBus({ url: config.AMQP_URL, logger, waitForConnectMs: 2_000 });
  owned.unshift(() => bus.close());
  return bus;
}

/**
 * The queues this service's consumers read, with their retry and dead-letter queues. Built from
 * `consumers()` with only the configuration: a consumer list must not use anything else to exist.
 */
export function consumerTopology<Env extends z.ZodObject, Deps>(
  definition: ServiceDefinition<Env, Deps>,
  config: PlatformConfig,
): QueueTopology[] {
  const context = { config } as unknown as ServiceContext<PlatformConfig & z.infer<Env>>;
  return (definition.consumers?.(context, undefined as Deps) ?? []).map((consumer) => ({
    queue: consumer.queue,
    bindings: consumerBindings(consumer),
    maxAttempts: config.EVENTS_MAX_ATTEMPTS,
    retryDelayMs: config.EVENTS_RETRY_DELAY_MS,
  }));
}

/**
 * Part of `migrate`: declares the consumers' queues before any consumer runs, so no event
 * published meanwhile is dropped. Waits up to a minute for the broker, then fails the step.
 */
export async function declareTopology<Env extends z.ZodObject, Deps>(
  definition: ServiceDefinition<Env, Deps>,
  env: Record<string, string | undefined>,
  logger: Logger,
): Promise<void> {
  if (!definition.consumers) return;
  // The migrate Job holds none of the service's secrets: its settings are read for their
  // defaults and what is given (queue names), none required.
  const config = loadConfig(definition.name, env, definition.env?.partial());
  if (!config.AMQP_URL)
    throw new ConfigError(
      `invalid configuration for ${definition.name}:\n  AMQP_URL: required to declare the queues`,
    );
  const bus = await connectRabbitMqBus({ url: config.AMQP_URL, logger });
  try {
    const topology = consumerTopology(definition, config);
    await bus.declare(topology, 60_000);
    logger.info({ queues: topology.map((queue) => queue.queue) }, "queues declared");
  } finally {
    await bus.close();
  }
}

/**
 * Entry point of a service process: `main.ts migrate` applies migrations and
 * exits; otherwise it serves until SIGTERM/SIGINT, then drains and stops.
 */
export async function runStandalone<Env extends z.ZodObject, Deps>(
  definition: ServiceDefinition<Env, Deps>,
): Promise<void> {
  requireNode24();
  try {
    if (process.argv.includes("migrate")) {
      // The migrate Job holds only the migration credentials (none of the service's secrets, so
      // only the platform's settings are read); it names the service role instead.
      const env = { ...process.env };
      if (!env.DATABASE_URL && env.MIGRATION_DATABASE_URL) {
        if (!env.DATABASE_SERVICE_ROLE)
          throw new ConfigError(
            `invalid configuration for ${definition.name}:\n  DATABASE_SERVICE_ROLE: required without DATABASE_URL`,
          );
        env.DATABASE_URL = env.MIGRATION_DATABASE_URL;
      }
      const config = loadConfig(definition.name, env);
      const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });
      await migrate(definition, config, logger);
      await declareTopology(definition, env, logger);
      return;
    }
    const running = await runService(definition, { env: process.env });
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      process.once(signal, () => {
        running.stop().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      });
    }
  } catch (error) {
    // A bad setting or an unreachable dependency: one clear line, no stack.
    const message =
      error instanceof ConfigError
        ? error.message
        : `${definition.name} failed to start: ${(error as Error).message}`;
    process.stderr.write(`${message}\n`);
    process.exit(1);
  }
}
