import amqp, {
  type Channel,
  type ChannelModel,
  type ConfirmChannel,
  type ConsumeMessage,
  type Message,
} from "amqplib";
import {
  deadLetterQueue,
  EVENTS_EXCHANGE,
  type EventBus,
  type IncomingMessage,
  type OutgoingMessage,
  type QueueTopology,
  retryDelay,
  type SubscriptionOptions,
} from "./bus.ts";
import type { Logger } from "./logging.ts";

const PUBLISH_WAIT_MS = 5_000;

function retryQueue(options: QueueTopology, attempt: number): string {
  return `${options.queue}.retry.${retryDelay(options, attempt)}ms`;
}

function headerString(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number") return String(value);
  return undefined;
}

function toIncoming(msg: Message): IncomingMessage {
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(msg.properties.headers ?? {})) {
    const text = headerString(value);
    if (text !== undefined && !key.startsWith("x-")) headers[key] = text;
  }
  const attempt = Number(headerString(msg.properties.headers?.["x-attempt"]) ?? "1");
  return {
    id: String(msg.properties.messageId ?? ""),
    type: String(msg.properties.type ?? msg.fields.routingKey),
    body: new Uint8Array(msg.content),
    headers,
    timestamp: new Date(Number(msg.properties.timestamp ?? 0) * 1000),
    attempt: Number.isInteger(attempt) && attempt > 0 ? attempt : 1,
  };
}

/**
 * RabbitMQ event bus: topic exchange `consorcio.events`, durable queues, publisher
 * confirms, per-attempt delay queues and a dead-letter queue per consumer. The
 * connection recovers by itself and re-declares the topology and consumers.
 */
