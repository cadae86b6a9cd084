// Protobuf messages <-> the domain types: the only place (with routes.ts) that knows the contract.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  UsuarioKind,
  type Usuario as UsuarioMessage,
  UsuarioSchema,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { roleFromName, roleName } from "@consorcio/platform";
import type { Kind, RoleName } from "./domain/accounts.ts";
import type { Usuario } from "./domain/usuario.ts";

/** UNSPECIFIED is undefined: no kind asked for. */
export function kindName(kind: UsuarioKind): Kind | undefined {
  const name = UsuarioKind[kind];
  return name === "UNSPECIFIED" ? undefined : (name as Kind | undefined);
}

export function roleNames(roles: readonly Role[]): RoleName[] {
  return roles.map((role) => roleName(role) as RoleName);
}

export function toMessage(usuario: Usuario): UsuarioMessage {
  return create(UsuarioSchema, {
    id: usuario.id,
    username: usuario.username,
    kind: UsuarioKind[usuario.kind],
    roles: usuario.roles.flatMap((name) => roleFromName(name) ?? []),
    consorciadoId: usuario.consorciadoId ?? "",
    scopes: usuario.scopes,
    disabled: usuario.status === "DESATIVADO",
    locked: usuario.locked,
    mfaEnabled: usuario.mfaEnabled,
    createTime: timestampFromDate(usuario.createdAt),
    updateTime: timestampFromDate(usuario.updatedAt),
    version: usuario.version,
  });
}
