import { type DescMessage, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import type { IncomingMessage, MessageHandler } from "./bus.ts";
import type { Logger } from "./logging.ts";
import type { Transactions, UnitOfWork } from "./unit-of-work.ts";

/**
 * Handles one event type with the same unit of work as an RPC handler: its effect, the
 * inbox row and the events it publishes (the next step of a saga) commit together.
 */
export interface EventHandler<Desc extends DescMessage = DescMessage> {
  schema: Desc;
  handle(uow: UnitOfWork, event: MessageShape<Desc>, message: IncomingMessage): Promise<void>;
}

export function on<Desc extends DescMessage>(
  schema: Desc,
  handle: (uow: UnitOfWork, event: MessageShape<Desc>, message: IncomingMessage) => Promise<void>,
): EventHandler {
  return { schema, handle } as unknown as EventHandler;
}

export interface ConsumerDefinition {
  /** Durable queue, `<service>.queue` by convention. */
  queue: string;
  /** Event handlers by type; also the queue's bindings unless `bindAll`. */
  handlers: readonly EventHandler[];
  /** Bind `#` and hand events with no typed handler to `fallback` (auditoria). */
  bindAll?: boolean;
  fallback?: (uow: UnitOfWork, message: IncomingMessage) => Promise<void>;
  /** Deliveries in flight at once (the bus's default otherwise): each holds its body and a connection. */
  prefetch?: number;
}

/**
 * Wraps handlers with the inbox: the message id is recorded in the same
 * transaction as the effect, so a redelivered message has no second effect, and
 * the bus acks only after that transaction committed.
 */
export function inboxHandler(
  tx: Transactions,
  definition: ConsumerDefinition,
  logger: Logger,
): MessageHandler {
  const byType = new Map(definition.handlers.map((handler) => [handler.schema.typeName, handler]));
  return async (message) => {
    if (!message.id) {
      logger.error({ queue: definition.queue, type: message.type }, "message without id discarded");
      return;
    }
    const handler = byType.get(message.type);
    if (!handler && !definition.fallback) return;
    await tx.consume(message, async (uow) => {
      const inserted = await uow.em.execute<{ message_id: string }[]>(
        `insert into platform_inbox (consumer, message_id, event_type) values (?, ?, ?)
         on conflict do nothing returning message_id`,
        [definition.queue, message.id, message.type],
      );
      if (inserted.length === 0) return; // already applied
      if (handler) await handler.handle(uow, fromBinary(handler.schema, message.body), message);
      else await definition.fallback?.(uow, message);
    });
  };
}

export function consumerBindings(definition: ConsumerDefinition): string[] {
  return definition.bindAll ? ["#"] : definition.handlers.map((handler) => handler.schema.typeName);
}
