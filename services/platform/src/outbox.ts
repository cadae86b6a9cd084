import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { EntityManager } from "@mikro-orm/postgresql";
import { context, SpanStatusCode, trace } from "@opentelemetry/api";
import { uuidv7 } from "uuidv7";
import type { EventBus, OutgoingMessage } from "./bus.ts";
import { type Database, OutboxMessage } from "./db.ts";
import type { Logger } from "./logging.ts";
import type { PlatformMetrics } from "./metrics.ts";
import { disabledTracing, linkOf, SpanKind, type Tracing } from "./tracing.ts";

export interface EventMeta {
  correlationId?: string | undefined;
  traceparent?: string | undefined;
  /** Who caused it (a subject id, never a name). */
  actor?: string | undefined;
  /** The message whose handling published it (a saga step). */
  causationId?: string | undefined;
}

/**
 * Records an event in the outbox of the transaction `em` belongs to: it is
 * published if and only if that transaction commits.
 */
export function enqueueEvent<Desc extends DescMessage>(
  em: EntityManager,
  schema: Desc,
  event: MessageShape<Desc>,
  meta: EventMeta = {},
): string {
  const id = uuidv7();
  const headers: Record<string, string> = {};
  if (meta.correlationId) headers["correlation-id"] = meta.correlationId;
  if (meta.traceparent) headers.traceparent = meta.traceparent;
  if (meta.actor) headers.actor = meta.actor;
  if (meta.causationId) headers["causation-id"] = meta.causationId;
  em.create(OutboxMessage, {
    id,
    eventType: schema.typeName,
    routingKey: schema.typeName,
    payload: Buffer.from(toBinary(schema, event)),
    headers,
    attempts: 0,
    publishedAt: null,
    lastError: null,
  });
  return id;
}

interface OutboxRow {
  id: string;
  event_type: string;
  routing_key: string;
  payload: Buffer;
  headers: Record<string, string>;
  created_at: Date;
  attempts: number;
}

export interface OutboxRelay {
  /** Look for pending rows now (called after a local commit). */
  wake(): void;
  /** Publishes what is pending once; returns how many rows were published. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

export interface OutboxRelayOptions {
  db: Database;
  bus: EventBus;
  logger: Logger;
  batchSize?: number;
  /** Poll period when idle (local commits wake the relay at once): what other replicas commit is seen this late at most. */
  pollMs?: number;
  /** Back-off cap after broker failures. */
  maxBackoffMs?: number;
  /** A span per batch (linked to the producers) and per message (child of its producer). */
  tracing?: Tracing | undefined;
  metrics?: PlatformMetrics | undefined;
}

