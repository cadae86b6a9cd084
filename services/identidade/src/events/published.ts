// The domain events of the use cases as the integration events other services read.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  LoginBloqueadoSchema,
  LoginFalhou_Reason,
  LoginFalhouSchema,
  UsuarioCriadoSchema,
  UsuarioDesativadoSchema,
  UsuarioKind,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { roleFromName, type UnitOfWork } from "@consorcio/platform";
import type { LoginFailureReason, UsuarioEvent } from "../domain/usuario.ts";

export function publish(uow: UnitOfWork, usuarioId: string, events: readonly UsuarioEvent[]): void {
  for (const event of events) {
    switch (event.type) {
      case "UsuarioCriado":
        uow.publish(
          UsuarioCriadoSchema,
          create(UsuarioCriadoSchema, {
            usuarioId,
            kind: UsuarioKind[event.kind],
            roles: event.roles.flatMap((name) => roleFromName(name) ?? []),
            consorciadoId: event.consorciadoId,
          }),
        );
        break;
      case "UsuarioDesativado":
        uow.publish(UsuarioDesativadoSchema, create(UsuarioDesativadoSchema, { usuarioId }));
        break;
    }
  }
}

export function publishLoginFalhou(
  uow: UnitOfWork,
  failure: { usuarioId: string; reason: LoginFailureReason; clientIp: string },
): void {
  uow.publish(
    LoginFalhouSchema,
    create(LoginFalhouSchema, { ...failure, reason: LoginFalhou_Reason[failure.reason] }),
  );
}

/** Never the client address or the username typed: the source's keyed hash only. */
export function publishLoginBloqueado(
  uow: UnitOfWork,
  hold: { usuarioId: string; sourceKey: string; heldUntil: Date; failures: number },
): void {
  uow.publish(
    LoginBloqueadoSchema,
    create(LoginBloqueadoSchema, {
      usuarioId: hold.usuarioId,
      sourceKey: hold.sourceKey,
      endTime: timestampFromDate(hold.heldUntil),
      failures: hold.failures,
    }),
  );
}
