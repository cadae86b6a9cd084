// The domain events of the use cases as the integration events other services read.
import { create } from "@bufbuild/protobuf";
import {
  Canal,
  ConsentimentoAlteradoSchema,
  ConsorciadoAtualizadoSchema,
  ConsorciadoCriadoSchema,
  DadosAnonimizadosSchema,
  Finalidade,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import type { UnitOfWork } from "@consorcio/platform";
import type { ConsorciadoEvent } from "../domain/status.ts";
import { statusToMessage, tipoToMessage } from "../mapping.ts";

export function publish(uow: UnitOfWork, consorciadoId: string, events: readonly ConsorciadoEvent[]): void {
  for (const event of events) {
    switch (event.type) {
      case "ConsorciadoCriado":
        uow.publish(
          ConsorciadoCriadoSchema,
          create(ConsorciadoCriadoSchema, { consorciadoId, tipo: tipoToMessage(event.tipo) }),
        );
        break;
      case "ConsorciadoAtualizado":
        uow.publish(
          ConsorciadoAtualizadoSchema,
          create(ConsorciadoAtualizadoSchema, {
            consorciadoId,
            campos: event.campos,
            ...(event.status ? { status: statusToMessage(event.status) } : {}),
          }),
        );
        break;
      case "DadosAnonimizados":
        uow.publish(DadosAnonimizadosSchema, create(DadosAnonimizadosSchema, { consorciadoId }));
        break;
      case "ConsentimentoAlterado":
        uow.publish(
          ConsentimentoAlteradoSchema,
          create(ConsentimentoAlteradoSchema, {
            consorciadoId,
            finalidade: Finalidade[event.finalidade as keyof typeof Finalidade],
            concedido: event.concedido,
            canal: Canal[event.canal as keyof typeof Canal],
          }),
        );
        break;
    }
  }
}
