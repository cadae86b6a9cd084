import type { Registry } from "@bufbuild/protobuf";
import type { ConsumerDefinition } from "@consorcio/platform";
import { append, describe } from "../app/audit-log.ts";

/**
 * Every event on the bus, and the platform's call records, become chained audit records,
 * stamped with the service clock's time (`now` is read per message).
 */
export function auditConsumer(
  queue: string,
  registry: Registry,
  prefetch: number,
  now: () => Date,
): ConsumerDefinition {
  return {
    queue,
    handlers: [],
    bindAll: true,
    fallback: ({ em }, message) => append(em, describe(message, registry), now()),
    prefetch,
  };
}
