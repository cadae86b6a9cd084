// What grupos consumes: the financeiro and sorteios facts that change a cota's situation. Each
// handler runs in the inbox's transaction (a redelivery has no second effect) and the state
// machine makes a repeated fact a no-op.
import {
  CotaExcluidaSchema,
  InadimplenciaDetectadaSchema,
  InadimplenciaRegularizadaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  ContemplacaoCanceladaSchema,
  ContemplacaoProcessadaSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { type Clock, type ConsumerDefinition, type IncomingMessage, on } from "@consorcio/platform";
import type { Cotas, Origem } from "../cotas.ts";

const origemOf = (message: IncomingMessage): Origem => ({
  actor: message.headers.actor ?? "system",
  origemId: message.id,
});

export function consumers(queue: string, cotas: Cotas | undefined, clock: Clock): ConsumerDefinition[] {
  // `consumerTopology` builds this list with no dependencies, only to name the queue's bindings.
  const use = () => {
    if (!cotas) throw new Error("grupos consumers need their dependencies");
    return cotas;
  };
  return [
    {
      queue,
      handlers: [
        on(InadimplenciaDetectadaSchema, (uow, event, message) =>
          use().fromEvent(
            uow,
            { cotaId: event.cotaId, grupoId: event.grupoId, comando: { causa: "INADIMPLENCIA" } },
            origemOf(message),
            clock.now(),
          ),
        ),
        on(InadimplenciaRegularizadaSchema, (uow, event, message) =>
          use().fromEvent(
            uow,
            { cotaId: event.cotaId, grupoId: event.grupoId, comando: { causa: "REGULARIZACAO" } },
            origemOf(message),
            clock.now(),
          ),
        ),
        on(CotaExcluidaSchema, (uow, event, message) =>
          use().fromEvent(
            uow,
            { cotaId: event.cotaId, grupoId: event.grupoId, comando: { causa: "EXCLUSAO" } },
            origemOf(message),
            clock.now(),
          ),
        ),
        on(ContemplacaoProcessadaSchema, (uow, event, message) =>
          use().fromEvent(
            uow,
            {
              cotaId: event.cotaId,
              grupoId: event.grupoId,
              comando: {
                causa: "CONTEMPLACAO",
                contemplacaoId: event.contemplacaoId,
                restituicao: event.modalidade === Modalidade.RESTITUICAO,
              },
            },
            origemOf(message),
            clock.now(),
          ),
        ),
        on(ContemplacaoCanceladaSchema, (uow, event, message) =>
          use().fromEvent(
            uow,
            {
              cotaId: event.cotaId,
              grupoId: event.grupoId,
              comando: { causa: "CONTEMPLACAO_CANCELADA", contemplacaoId: event.contemplacaoId },
            },
            origemOf(message),
            clock.now(),
          ),
        ),
      ],
    },
  ];
}
