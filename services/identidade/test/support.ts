import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioKind } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import type { RoleTokens } from "@consorcio/testkit";

const STAFF = [Role.ADMIN, Role.GERENTE, Role.OPERADOR, Role.FINANCEIRO, Role.AUDITOR];

/**
 * Real identidade tokens, one per role: staff and consorciado accounts log in, partner and
 * service clients take the client-credentials grant.
 */
export async function identidadeTokensForEveryRole(
  url: string,
  adminToken: string,
  consorciadoId: string,
): Promise<RoleTokens> {
  const transport = createConnectTransport({ baseUrl: url, httpVersion: "2" });
  const auth = createClient(AuthService, transport);
  const usuarios = createClient(UsuarioService, transport);
  const admin = { headers: { authorization: `Bearer ${adminToken}` } };
  const tokens = new Map<Role, string>();
  const person = async (role: Role, kind: UsuarioKind, extra: { consorciadoId?: string } = {}) => {
    const username = `r${role}-${randomUUID().slice(0, 8)}`;
    const password = `Senha forte ${randomUUID()}`;
    await usuarios.createUsuario({ username, kind, roles: [role], password, ...extra }, admin);
    tokens.set(role, (await auth.login({ username, password })).accessToken);
  };
  const client = async (role: Role, kind: UsuarioKind) => {
    const username = `c${role}-${randomUUID().slice(0, 8)}`;
    const { clientSecret } = await usuarios.createUsuario({ username, kind, roles: [role] }, admin);
    const grant = { grantType: "client_credentials", clientId: username, clientSecret, scope: "" };
    tokens.set(role, (await auth.token(grant)).accessToken);
  };
  for (const role of STAFF) await person(role, UsuarioKind.STAFF);
  await person(Role.CONSORCIADO, UsuarioKind.CONSORCIADO, { consorciadoId });
  await client(Role.PARCEIRO, UsuarioKind.PARCEIRO);
  await client(Role.SERVICE, UsuarioKind.SERVICE);
  return { tokens, consorciadoId };
}
