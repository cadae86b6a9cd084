import { createHash } from "node:crypto";
import { type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import type { EntityManager } from "@mikro-orm/postgresql";
import { takeCallRecord } from "./audit.ts";
import type { IncomingMessage } from "./bus.ts";
import { principalKey, requestContextKey } from "./context.ts";
import type { Database } from "./db.ts";
import { FailedPreconditionError } from "./errors.ts";
import type { PlatformMetrics } from "./metrics.ts";
import type { OutboxRelay } from "./outbox.ts";
import { type EventMeta, enqueueEvent } from "./outbox.ts";
import { withoutSensitive } from "./redaction.ts";
import { disabledTracing, SpanKind, type Tracing } from "./tracing.ts";

/**
 * A result that is a failure to report only after the transaction commits (a
 * failed login must still count). The call is then audited with the error's code.
 */
export type Outcome<T> = { ok: T } | { error: Error };

function isFailure(value: unknown): boolean {
  return typeof value === "object" && value !== null && "error" in value && value.error instanceof Error;
}

/**
 * The stored request fingerprint leaves out the sensitive (debug_redact) fields at any depth: a
 * fast hash of a password or a CPF is crackable. So a retry differing only in them is a replay.
 */
function fingerprint<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): Buffer {
  return createHash("sha256")
    .update(toBinary(schema, withoutSensitive(schema, message)))
    .digest();
}

/**
 * How a response is kept for replays: what to store (never secrets or personal
 * data in clear) and how to answer a retry from it. Whatever `keep` returns (the
 * response itself without a Replay), its sensitive (debug_redact) fields are
 * cleared before it is stored: a retry without a `restore` that reads them
 * again gets the response without them.
 */
export interface Replay<Desc extends DescMessage> {
  keep(response: MessageShape<Desc>): MessageShape<Desc>;
  restore(kept: MessageShape<Desc>, uow: UnitOfWork): Promise<MessageShape<Desc>>;
}

/** What a mutating handler gets: one transaction and an outbox that commits with it. */
export interface UnitOfWork {
  em: EntityManager;
  /** Records an event to publish if and only if this transaction commits. */
  publish<Desc extends DescMessage>(schema: Desc, event: MessageShape<Desc>): string;
}

export interface Transactions {
  /** Runs `work` in one transaction; events it publishes go out after commit. */
  run<T>(context: HandlerContext, work: (uow: UnitOfWork) => Promise<T>): Promise<T>;
  /** `run` for background jobs (no call, no caller): events carry the actor `system`. */
  job<T>(work: (uow: UnitOfWork) => Promise<T>): Promise<T>;
  /**
   * `run` for a consumed message (a saga step): events it publishes carry on the message's
   * correlation id, trace context and actor, and name it as their cause.
   */
  consume<T>(message: IncomingMessage, work: (uow: UnitOfWork) => Promise<T>): Promise<T>;
  /**
   * Like `run`, keyed by the request's `request_id`: a retry with the same id gets the
   * first response and changes nothing. The stored response commits with the change.
   */
  idempotent<Req extends DescMessage, Res extends DescMessage>(
    context: HandlerContext,
    request: { schema: Req; message: MessageShape<Req>; requestId: string },
    responseSchema: Res,
    work: (uow: UnitOfWork) => Promise<MessageShape<Res>>,
    replay?: Replay<Res>,
  ): Promise<MessageShape<Res>>;
}

/** What the unit of work reports: a span per transaction, in-flight and duration metrics, replays. */
export interface TransactionTelemetry {
  tracing?: Tracing | undefined;
  metrics?: PlatformMetrics | undefined;
}

