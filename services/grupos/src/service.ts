import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { CotaAderidaSchema, GrupoAtivadoSchema } from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import type { ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { Cotas } from "./cotas.ts";
import { consumers } from "./events/consumers.ts";
import { Grupos } from "./grupos.ts";
import { routes } from "./routes.ts";
import { entities } from "./store/entities.ts";

const env = z.object({
  /** The queue of the financeiro and sorteios events that change a cota's situation. */
  GRUPOS_QUEUE: z.string().min(1).default("grupos.queue"),
});

interface Deps {
  grupos: Grupos;
  cotas: Cotas;
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "grupos",
  services: [GrupoService, CotaService],
  calls: [ConsorciadoService],
  env,
  entities,
  migrations,
  async prepare({ logger, metrics }) {
    metrics.countEvents(CotaAderidaSchema, "consorcio_adesoes_total", "Cotas aderidas.");
    metrics.countEvents(GrupoAtivadoSchema, "consorcio_grupos_ativados_total", "Grupos ativados.");
    return { grupos: new Grupos(), cotas: new Cotas(logger) };
  },
  routes: (router, context, { grupos, cotas }) => routes(router, context, grupos, cotas),
  consumers: ({ config, clock }, deps) => consumers(config.GRUPOS_QUEUE, deps?.cotas, clock),
};