export async function connectRabbitMqBus(options: {
  url: string;
  logger: Logger;
  /**
   * Waits this long for the first connection before returning (default 10 s, so callers find
   * their queues declared); the bus works either way, connecting in the background.
   */
  waitForConnectMs?: number;
}): Promise<EventBus> {
  const { logger } = options;
  const subscriptions: SubscriptionOptions[] = [];
  let publisher: ConfirmChannel | undefined;
  let consumers: Array<{ channel: Channel; tag: string }> = [];
  let connected = false;
  let closing = false;
  let inFlight = 0;
  let onConnected: Array<() => void> = [];
  const connectListeners: Array<() => void> = [];
  let everConnected = false;

  const declareConsumer = async (
    model: Pick<ChannelModel, "createChannel">,
    sub: SubscriptionOptions,
  ): Promise<{ channel: Channel; tag: string }> => {
    const channel = await model.createChannel();
    await channel.prefetch(sub.prefetch ?? 16);
    await declareQueues(channel, sub);
    const { consumerTag } = await channel.consume(sub.queue, (msg) => {
      if (msg) void handle(channel, sub, msg);
    });
    return { channel, tag: consumerTag };
  };

  /** The queue, its bindings, its delay queues and its dead-letter queue (idempotent). */
  const declareQueues = async (channel: Channel, sub: QueueTopology): Promise<void> => {
    const expiry = sub.expiresAfterMs ? { "x-expires": sub.expiresAfterMs } : {};
    await channel.assertQueue(sub.queue, { durable: true, arguments: expiry });
    for (const pattern of sub.bindings) await channel.bindQueue(sub.queue, EVENTS_EXCHANGE, pattern);
    for (let attempt = 1; attempt < sub.maxAttempts; attempt++) {
      await channel.assertQueue(retryQueue(sub, attempt), {
        durable: true,
        arguments: {
          "x-message-ttl": retryDelay(sub, attempt),
          "x-dead-letter-exchange": "",
          "x-dead-letter-routing-key": sub.queue,
          ...expiry,
        },
      });
    }
    await channel.assertQueue(deadLetterQueue(sub.queue), { durable: true, arguments: expiry });
  };

  const handle = async (channel: Channel, sub: SubscriptionOptions, msg: ConsumeMessage): Promise<void> => {
    inFlight++;
    const incoming = toIncoming(msg);
    try {
      await sub.handler(incoming);
      channel.ack(msg);
    } catch (error) {
      const exhausted = incoming.attempt >= sub.maxAttempts;
      const target = exhausted ? deadLetterQueue(sub.queue) : retryQueue(sub, incoming.attempt);
      const log = { err: error, queue: sub.queue, messageId: incoming.id, attempt: incoming.attempt };
      if (exhausted) logger.error(log, "message dead-lettered");
      else logger.warn(log, "message retry scheduled");
      try {
        const ch = await publisherChannel();
        ch.sendToQueue(target, msg.content, {
          ...msg.properties,
          persistent: true,
          headers: {
            ...msg.properties.headers,
            "x-attempt": String(exhausted ? incoming.attempt : incoming.attempt + 1),
            "x-last-error": String((error as Error)?.message ?? error).slice(0, 500),
          },
        });
        await ch.waitForConfirms();
        channel.ack(msg);
      } catch (republishError) {
        // Not acked: the broker redelivers it (the inbox makes that harmless).
        logger.error({ err: republishError, queue: sub.queue }, "could not schedule retry");
        try {
          channel.nack(msg, false, true);
        } catch {
          // channel already gone; the broker requeues unacked messages itself
        }
      }
    } finally {
      inFlight--;
    }
  };

  // A broker outage degrades the service, never stops it: the first connection is made in the
  // background too, retried for ever; meanwhile the relay leaves rows in the outbox.
  const connection = await amqp.connect(options.url, {
    recovery: {
      waitForConnect: false,
      initialDelay: 200,
      maxDelay: 5_000,
      initialMaxRetries: Number.POSITIVE_INFINITY,
      maxRetries: Number.POSITIVE_INFINITY,
      async setup(model: ChannelModel) {
        const channel = await model.createConfirmChannel();
        await channel.assertExchange(EVENTS_EXCHANGE, "topic", { durable: true });
        const declared: Array<{ channel: Channel; tag: string }> = [];
        for (const sub of subscriptions) declared.push(await declareConsumer(model, sub));
        publisher = channel;
        consumers = declared;
        connected = true;
        if (!everConnected) logger.info("broker connected");
        everConnected = true;
        const waiting = onConnected;
        onConnected = [];
        for (const resolve of waiting) resolve();
        for (const listener of connectListeners) listener();
      },
    },
  });
  connection.on("disconnect", (error: Error) => {
    connected = false;
    publisher = undefined;
    consumers = [];
    if (!closing) logger.warn({ err: error }, "broker connection lost, reconnecting");
  });
  connection.on("connect-failed", (error: Error) => {
    if (!everConnected) logger.warn({ err: error }, "broker unreachable, retrying in the background");
  });
  connection.on("error", (error: Error) => logger.warn({ err: error }, "broker connection error"));
  connection.on("handler-error", (error: Error) => logger.error({ err: error }, "broker listener failed"));

  const connectedWithin = async (waitMs: number): Promise<void> => {
    if (connected) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("broker unavailable")), waitMs);
      onConnected.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  const publisherChannel = async (): Promise<ConfirmChannel> => {
    await connectedWithin(PUBLISH_WAIT_MS);
    if (!publisher) throw new Error("broker unavailable");
    return publisher;
  };

  // Metrics' own channel: checkQueue on a missing queue closes its channel, never the publisher's.
  let checker: Promise<Channel> | undefined;
  const checkChannel = () => {
    checker ??= connection.createChannel().then((channel: Channel) => {
      const forget = () => {
        checker = undefined;
      };
      channel.on("error", forget);
      channel.on("close", forget);
      return channel;
    });
    checker.catch(() => {
      checker = undefined;
    });
    return checker;
  };

  const waitMs = options.waitForConnectMs ?? 10_000;
  if (waitMs > 0) {
    await connectedWithin(waitMs).catch(() =>
      logger.warn({ waitedMs: waitMs }, "starting without the broker"),
    );
  }

  return {
    async publish(messages: readonly OutgoingMessage[]) {
      if (messages.length === 0) return;
      const channel = await publisherChannel();
      for (const message of messages) {
        channel.publish(EVENTS_EXCHANGE, message.routingKey, Buffer.from(message.body), {
          persistent: true,
          messageId: message.id,
          type: message.type,
          timestamp: Math.floor(message.timestamp.getTime() / 1000),
          contentType: "application/x-protobuf",
          ...(message.headers["correlation-id"] ? { correlationId: message.headers["correlation-id"] } : {}),
          headers: message.headers,
        });
      }
      await channel.waitForConfirms();
    },
    async subscribe(sub) {
      if (subscriptions.some((existing) => existing.queue === sub.queue)) {
        throw new Error(`queue ${sub.queue} already has a consumer`);
      }
      subscriptions.push(sub);
      // Later reconnects re-run setup for every subscription.
      if (connected) consumers.push(await declareConsumer(connection, sub));
    },
    async takeDeadLetters(queue, max = 100) {
      const channel = await publisherChannel();
      const taken: IncomingMessage[] = [];
      while (taken.length < max) {
        const msg = await channel.get(deadLetterQueue(queue), { noAck: false });
        if (!msg) break;
        taken.push(toIncoming(msg));
        channel.ack(msg);
      }
      return taken;
    },
    async declare(topology, waitMs = 30_000) {
      await connectedWithin(waitMs);
      const channel = await connection.createChannel();
      try {
        for (const queue of topology) await declareQueues(channel, queue);
      } finally {
        await channel.close().catch(() => undefined);
      }
    },
    onConnected(listener) {
      connectListeners.push(listener);
    },
    healthy: () => connected && !closing,
    async queueDepth(queue) {
      if (!connected || closing) return undefined;
      try {
        return (await (await checkChannel()).checkQueue(queue)).messageCount;
      } catch {
        return undefined;
      }
    },
    async close() {
      closing = true;
      await Promise.all(consumers.map(({ channel, tag }) => channel.cancel(tag).catch(() => undefined)));
      const deadline = Date.now() + 5_000;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await connection.close().catch(() => undefined);
    },
  };
}
