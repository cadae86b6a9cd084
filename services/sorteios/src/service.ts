import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { AssembleiaService } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import {
  ContemplacaoProcessadaSchema,
  LanceRegistradoSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { LanceService } from "@consorcio/gen/consorcio/sorteios/v1/lance_service_pb.js";
import { SorteioService } from "@consorcio/gen/consorcio/sorteios/v1/sorteio_service_pb.js";
import type { ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { Agenda } from "./agenda.ts";
import { AssembleiaUseCases } from "./assembleias.ts";
import { JanelaUseCases } from "./janela.ts";
import { LanceUseCases } from "./lances.ts";
import { PEER_SERVICES, Peers } from "./peers.ts";
import { routes } from "./routes.ts";
import { Saga, sagaConsumer } from "./saga.ts";
import { entities } from "./store/entities.ts";

const env = z.object({
  /** The queue of the saga's events (and grupos' GrupoCriado/GrupoAtivado). */
  SORTEIOS_QUEUE: z.string().min(1).default("sorteios.queue"),
  /** When assembleias are scheduled from the cronogramas (cron, UTC). */
  AGENDAMENTO_CRON: z.string().min(1).default("15 * * * *"),
  /** How far ahead assembleias are scheduled. */
  AGENDAMENTO_HORIZONTE_DIAS: z.coerce.number().int().min(1).max(400).default(45),
  /** When the lance windows are opened and closed by the clock (cron, UTC). */
  JANELA_LANCES_CRON: z.string().min(1).default("*/15 * * * *"),
  /** Days before the assembleia its lance window opens. */
  LANCES_ABERTURA_DIAS: z.coerce.number().int().min(0).max(60).default(10),
  /** Days before the assembleia its lance window closes (0: on the assembleia's day). */
  LANCES_ENCERRAMENTO_DIAS: z.coerce.number().int().min(0).max(60).default(1),
});

/** The scheduled job that creates assembleias from the grupos' cronogramas. */
export const AGENDAMENTO_JOB = "sorteios.agendamento";
/** The scheduled job that opens and closes the lance windows by the date. */
export const JANELA_LANCES_JOB = "sorteios.janela-lances";

interface Deps {
  assembleias: AssembleiaUseCases;
  lances: LanceUseCases;
  saga: Saga;
  agenda: Agenda;
  janela: JanelaUseCases;
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "sorteios",
  services: [SorteioService, AssembleiaService, LanceService],
  calls: PEER_SERVICES,
  env,
  entities,
  migrations,
  async prepare({ clients, clock, config, metrics }) {
    metrics.countEvents(LanceRegistradoSchema, "consorcio_lances_total", "Lances registrados, por tipo.", {
      names: ["tipo"],
      of: (e) => ({ tipo: TipoLance[e.tipo] ?? "unknown" }),
    });
    metrics.countEvents(
      ContemplacaoProcessadaSchema,
      "consorcio_contemplacoes_total",
      "Contemplações, por modalidade.",
      { names: ["modalidade"], of: (e) => ({ modalidade: Modalidade[e.modalidade] ?? "unknown" }) },
    );
    const peers = new Peers(clients);
    const assembleias = new AssembleiaUseCases(peers);
    const janela = {
      aberturaDias: config.LANCES_ABERTURA_DIAS,
      encerramentoDias: config.LANCES_ENCERRAMENTO_DIAS,
    };
    return {
      assembleias,
      lances: new LanceUseCases(peers, janela, clock),
      saga: new Saga(assembleias, peers, clock),
      agenda: new Agenda(assembleias, peers, config.AGENDAMENTO_HORIZONTE_DIAS),
      janela: new JanelaUseCases(janela),
    };
  },
  routes: (router, context, deps) => routes(router, context, deps.assembleias, deps.lances),
  consumers: ({ config, clock }, deps) => [
    sagaConsumer(
      config.SORTEIOS_QUEUE,
      () => deps.saga,
      () => deps.agenda,
      () => clock,
    ),
  ],
  jobs: ({ config, tx, logger }, { agenda, janela }) => [
    {
      name: AGENDAMENTO_JOB,
      schedule: { cron: config.AGENDAMENTO_CRON },
      async run({ now }) {
        const novas = await agenda.agendarTodos(tx, logger, now);
        if (novas > 0) logger.info({ novas }, "assembleias scheduled");
      },
    },
    {
      name: JANELA_LANCES_JOB,
      schedule: { cron: config.JANELA_LANCES_CRON },
      async run({ now }) {
        const { abertas, encerradas } = await janela.run(tx, now);
        if (abertas.length + encerradas.length > 0)
          logger.info({ abertas: abertas.length, encerradas: encerradas.length }, "lance windows moved");
      },
    },
  ],
};
