// Fan-out of committed changes to this replica's open Watch streams.
//
// Every change is a row of configuracao_change whose seq is taken under a transaction-wide
// advisory lock, so seq order is commit order. Each replica keeps the last seq it has seen and
// reads what follows whenever it is woken: by its own commits, by the change events every replica
// hears on a queue of its own (the outbox's ParametroAlterado, FlagAlterada, IndiceRegistrado,
// IndiceValorUsado), and by a slow poll, so a broker outage delays no change longer than the poll.
// A stream registers before its snapshot is read and skips changes its snapshot already holds.
import { randomUUID } from "node:crypto";
import { create, fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ConfiguracaoChange,
  ConfiguracaoChangeSchema,
  type WatchResponse,
  WatchResponseSchema,
  type WatchTopic,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import {
  FlagAlteradaSchema,
  IndiceRegistradoSchema,
  IndiceValorUsadoSchema,
  ParametroAlteradoSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/eventos_pb.js";
import type { Database, Logger, SubscriptionOptions } from "@consorcio/platform";

/** Changes a slow watcher may have pending before its stream is ended (it reconnects to a snapshot). */
const MAX_PENDING = 10_000;
const BATCH = 500;
/** A per-process queue outlives its process by this long (then the broker deletes it). */
const QUEUE_EXPIRY_MS = 10 * 60_000;

interface Pending {
  seq: bigint;
  change: ConfiguracaoChange;
}

export interface WatchSubscription {
  /** Changes after `fromRevision`, with a heartbeat after `heartbeatMs` of silence, until `signal` aborts. */
  stream(fromRevision: bigint, signal: AbortSignal, heartbeatMs: number): AsyncGenerator<WatchResponse>;
  close(): void;
}

export interface WatchHub {
  start(): Promise<void>;
  /** Read what committed since the last look (a local commit, an event, the poll). */
  wake(): void;
  subscribe(topics: ReadonlySet<WatchTopic>): WatchSubscription;
  /** The bus subscription that wakes this replica on other replicas' changes. */
  subscription(service: string): SubscriptionOptions;
  /** Open streams (tests, metrics). */
  size(): number;
  /** Ends every stream; no more polling. */
  close(): void;
}

export function createWatchHub(options: {
  db: Database;
  logger: Logger;
  pollMs: number;
  /** Called once per change seen, in order (cache invalidation on every replica). */
  onChange(change: ConfiguracaoChange): Promise<void>;
}): WatchHub {
  const { db, logger } = options;
  let lastSeq = 0n;
  let running: Promise<void> | undefined;
  let again = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const subscribers = new Set<{ push(item: Pending): void; end(): void }>();

  const catchUp = async () => {
    for (;;) {
      const rows = await db
        .fork()
        .execute<{ seq: string; payload: Buffer }[]>(
          "select seq, payload from configuracao_change where seq > ? order by seq limit ?",
          [lastSeq.toString(), BATCH],
        );
      for (const row of rows) {
        const item = { seq: BigInt(row.seq), change: fromBinary(ConfiguracaoChangeSchema, row.payload) };
        lastSeq = item.seq;
        await options.onChange(item.change).catch(() => undefined);
        for (const subscriber of subscribers) subscriber.push(item);
      }
      if (rows.length < BATCH) return;
    }
  };

  const wake = () => {
    if (closed) return;
    if (running) {
      again = true;
      return;
    }
    running = catchUp()
      .catch((error) =>
        logger.warn({ err: error }, "watch: reading changes failed, retrying at the next poll"),
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          wake();
        }
      });
  };

  return {
    async start() {
      const [row] = await db
        .fork()
        .execute<{ seq: string | null }[]>("select max(seq) as seq from configuracao_change");
      lastSeq = BigInt(row?.seq ?? 0);
      const poll = () => {
        wake();
        timer = setTimeout(poll, options.pollMs);
        timer.unref();
      };
      timer = setTimeout(poll, options.pollMs);
      timer.unref();
    },
    wake,
    size: () => subscribers.size,
    subscribe(topics) {
      const queue: Pending[] = [];
      let notify: (() => void) | undefined;
      let ended = false;
      let overflow = false;
      const signalNext = () => {
        notify?.();
        notify = undefined;
      };
      const subscriber = {
        push(item: Pending) {
          if (topics.size > 0 && !topics.has(item.change.topic)) return;
          if (queue.length >= MAX_PENDING) {
            overflow = true;
            subscriber.end();
            return;
          }
          queue.push(item);
          signalNext();
        },
        end() {
          ended = true;
          subscribers.delete(subscriber);
          signalNext();
        },
      };
      subscribers.add(subscriber);
      return {
        close: () => subscriber.end(),
        async *stream(fromRevision, signal, heartbeatMs) {
          let revision = fromRevision;
          const onAbort = () => subscriber.end();
          signal.addEventListener("abort", onAbort, { once: true });
          try {
            while (!ended || queue.length > 0) {
              if (overflow) throw new ConnectError("watcher fell behind: reconnect", Code.ResourceExhausted);
              const item = queue.shift();
              if (item) {
                if (item.seq <= revision) continue; // already in the snapshot
                revision = item.seq;
                yield create(WatchResponseSchema, {
                  revision,
                  event: { case: "change", value: item.change },
                });
                continue;
              }
              if (ended) break;
              const beat = await new Promise<boolean>((resolve) => {
                const silence = setTimeout(() => resolve(true), heartbeatMs);
                notify = () => {
                  clearTimeout(silence);
                  resolve(false);
                };
              });
              if (beat && !ended)
                yield create(WatchResponseSchema, { revision, event: { case: "heartbeat", value: {} } });
            }
          } finally {
            signal.removeEventListener("abort", onAbort);
            subscriber.end();
          }
        },
      };
    },
    subscription(service) {
      return {
        queue: `${service}.watch.${randomUUID().slice(0, 8)}`,
        bindings: [
          ParametroAlteradoSchema.typeName,
          FlagAlteradaSchema.typeName,
          IndiceRegistradoSchema.typeName,
          IndiceValorUsadoSchema.typeName,
        ],
        // Waking cannot fail for a passing reason; the poll covers anything missed.
        maxAttempts: 1,
        retryDelayMs: 1_000,
        expiresAfterMs: QUEUE_EXPIRY_MS,
        handler: async () => wake(),
      };
    },
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      for (const subscriber of [...subscribers]) subscriber.end();
    },
  };
}