export function createTransactions(
  db: Database,
  relay: OutboxRelay,
  telemetry: TransactionTelemetry = {},
): Transactions {
  const tracing = telemetry.tracing ?? disabledTracing;
  const metrics = telemetry.metrics;
  const run = async <T>(
    context: HandlerContext | undefined,
    work: (uow: UnitOfWork) => Promise<T>,
    cause?: IncomingMessage,
  ): Promise<T> => {
    const kind = cause ? "consume" : context ? "rpc" : "job";
    if (!tracing.enabled && !metrics) return transaction(context, work, cause);
    const started = performance.now();
    let outcome = "committed";
    metrics?.transactionsInFlight.inc({ kind });
    try {
      return await tracing.inSpan(
        "db.transaction",
        { kind: SpanKind.CLIENT, attributes: { "db.system.name": "postgresql", "consorcio.tx.kind": kind } },
        () => transaction(context, work, cause),
      );
    } catch (error) {
      outcome = "rolled_back";
      throw error;
    } finally {
      metrics?.transactionsInFlight.dec({ kind });
      metrics?.transactionSeconds.observe({ kind, outcome }, (performance.now() - started) / 1000);
    }
  };

  const transaction = async <T>(
    context: HandlerContext | undefined,
    work: (uow: UnitOfWork) => Promise<T>,
    cause?: IncomingMessage,
  ): Promise<T> => {
    const request = context?.values.get(requestContextKey);
    const meta: EventMeta = cause
      ? {
          correlationId: cause.headers["correlation-id"],
          traceparent: cause.headers.traceparent,
          actor: cause.headers.actor ?? "system",
          causationId: cause.id,
        }
      : {
          correlationId: request?.correlationId,
          traceparent: request?.traceparent,
          actor: context ? context.values.get(principalKey)?.subject : "system",
        };
    // Traced, each event carries the context of this transaction's span: its consumers continue the trace.
    const traceparent = tracing.enabled ? tracing.currentTraceparent() : undefined;
    if (traceparent) meta.traceparent = traceparent;
    let published = false;
    // Domain counters of published facts (countEvents) count only what committed.
    const facts: Array<() => void> = [];
    const result = await db.fork().transactional(async (em) => {
      const value = await work({
        em,
        publish(schema, event) {
          published = true;
          const count = metrics?.eventCounters.get(schema.typeName);
          if (count) facts.push(() => count(event));
          return enqueueEvent(em, schema, event, meta);
        },
      });
      // The audit record of the call commits with the change it made (a failure is audited after).
      const call = context && !isFailure(value) ? takeCallRecord(context.values, value) : undefined;
      if (call) {
        enqueueEvent(em, ChamadaRegistradaSchema, call, meta);
        published = true;
      }
      return value;
    });
    if (published) relay.wake();
    for (const fact of facts) fact();
    return result;
  };

  return {
    run,
    job: (work) => run(undefined, work),
    consume: (message, work) => run(undefined, work, message),
    async idempotent(context, request, responseSchema, work, replay) {
      if (!request.requestId) return run(context, work);
      const method = `${context.service.typeName}/${context.method.name}`;
      const scope = context.values.get(principalKey)?.subject ?? "";
      const requestHash = fingerprint(request.schema, request.message);
      return run(context, async (uow) => {
        // A concurrent twin blocks on this insert until the first commits, then sees its row.
        const inserted = await uow.em.execute<unknown[]>(
          `insert into platform_idempotency (method, scope, request_id, request_hash, response)
           values (?, ?, ?, ?, '\\x') on conflict do nothing returning request_id`,
          [method, scope, request.requestId, requestHash],
        );
        if (inserted.length === 0) {
          const [first] = await uow.em.execute<{ request_hash: Buffer; response: Buffer }[]>(
            "select request_hash, response from platform_idempotency where method = ? and scope = ? and request_id = ?",
            [method, scope, request.requestId],
          );
          if (!first || !requestHash.equals(first.request_hash)) {
            throw new FailedPreconditionError("request_id was already used for a different request");
          }
          metrics?.idempotentReplays.inc({ method });
          const kept = fromBinary(responseSchema, new Uint8Array(first.response));
          return replay ? replay.restore(kept, uow) : kept;
        }
        const response = await work(uow);
        await uow.em.flush();
        await uow.em.execute(
          "update platform_idempotency set response = ? where method = ? and scope = ? and request_id = ?",
          [
            Buffer.from(
              toBinary(
                responseSchema,
                withoutSensitive(responseSchema, replay ? replay.keep(response) : response),
              ),
            ),
            method,
            scope,
            request.requestId,
          ],
        );
        return response;
      });
    },
  };
}
