// Where the platform's pieces meet its metrics and spans: the consumers' deliveries, the cache's
// reads, and the gauges read at scrape time (outbox backlog, queue depths, pool, health).
import { HealthCheckResponse_ServingStatus as Status } from "@consorcio/gen/grpc/health/v1/health_pb.js";

/** What the pg pool tells of itself. */
interface Pool {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

import { deadLetterQueue, type EventBus, type MessageHandler } from "./bus.ts";
import type { Cache } from "./cache.ts";
import type { Database } from "./db.ts";
import type { HealthState } from "./health.ts";
import type { PlatformMetrics } from "./metrics.ts";
import { SpanKind, type Tracing } from "./tracing.ts";

/**
 * A consumer's delivery as a CONSUMER span, child of the producer's context from the AMQP headers
 * (so the consumer's transaction span is its child), with its processing time, lag and retries.
 */
export function observedHandler(
  handler: MessageHandler,
  options: { queue: string; maxAttempts: number; tracing: Tracing; metrics?: PlatformMetrics },
): MessageHandler {
  const { queue, maxAttempts, tracing, metrics } = options;
  return async (message) => {
    const started = performance.now();
    if (metrics) {
      const timestamp = message.timestamp.getTime();
      if (timestamp > 0)
        metrics.eventsDelaySeconds.observe({ queue }, Math.max(0, (Date.now() - timestamp) / 1000));
      if (message.attempt > 1) metrics.eventsRetries.inc({ queue });
    }
    let outcome = "ok";
    try {
      if (!tracing.enabled) return await handler(message);
      return await tracing.inSpan(
        `process ${message.type}`,
        {
          kind: SpanKind.CONSUMER,
          parent: tracing.extract(message.headers),
          attributes: {
            "messaging.system": "rabbitmq",
            "messaging.operation.type": "process",
            "messaging.destination.name": queue,
            "messaging.message.id": message.id,
            "messaging.rabbitmq.message.attempt": message.attempt,
          },
        },
        () => handler(message),
      );
    } catch (error) {
      outcome = "error";
      if (message.attempt >= maxAttempts) metrics?.eventsDeadLettered.inc({ queue });
      throw error;
    } finally {
      if (metrics) {
        metrics.eventsProcessed.inc({ queue, event_type: message.type, outcome });
        metrics.eventsProcessingSeconds.observe({ queue, outcome }, (performance.now() - started) / 1000);
      }
    }
  };
}

/** Counts the cache's reads as hits or misses (its hit ratio). */
export function instrumentCache(cache: Cache, metrics: PlatformMetrics): Cache {
  return {
    ...cache,
    async get(key) {
      const value = await cache.get(key);
      metrics.cacheRequests.inc({ result: value === undefined ? "miss" : "hit" });
      return value;
    },
    set: (key, value, ttl) => cache.set(key, value, ttl),
    del: (...keys) => cache.del(...keys),
    hit: (key, window) => cache.hit(key, window),
    healthy: () => cache.healthy(),
    close: () => cache.close(),
  };
}

/** The pg pool under MikroORM, when the driver exposes it. */
async function poolOf(db: Database): Promise<Pool | undefined> {
  try {
    const connection = db.orm.em.getConnection() as unknown as { getNativeClient?: () => Promise<Pool> };
    return await connection.getNativeClient?.();
  } catch {
    return undefined;
  }
}

/**
 * Gauges read when Prometheus scrapes, each cached a few seconds and bounded by a timeout: the
 * outbox backlog and its age (one indexed count), queue and dead-letter depths, the pool, health.
 */
export function registerPlatformGauges(
  metrics: PlatformMetrics,
  options: {
    db: Database;
    bus: EventBus;
    queues: readonly string[];
    health: HealthState;
    checks: readonly string[];
    poolMax: number;
  },
): void {
  const { db, bus, queues, health } = options;
  const backlog = async () => {
    // The partial index platform_outbox_pending covers exactly these rows.
    const [row] = await db.fork().execute<{ pending: string | number; oldest: string | number | null }[]>(
      `select count(*) as pending, extract(epoch from now() - min(created_at)) as oldest
           from platform_outbox where published_at is null`,
    );
    return { pending: Number(row?.pending ?? 0), oldest: Number(row?.oldest ?? 0) };
  };
  let backlogRead: Promise<{ pending: number; oldest: number }> | undefined;
  // Both gauges come from one query per scrape.
  const sharedBacklog = () => {
    backlogRead ??= backlog().finally(() => {
      setTimeout(() => {
        backlogRead = undefined;
      }, 100).unref();
    });
    return backlogRead;
  };
  metrics.probeGauge("outbox_pending_messages", "Outbox rows not yet published.", [], async () => [
    { value: (await sharedBacklog()).pending },
  ]);
  metrics.probeGauge(
    "outbox_oldest_pending_age_seconds",
    "Age of the oldest outbox row not yet published (0 when none).",
    [],
    async () => [{ value: (await sharedBacklog()).oldest }],
  );
  const depths = async (names: readonly string[]) => {
    const values: Array<{ labels: Record<string, string>; value: number }> = [];
    if (!bus.queueDepth) return values;
    for (const queue of names) {
      const depth = await bus.queueDepth(queue);
      if (depth !== undefined) values.push({ labels: { queue: queue.replace(/\.dlq$/, "") }, value: depth });
    }
    return values;
  };
  if (queues.length > 0) {
    metrics.probeGauge(
      "events_queue_messages",
      "Messages ready in a consumer's queue (its backlog), by queue.",
      ["queue"],
      () => depths(queues),
    );
    metrics.probeGauge(
      "events_dead_letter_messages",
      "Messages in a consumer's dead-letter queue, by queue.",
      ["queue"],
      () => depths(queues.map(deadLetterQueue)),
    );
  }
  metrics.probeGauge(
    "db_pool_connections",
    "Connections of the database pool, by state (idle, used; max is the configured size).",
    ["state"],
    async () => {
      const pool = await poolOf(db);
      const max = { labels: { state: "max" }, value: options.poolMax };
      if (!pool) return [max];
      return [
        max,
        { labels: { state: "idle" }, value: pool.idleCount },
        { labels: { state: "used" }, value: pool.totalCount - pool.idleCount },
      ];
    },
    { cacheMs: 1_000 },
  );
  metrics.probeGauge(
    "db_pool_waiting_requests",
    "Requests waiting for a free database connection.",
    [],
    async () => {
      const pool = await poolOf(db);
      return pool ? [{ value: pool.waitingCount }] : [];
    },
    { cacheMs: 1_000 },
  );
  metrics.probeGauge(
    "health_serving",
    'grpc.health.v1 status by check ("" is the service itself): 1 SERVING, 0 otherwise.',
    ["check"],
    async () => {
      const values = [];
      for (const check of options.checks) {
        const status = await health.status(check);
        values.push({ labels: { check }, value: status === Status.SERVING ? 1 : 0 });
      }
      return values;
    },
    { timeoutMs: 2_000 },
  );
}
