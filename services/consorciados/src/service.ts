import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { parseKey, type ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { Consorciados, ERASURE_BATCH } from "./app/consorciados.ts";
import { PiiVault } from "./crypto/vault.ts";
import { Participacoes, participacaoConsumer } from "./events/participacoes.ts";
import { routes } from "./routes.ts";
import { entities } from "./store/entities.ts";

const env = z.object({
  /** Wraps each person's data key: 32 random bytes, base64. */
  PII_MASTER_KEY: z.string().min(1),
  /** Keys the blind indexes (CPF/CNPJ, name prefixes): 32 random bytes, base64. */
  PII_INDEX_KEY: z.string().min(1),
  /** When due anonymisations run (cron, UTC); ProcessDueErasures runs them on demand. */
  ERASURE_CRON: z.string().min(1).default("0 * * * *"),
  /** The queue of grupos' events that feed the participation history. */
  CONSORCIADOS_QUEUE: z.string().min(1).default("consorciados.queue"),
});

/** The scheduled job that shreds due personal data. */
export const ERASURE_JOB = "consorciados.anonimizacao";

interface Deps {
  consorciados: Consorciados;
  participacoes: Participacoes;
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "consorciados",
  services: [ConsorciadoService],
  env,
  entities,
  migrations,
  async prepare({ config, logger }) {
    const vault = new PiiVault(
      parseKey(config.PII_MASTER_KEY, "PII_MASTER_KEY"),
      parseKey(config.PII_INDEX_KEY, "PII_INDEX_KEY"),
    );
    return { consorciados: new Consorciados(vault), participacoes: new Participacoes(logger) };
  },
  routes: (router, context, { consorciados }) => routes(router, context, consorciados),
  consumers: ({ config }, deps) => [participacaoConsumer(config.CONSORCIADOS_QUEUE, deps?.participacoes)],
  jobs: ({ config, tx, logger }, { consorciados }) => [
    {
      name: ERASURE_JOB,
      schedule: { cron: config.ERASURE_CRON },
      async run({ now }) {
        let total = 0;
        for (;;) {
          const done = await tx.job((uow) => consorciados.anonymizeDue(uow, now));
          total += done;
          if (done < ERASURE_BATCH) break;
        }
        if (total > 0) logger.info({ anonimizados: total }, "due anonymisations done");
      },
    },
  ],
};
