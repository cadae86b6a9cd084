/** One event on the wire: the body is the protobuf binary of the event message. */
export interface OutgoingMessage {
  /** UUIDv7; consumers deduplicate on it. */
  id: string;
  /** Full protobuf name of the event, e.g. `consorcio.financeiro.v1.PagamentoRealizado`. */
  type: string;
  routingKey: string;
  body: Uint8Array;
  /** correlation id, trace context, actor; never personal data. */
  headers: Record<string, string>;
  timestamp: Date;
}

export interface IncomingMessage {
  id: string;
  type: string;
  body: Uint8Array;
  headers: Record<string, string>;
  timestamp: Date;
  /** 1 on first delivery, incremented on each retry. */
  attempt: number;
}

export type MessageHandler = (message: IncomingMessage) => Promise<void>;

export interface SubscriptionOptions {
  /** Durable queue of the consuming service, e.g. `auditoria.queue`. */
  queue: string;
  /** Topic patterns (`#` for everything, or full event names). */
  bindings: readonly string[];
  handler: MessageHandler;
  /** Deliveries before a message goes to `<queue>.dlq`. */
  maxAttempts: number;
  /** Delay before the first retry; doubles on each further retry. */
  retryDelayMs: number;
  prefetch?: number;
  /** A queue of one process: the broker deletes it (and its retry and dead-letter queues) this long after its last use. */
  expiresAfterMs?: number;
}

/** What declaring a consumer's queues needs, without consuming (the `migrate` step). */
export type QueueTopology = Pick<
  SubscriptionOptions,
  "queue" | "bindings" | "maxAttempts" | "retryDelayMs" | "expiresAfterMs"
>;

/** The event bus: RabbitMQ in real deployments, in-process in the embedded mode. */
export interface EventBus {
  /** Resolves once the broker has confirmed every message; rejects if any was not. */
  publish(messages: readonly OutgoingMessage[]): Promise<void>;
  /** Declares the queue, its bindings, retry and dead-letter queues, and consumes. */
  subscribe(options: SubscriptionOptions): Promise<void>;
  /**
   * Declares queues, bindings, retry and dead-letter queues without consuming, so events
   * published before a consumer first runs wait for it. Waits up to `waitMs` for the broker.
   */
  declare(topology: readonly QueueTopology[], waitMs?: number): Promise<void>;
  /** Calls `listener` on every (re)connection: the relay publishes what waited at once. */
  onConnected(listener: () => void): void;
  /** Removes and returns what sits in a queue's dead-letter queue (ops and tests). */
  takeDeadLetters(queue: string, max?: number): Promise<IncomingMessage[]>;
  /** Connected and able to publish. */
  healthy(): boolean;
  /** Messages waiting in a queue (its `.dlq` too), for metrics; undefined when it cannot tell now. */
  queueDepth?(queue: string): Promise<number | undefined>;
  /** Stops consuming, waits for handlers in flight, closes. */
  close(): Promise<void>;
}

export const EVENTS_EXCHANGE = "consorcio.events";

export function deadLetterQueue(queue: string): string {
  return `${queue}.dlq`;
}

export function retryDelay(options: Pick<QueueTopology, "retryDelayMs">, attempt: number): number {
  return options.retryDelayMs * 2 ** (attempt - 1);
}

/** AMQP topic matching: words split by `.`, `*` is one word, `#` is zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const match = (p: string[], k: string[]): boolean => {
    if (p.length === 0) return k.length === 0;
    const [head, ...rest] = p;
    if (head === "#") return match(rest, k) || (k.length > 0 && match(p, k.slice(1)));
    if (k.length === 0) return false;
    return (head === "*" || head === k[0]) && match(rest, k.slice(1));
  };
  return match(pattern.split("."), key.split("."));
}
