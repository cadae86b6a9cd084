import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { parseKey, type ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { Consorciados } from "./consorciados.ts";
import { routes } from "./routes.ts";
import { entities, migrations } from "./store/entities.ts";
import { PiiVault } from "./store/vault.ts";

const env = z.object({
  /** Wraps each person's data key: 32 random bytes, base64. */
  PII_MASTER_KEY: z.string().min(1),
  /** Keys the blind indexes (CPF/CNPJ, name prefixes): 32 random bytes, base64. */
  PII_INDEX_KEY: z.string().min(1),
  /** How often due anonymisations run, in seconds (0: only through ProcessDueErasures). */
  ERASURE_INTERVAL_SECONDS: z.coerce.number().int().min(0).default(3600),
});

interface Deps {
  consorciados: Consorciados;
  timer?: NodeJS.Timeout;
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "consorciados",
  services: [ConsorciadoService],
  env,
  entities,
  migrations,
  async prepare({ config }) {
    const vault = new PiiVault(
      parseKey(config.PII_MASTER_KEY, "PII_MASTER_KEY"),
      parseKey(config.PII_INDEX_KEY, "PII_INDEX_KEY"),
    );
    return { consorciados: new Consorciados(vault) };
  },
  routes: (router, context, { consorciados }) => routes(router, context, consorciados),
  async onStart({ config, tx, logger }, deps) {
    if (config.ERASURE_INTERVAL_SECONDS === 0) return;
    const run = async () => {
      const done = await tx.job((uow) => deps.consorciados.anonymizeDue(uow, new Date()));
      if (done > 0) logger.info({ anonimizados: done }, "due anonymisations done");
    };
    deps.timer = setInterval(
      () => void run().catch((error) => logger.error({ err: error }, "anonymisation run failed")),
      config.ERASURE_INTERVAL_SECONDS * 1000,
    );
    deps.timer.unref();
  },
  onStop: async ({ timer }) => clearInterval(timer),
};
