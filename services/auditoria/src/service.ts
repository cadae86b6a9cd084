import type { Registry } from "@bufbuild/protobuf";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import type { ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { auditConsumer } from "./events/consumer.ts";
import { loadContractRegistry } from "./events/registry.ts";
import { routes } from "./routes.ts";
import { entities } from "./store/entities.ts";

const env = z.object({
  /** The queue bound to every event (`#`). */
  AUDITORIA_QUEUE: z.string().min(1).default("auditoria.queue"),
  /**
   * Messages in flight at once. Appends take the chain head's lock one after the other, so more
   * only hold bodies (up to megabytes each) and database connections, waiting for it.
   */
  AUDITORIA_PREFETCH: z.coerce.number().int().min(1).max(64).default(4),
});

export const service: ServiceDefinition<typeof env, Registry> = {
  name: "auditoria",
  services: [AuditoriaService],
  env,
  entities,
  migrations,
  // Append-only for the service role too: it cannot update, delete, truncate or drop the trigger.
  grants: { audit_record: ["SELECT", "INSERT"] },
  prepare: () => loadContractRegistry(),
  routes: (router, context) => routes(router, context),
  // The clock is read per message: `migrate` builds this list from the configuration alone.
  consumers: (context, registry) => [
    auditConsumer(context.config.AUDITORIA_QUEUE, registry, context.config.AUDITORIA_PREFETCH, () =>
      context.clock.now(),
    ),
  ],
};
