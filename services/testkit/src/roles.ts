import { randomUUID } from "node:crypto";
import { type AddressInfo, createServer } from "node:net";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import type { createTestIssuer } from "@consorcio/platform/testing.ts";

export type TestIssuer = Awaited<ReturnType<typeof createTestIssuer>>;

/** Every role a caller can hold, in the contract's order. */
export const ALL_ROLES: readonly Role[] = [
  Role.ADMIN,
  Role.GERENTE,
  Role.OPERADOR,
  Role.FINANCEIRO,
  Role.AUDITOR,
  Role.CONSORCIADO,
  Role.PARCEIRO,
  Role.SERVICE,
];

export interface RoleTokens {
  /** One token per role, each holding that role only. */
  tokens: ReadonlyMap<Role, string>;
  /** The consorciado the CONSORCIADO token belongs to. */
  consorciadoId: string;
}

/** A token of `issuer` for each role; the CONSORCIADO one names `consorciadoId` (random unless given). */
export async function tokensForEveryRole(
  issuer: TestIssuer,
  options: { consorciadoId?: string } = {},
): Promise<RoleTokens> {
  const consorciadoId = options.consorciadoId ?? randomUUID();
  const tokens = new Map<Role, string>();
  for (const role of ALL_ROLES) {
    tokens.set(
      role,
      await issuer.token({ roles: [role], ...(role === Role.CONSORCIADO ? { consorciadoId } : {}) }),
    );
  }
  return { tokens, consorciadoId };
}

/** A port nothing listens on now, for a service whose address others must know before it starts. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
