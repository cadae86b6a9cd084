import type { Registry } from "@bufbuild/protobuf";
import type { ConsumerDefinition } from "@consorcio/platform";
import { append, describe } from "../audit-log.ts";

/** Every event on the bus, and the platform's call records, become chained audit records. */
export function auditConsumer(queue: string, registry: Registry, prefetch: number): ConsumerDefinition {
  return {
    queue,
    handlers: [],
    bindAll: true,
    fallback: ({ em }, message) => append(em, describe(message, registry)),
    prefetch,
  };
}