/**
 * Publishes committed outbox rows with publisher confirms. Rows are claimed with
 * FOR UPDATE SKIP LOCKED so replicas share the work; a row is marked published
 * only after the broker confirmed it, so a crash in between publishes it again
 * (consumers deduplicate by message id).
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, bus, logger } = options;
  const batchSize = options.batchSize ?? 200;
  const pollMs = options.pollMs ?? 1_000;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  const tracing = options.tracing ?? disabledTracing;
  const metrics = options.metrics;
  let stopped = false;
  let failures = 0;
  let wakeUp: (() => void) | undefined;
  // A wake while draining (a commit after the batch was read) must not wait for the next poll.
  let woken = false;
  const wake = () => {
    woken = true;
    wakeUp?.();
  };

  /** Publishes one batch; a broker failure is recorded on the rows (committed) and rethrown after. */
  const publishBatch = async (): Promise<number> => {
    const em = db.fork();
    const outcome = await em.transactional(async (tx) => {
      const rows = await tx.execute<OutboxRow[]>(
        `select id, event_type, routing_key, payload, headers, created_at, attempts
           from platform_outbox
          where published_at is null and next_attempt_at <= now()
          order by created_at, id
          limit ? for update skip locked`,
        [batchSize],
      );
      if (rows.length === 0) return { published: 0 };
      const messages: OutgoingMessage[] = rows.map((row) => ({
        id: row.id,
        type: row.event_type,
        routingKey: row.routing_key,
        body: new Uint8Array(row.payload),
        headers: row.headers,
        timestamp: new Date(row.created_at),
      }));
      // A Postgres array literal: uuids need no quoting.
      const ids = `{${rows.map((row) => row.id).join(",")}}`;
      try {
        await (tracing.enabled ? publishTraced(messages) : bus.publish(messages));
        metrics?.outboxPublished.inc(messages.length);
      } catch (error) {
        metrics?.outboxPublishFailures.inc();
        const delayMs = Math.min(maxBackoffMs, 200 * 2 ** Math.min(failures, 10));
        await tx.execute(
          `update platform_outbox
              set attempts = attempts + 1, last_error = ?, next_attempt_at = now() + (? * interval '1 millisecond')
            where id = any(?::uuid[])`,
          [String((error as Error).message ?? error).slice(0, 500), delayMs, ids],
        );
        return {
          published: 0,
          failure: Object.assign(new Error("publish failed", { cause: error }), { delayMs }),
        };
      }
      await tx.execute("update platform_outbox set published_at = now() where id = any(?::uuid[])", [ids]);
      return { published: rows.length };
    });
    if ("failure" in outcome) throw outcome.failure;
    return outcome.published;
  };

  /**
   * The batch's span links every producer; each message gets a producer span, child of the
   * context stored with its row, and carries that span's `traceparent` to its consumers.
   */
  const publishTraced = (messages: OutgoingMessage[]) =>
    tracing.inSpan(
      "outbox publish",
      {
        kind: SpanKind.INTERNAL,
        links: messages.flatMap((message) => linkOf(message.headers.traceparent) ?? []),
        attributes: { "messaging.system": "rabbitmq", "messaging.batch.message_count": messages.length },
      },
      async () => {
        const spans = messages.map((message) => {
          const parent = message.headers.traceparent ? tracing.extract(message.headers) : undefined;
          const span = tracing.tracer.startSpan(
            `publish ${message.type}`,
            {
              kind: SpanKind.PRODUCER,
              attributes: {
                "messaging.system": "rabbitmq",
                "messaging.operation.type": "send",
                "messaging.destination.name": "consorcio.events",
                "messaging.rabbitmq.destination.routing_key": message.routingKey,
                "messaging.message.id": message.id,
              },
            },
            parent,
          );
          const headers = { ...message.headers };
          tracing.inject(headers, trace.setSpan(parent ?? context.active(), span));
          message.headers = headers;
          return span;
        });
        try {
          await bus.publish(messages);
        } catch (error) {
          for (const span of spans) span.setStatus({ code: SpanStatusCode.ERROR });
          throw error;
        } finally {
          for (const span of spans) span.end();
        }
      },
    );

  const drain = async (): Promise<number> => {
    let total = 0;
    for (;;) {
      const published = await publishBatch();
      total += published;
      if (published < batchSize) return total;
    }
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wakeUp = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => {
      wakeUp = undefined;
    });

  // Back from an outage: publish what waited at once, including rows backing off from failures
  // during the outage (their failure was the outage), not at the next poll or back-off.
  bus.onConnected(() => {
    void db
      .fork()
      .execute(
        "update platform_outbox set next_attempt_at = now() where published_at is null and next_attempt_at > now()",
      )
      .catch((error: unknown) => logger.warn({ err: error }, "outbox relay could not reset back-off"))
      .finally(wake);
  });

  const loop = (async () => {
    while (!stopped) {
      let waitMs = pollMs;
      woken = false;
      try {
        // Broker down: rows stay as they are (no attempt counted) until it is back.
        if (bus.healthy()) await drain();
        failures = 0;
      } catch (error) {
        failures++;
        waitMs =
          (error as { delayMs?: number }).delayMs ??
          Math.min(maxBackoffMs, 200 * 2 ** Math.min(failures, 10));
        logger.warn(
          { err: (error as Error).cause ?? error, retryInMs: waitMs },
          "outbox relay could not publish",
        );
      }
      // Woken during the drain: drain again at once (unless backing off after a failure).
      if (woken && failures === 0) continue;
      if (!stopped) await sleep(waitMs);
    }
  })();

  return {
    wake,
    drain,
    async stop() {
      stopped = true;
      wake();
      await loop;
    },
  };
}
