import { AsyncLocalStorage } from "node:async_hooks";
import {
  deadLetterQueue,
  type EventBus,
  type IncomingMessage,
  type OutgoingMessage,
  retryDelay,
  type SubscriptionOptions,
  topicMatches,
} from "./bus.ts";
import type { Logger } from "./logging.ts";

interface Queue {
  options: SubscriptionOptions;
  /**
   * Runs the handler in the async context of the subscriber, not the publisher's:
   * the publisher is inside its own database transaction, which async-context-aware
   * libraries (the ORM) would otherwise carry into the consumer.
   */
  inSubscriberContext: <R>(fn: () => R) => R;
  /** Deliveries run one at a time per queue, like a prefetch of 1. */
  tail: Promise<void>;
  /** Deliveries queued and not yet handled (the queue's depth). */
  pending: number;
}

/**
 * In-process event bus for the embedded mode (`npm start`): the same topic
 * routing, retries and dead-lettering as RabbitMQ, without durability across a
 * process restart (the outbox still holds what was not yet published).
 */
export function createMemoryBus(logger: Logger): EventBus {
  const queues = new Map<string, Queue>();
  /** Declared queues with no consumer yet: what they receive waits here for their first subscriber. */
  const waiting = new Map<string, { bindings: readonly string[]; messages: IncomingMessage[] }>();
  const deadLetters = new Map<string, IncomingMessage[]>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const deliver = (queue: Queue, message: IncomingMessage): void => {
    queue.pending++;
    queue.tail = queue.tail.then(async () => {
      queue.pending--;
      if (closed) return;
      try {
        await queue.inSubscriberContext(() => queue.options.handler(message));
      } catch (error) {
        const { maxAttempts } = queue.options;
        if (message.attempt >= maxAttempts) {
          logger.error(
            { err: error, queue: queue.options.queue, messageId: message.id },
            "message dead-lettered",
          );
          const dlq = deadLetterQueue(queue.options.queue);
          deadLetters.set(dlq, [...(deadLetters.get(dlq) ?? []), message]);
          return;
        }
        logger.warn(
          { err: error, queue: queue.options.queue, attempt: message.attempt },
          "message retry scheduled",
        );
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            deliver(queue, { ...message, attempt: message.attempt + 1 });
          },
          retryDelay(queue.options, message.attempt),
        );
        timers.add(timer);
      }
    });
  };

  return {
    async publish(messages: readonly OutgoingMessage[]) {
      if (closed) throw new Error("event bus closed");
      const routes = (bindings: readonly string[], key: string) =>
        bindings.some((pattern) => topicMatches(pattern, key));
      for (const message of messages) {
        const copy = () => ({
          ...message,
          body: message.body.slice(),
          headers: { ...message.headers },
          attempt: 1,
        });
        for (const queue of queues.values()) {
          if (routes(queue.options.bindings, message.routingKey)) deliver(queue, copy());
        }
        for (const queue of waiting.values()) {
          if (routes(queue.bindings, message.routingKey)) queue.messages.push(copy());
        }
      }
    },
    async subscribe(options) {
      if (queues.has(options.queue)) throw new Error(`queue ${options.queue} already has a consumer`);
      const queue: Queue = {
        options,
        inSubscriberContext: AsyncLocalStorage.snapshot(),
        tail: Promise.resolve(),
        pending: 0,
      };
      queues.set(options.queue, queue);
      for (const message of waiting.get(options.queue)?.messages ?? []) deliver(queue, message);
      waiting.delete(options.queue);
    },
    async declare(topology) {
      for (const { queue, bindings } of topology) {
        if (!queues.has(queue) && !waiting.has(queue)) waiting.set(queue, { bindings, messages: [] });
      }
    },
    onConnected() {
      // Always connected.
    },
    async takeDeadLetters(queue, max = 100) {
      const dlq = deadLetterQueue(queue);
      const all = deadLetters.get(dlq) ?? [];
      deadLetters.set(dlq, all.slice(max));
      return all.slice(0, max);
    },
    healthy: () => !closed,
    async queueDepth(queue) {
      const dead = deadLetters.get(queue);
      if (dead) return dead.length;
      if (queue.endsWith(".dlq")) return 0;
      return queues.get(queue)?.pending ?? waiting.get(queue)?.messages.length;
    },
    async close() {
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      await Promise.all([...queues.values()].map((queue) => queue.tail));
    },
  };
}
