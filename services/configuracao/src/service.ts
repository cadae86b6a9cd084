import { ConfiguracaoService } from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import { ConfigError, type ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { Configuracao } from "./configuracao.ts";
import { routes } from "./routes.ts";
import { entities } from "./store/entities.ts";
import { createWatchHub, type WatchHub } from "./watch.ts";

const env = z.object({
  /** How long a read-through cache entry lives; changes also drop it at once. */
  CACHE_TTL_SECONDS: z.coerce.number().int().min(1).max(86_400).default(300),
  /**
   * Silence after which a Watch stream gets a heartbeat: below SERVER_IDLE_TIMEOUT_MS (a silent
   * HTTP/1.1 socket is closed after it) and below the idle timeouts of the proxies on the way.
   */
  WATCH_HEARTBEAT_MS: z.coerce.number().int().min(50).default(15_000),
  /** How often a replica looks for changes committed elsewhere when no event told it (broker outage). */
  WATCH_POLL_MS: z.coerce.number().int().min(50).default(5_000),
  /** Watch streams one replica holds open at most. */
  WATCH_MAX_STREAMS: z.coerce.number().int().min(1).default(1_000),
});

interface Deps {
  configuracao: Configuracao;
  hub: WatchHub;
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "configuracao",
  services: [ConfiguracaoService],
  env,
  entities,
  migrations,
  async prepare({ cache, clock, db, logger, config }) {
    if (config.WATCH_HEARTBEAT_MS >= config.SERVER_IDLE_TIMEOUT_MS)
      throw new ConfigError(
        `invalid configuration for configuracao:\n  WATCH_HEARTBEAT_MS: must be below SERVER_IDLE_TIMEOUT_MS (${config.SERVER_IDLE_TIMEOUT_MS}), or idle streams are cut`,
      );
    const configuracao = new Configuracao({ cache, clock, ttlSeconds: config.CACHE_TTL_SECONDS });
    const hub = createWatchHub({
      db,
      logger,
      pollMs: config.WATCH_POLL_MS,
      // Every replica drops the entry too: a read that raced the writer's own drop is dropped again.
      onChange: (change) => configuracao.invalidate([change]),
    });
    return { configuracao, hub };
  },
  routes: (router, context, { configuracao, hub }) =>
    routes(router, context, configuracao, hub, {
      heartbeatMs: context.config.WATCH_HEARTBEAT_MS,
      maxStreams: context.config.WATCH_MAX_STREAMS,
    }),
  async onStart({ bus }, { hub }) {
    await hub.start();
    await bus.subscribe(hub.subscription("configuracao"));
  },
  async onStop({ hub }) {
    hub.close();
  },
};
