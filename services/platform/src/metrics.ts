// Prometheus metrics of one service (prom-client), served at GET /metrics. One registry per
// service, so the embedded mode's services (one process) each serve their own series.
import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { HttpRoute } from "./server.ts";

/** A counter of the service's own facts (parcelas billed, lances, contemplações). */
export interface DomainCounter {
  inc(labels?: Record<string, string>, value?: number): void;
}

/** What services use: `context.metrics.counter(...)`, once per name (a second call returns the same). */
export interface ServiceMetrics {
  counter(name: string, help: string, labels?: readonly string[]): DomainCounter;
  /**
   * A counter of a fact the service publishes: +1 for each event of `schema` whose transaction
   * committed (never for a rolled-back one or an idempotent replay), labelled by `labels(event)`.
   */
  countEvents<Desc extends DescMessage>(
    schema: Desc,
    name: string,
    help: string,
    labels?: {
      names: readonly string[];
      of(event: MessageShape<Desc>): Record<string, string>;
      /** How much the event counts (a batch event: its size); 1 by default. */
      value?(event: MessageShape<Desc>): number;
    },
  ): void;
}

const RPC_LABELS = ["rpc_service", "rpc_method", "code"] as const;
/** Seconds: from a cache hit (sub-millisecond) to a bulk RPC (tens of seconds). */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Seconds an event waited between its write and its processing. */
const DELAY_BUCKETS = [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

export interface PlatformMetrics extends ServiceMetrics {
  registry: Registry;
  rpcServerHandled: Counter<(typeof RPC_LABELS)[number]>;
  rpcServerSeconds: Histogram<(typeof RPC_LABELS)[number]>;
  rpcClientHandled: Counter<(typeof RPC_LABELS)[number]>;
  rpcClientSeconds: Histogram<(typeof RPC_LABELS)[number]>;
  eventsProcessed: Counter<"queue" | "event_type" | "outcome">;
  eventsProcessingSeconds: Histogram<"queue" | "outcome">;
  eventsDelaySeconds: Histogram<"queue">;
  eventsRetries: Counter<"queue">;
  eventsDeadLettered: Counter<"queue">;
  outboxPublished: Counter<string>;
  outboxPublishFailures: Counter<string>;
  idempotentReplays: Counter<"method">;
  cacheRequests: Counter<"result">;
  transactionsInFlight: Gauge<"kind">;
  transactionSeconds: Histogram<"kind" | "outcome">;
  /** The event counters of `countEvents`, by event type (the unit of work calls them after commit). */
  eventCounters: Map<string, (event: unknown) => void>;
  /** Registers a gauge read at scrape time through a cached, time-bounded probe. */
  probeGauge(
    name: string,
    help: string,
    labels: readonly string[],
    read: () => Promise<ReadonlyArray<{ labels?: Record<string, string>; value: number }>>,
    options?: { cacheMs?: number; timeoutMs?: number },
  ): void;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

/**
 * A probe answered from its last value for `cacheMs`; a probe slower than `timeoutMs` (a busy
 * database) leaves the last value in place, so a scrape never waits on it for long.
 */
function cachedProbe<T>(
  read: () => Promise<T>,
  cacheMs: number,
  timeoutMs: number,
): () => Promise<T | undefined> {
  let last: { at: number; value: T } | undefined;
  let running: Promise<T> | undefined;
  return async () => {
    if (last && Date.now() - last.at < cacheMs) return last.value;
    running ??= read().finally(() => {
      running = undefined;
    });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    try {
      const value = await Promise.race([running, late]);
      if (value !== undefined) last = { at: Date.now(), value };
      return value ?? last?.value;
    } catch {
      return last?.value;
    } finally {
      clearTimeout(timer);
    }
  };
}

export function createMetrics(service: string): PlatformMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // Process CPU and memory, GC, handles and the event-loop lag (nodejs_eventloop_lag_*).
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 20 });
  const registers = [registry];
  const domain = new Map<string, Counter<string>>();
  const wrap = (counter: Counter<string>): DomainCounter => ({
    inc: (labels, value = 1) => (labels ? counter.inc(labels, value) : counter.inc(value)),
  });
  const eventCounters = new Map<string, (event: unknown) => void>();
  const counter = (name: string, help: string, labels: readonly string[] = []): DomainCounter => {
    const existing = domain.get(name);
    if (existing) return wrap(existing);
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    const created = new Counter({ name, help, labelNames: labels, registers });
    domain.set(name, created);
    return wrap(created);
  };
  return {
    registry,
    eventCounters,
    counter,
    countEvents(schema, name, help, labels) {
      const count = counter(name, help, labels?.names ?? []);
      const previous = eventCounters.get(schema.typeName);
      eventCounters.set(schema.typeName, (event) => {
        previous?.(event);
        const shape = event as MessageShape<typeof schema>;
        count.inc(labels?.of(shape), labels?.value?.(shape) ?? 1);
      });
    },
    rpcServerHandled: new Counter({
      name: "rpc_server_handled_total",
      help: "RPCs completed by this service, by method and status code.",
      labelNames: RPC_LABELS,
      registers,
    }),
    rpcServerSeconds: new Histogram({
      name: "rpc_server_handling_seconds",
      help: "Time to answer an RPC (a stream: until its first response), by method and status code.",
      labelNames: RPC_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    rpcClientHandled: new Counter({
      name: "rpc_client_handled_total",
      help: "Calls this service made to other services, by method and status code.",
      labelNames: RPC_LABELS,
      registers,
    }),
    rpcClientSeconds: new Histogram({
      name: "rpc_client_handling_seconds",
      help: "Time of a call to another service (retries included), by method and status code.",
      labelNames: RPC_LABELS,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventsProcessed: new Counter({
      name: "events_processed_total",
      help: "Deliveries handled by this service's consumers, by queue, event type and outcome.",
      labelNames: ["queue", "event_type", "outcome"],
      registers,
    }),
    eventsProcessingSeconds: new Histogram({
      name: "events_processing_seconds",
      help: "Time to handle one delivery (its transaction included), by queue and outcome.",
      labelNames: ["queue", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    eventsDelaySeconds: new Histogram({
      name: "events_delay_seconds",
      help: "Consumer lag: from the event's outbox write (AMQP timestamp, whole seconds) to its processing.",
      labelNames: ["queue"],
      buckets: DELAY_BUCKETS,
      registers,
    }),
    eventsRetries: new Counter({
      name: "events_retries_total",
      help: "Redeliveries after a failed attempt, by queue.",
      labelNames: ["queue"],
      registers,
    }),
    eventsDeadLettered: new Counter({
      name: "events_dead_lettered_total",
      help: "Messages sent to the dead-letter queue after their last attempt failed, by queue.",
      labelNames: ["queue"],
      registers,
    }),
    outboxPublished: new Counter({
      name: "outbox_published_total",
      help: "Outbox rows published to the broker with a confirm.",
      registers,
    }),
    outboxPublishFailures: new Counter({
      name: "outbox_publish_failures_total",
      help: "Outbox batches the broker did not confirm (retried with back-off).",
      registers,
    }),
    idempotentReplays: new Counter({
      name: "idempotent_replays_total",
      help: "Retries of a mutating RPC answered from the first response (same request_id), by method.",
      labelNames: ["method"],
      registers,
    }),
    cacheRequests: new Counter({
      name: "cache_requests_total",
      help: "Cache reads by result (hit, miss); a cache that is down counts misses.",
      labelNames: ["result"],
      registers,
    }),
    transactionsInFlight: new Gauge({
      name: "db_transactions_in_flight",
      help: "Database transactions open through the unit of work, by kind (rpc, job, consume).",
      labelNames: ["kind"],
      registers,
    }),
    transactionSeconds: new Histogram({
      name: "db_transaction_seconds",
      help: "Duration of a unit-of-work transaction, by kind and outcome.",
      labelNames: ["kind", "outcome"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    probeGauge(name, help, labels, read, options = {}) {
      const probe = cachedProbe(read, options.cacheMs ?? 5_000, options.timeoutMs ?? 1_000);
      new Gauge({
        name,
        help,
        labelNames: labels,
        registers,
        async collect() {
          const values = await probe();
          if (!values) return;
          this.reset();
          for (const { labels: at, value } of values) {
            if (at) this.set(at, value);
            else this.set(value);
          }
        },
      });
    },
  };
}

/** GET /metrics in the Prometheus text format; other methods are refused. */
export function metricsRoute(registry: Registry): HttpRoute {
  return async (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
      res.end("method not allowed\n");
      return;
    }
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
}
