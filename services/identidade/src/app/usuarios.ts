// Account administration: create, read, list, update roles, disable, reset, unlock. The use cases
// take and return domain types; routes.ts and mapping.ts speak protobuf.
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import type { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import {
  AlreadyExistsError,
  ConflictError,
  decodePageToken,
  InvalidArgumentError,
  NotFoundError,
  page,
  randomSecret,
  type UnitOfWork,
} from "@consorcio/platform";
import type { InferEntity } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import {
  accountViolations,
  isClient,
  type Kind,
  passwordViolations,
  type RoleName,
  rolesViolations,
} from "../domain/accounts.ts";
import { statusOf, transition, type Usuario as UsuarioView } from "../domain/usuario.ts";
import { publish } from "../events/published.ts";
import { LoginThrottle, RefreshToken, Usuario } from "../store/entities.ts";
import { hashSecret, normalizeUsername } from "./auth.ts";
import type { Throttle } from "./login-throttle.ts";

type UsuarioRow = InferEntity<typeof Usuario>;

/** `failures`: those of the sources held back now (0: none is, the account is not locked). */
export function viewOf(usuario: UsuarioRow, failures = 0): UsuarioView {
  return {
    id: usuario.id,
    username: usuario.username,
    kind: usuario.kind,
    roles: [...usuario.roles],
    consorciadoId: usuario.consorciadoId ?? null,
    scopes: [...usuario.scopes],
    status: statusOf(usuario),
    locked: failures > 0,
    mfaEnabled: usuario.totpSecret !== null && usuario.totpSecret !== undefined,
    createdAt: usuario.createdAt,
    updatedAt: usuario.updatedAt,
    version: usuario.version,
  };
}

/** Failures of the sources whose logins to the account are held back now. */
async function failuresOf(em: EntityManager, username: string, now: Date): Promise<number> {
  const [row] = await em.execute<{ failures: number }[]>(
    `select coalesce(sum(t.failures), 0)::int as failures
     from login_throttle t join usuario u on u.id = t.usuario_id
     where u.username = ? and t.held_until > ?`,
    [username, now],
  );
  return row?.failures ?? 0;
}

export async function load(em: EntityManager, id: string): Promise<UsuarioRow> {
  const usuario = await em.findOne(Usuario, { id });
  if (!usuario) throw new NotFoundError(`usuario ${id} not found`);
  return usuario;
}

/**
 * A CONSORCIADO account must belong to a consorciado that exists: consorciados is asked, before
 * any write. An unknown or malformed id is the caller's mistake; consorciados unreachable, or
 * refusing identidade's own service token, is an outage.
 */
export async function checkConsorciado(
  consorciados: Client<typeof ConsorciadoService>,
  input: { kind: Kind | undefined; consorciadoId: string },
): Promise<void> {
  // A missing or misplaced id is reported by accountViolations.
  if (input.kind !== "CONSORCIADO" || !input.consorciadoId) return;
  try {
    await consorciados.getConsorciado({ id: input.consorciadoId });
  } catch (error) {
    const { code, rawMessage } = ConnectError.from(error);
    if (code === Code.NotFound || code === Code.InvalidArgument) {
      throw new InvalidArgumentError([
        { field: "consorciado_id", ruleId: "consorciado_id.exists", message: "no such consorciado" },
      ]);
    }
    if (code === Code.DeadlineExceeded || code === Code.Canceled) throw error;
    throw new ConnectError(`cannot check consorciado_id now: ${rawMessage}`, Code.Unavailable);
  }
}

export async function createUsuario(
  uow: UnitOfWork,
  input: {
    username: string;
    kind: Kind | undefined;
    roles: readonly RoleName[];
    password: string;
    consorciadoId: string;
    scopes: readonly string[];
  },
): Promise<{ usuario: UsuarioView; clientSecret: string }> {
  const { kind } = input;
  if (!kind) throw new InvalidArgumentError([{ field: "kind", message: "required" }]);
  const username = normalizeUsername(input.username);
  const account = {
    username,
    kind,
    roles: [...input.roles],
    password: input.password,
    consorciadoId: input.consorciadoId,
    scopes: input.scopes,
  };
  const violations = accountViolations(account);
  if (violations.length > 0) throw new InvalidArgumentError(violations);
  if (await uow.em.findOne(Usuario, { username }))
    throw new AlreadyExistsError(`username ${username} is taken`);
  const clientSecret = isClient(kind) ? randomSecret(32) : "";
  const usuario = uow.em.create(Usuario, {
    id: uuidv7(),
    username,
    kind,
    roles: [...new Set(account.roles)],
    consorciadoId: input.consorciadoId || null,
    scopes: [...new Set(input.scopes)],
    secretHash: await hashSecret(clientSecret || input.password),
    disabled: false,
    totpSecret: null,
    totpPending: null,
    totpLastStep: null,
    recoveryCodes: [],
  });
  await uow.em.flush();
  publish(uow, usuario.id, [
    { type: "UsuarioCriado", kind, roles: account.roles, consorciadoId: input.consorciadoId },
  ]);
  return { usuario: viewOf(usuario), clientSecret };
}

export async function getUsuario(em: EntityManager, id: string, now: Date): Promise<UsuarioView> {
  const usuario = await load(em, id);
  return viewOf(usuario, await failuresOf(em, usuario.username, now));
}

const DEFAULT_PAGE_SIZE = 50;

export async function listUsuarios(
  em: EntityManager,
  input: { pageSize: number; pageToken: string; kind: Kind | undefined },
  now: Date,
): Promise<{ usuarios: UsuarioView[]; nextPageToken: string }> {
  const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
  const after = decodePageToken(input.pageToken);
  const { kind } = input;
  const rows = await em.find(
    Usuario,
    { ...(after ? { id: { $gt: after } } : {}), ...(kind ? { kind } : {}) },
    { orderBy: { id: "asc" }, limit: pageSize + 1 },
  );
  const { items, nextPageToken } = page(rows, pageSize);
  const held = await em.find(LoginThrottle, {
    usuarioId: { $in: items.map((u) => u.id) },
    heldUntil: { $gt: now },
  });
  const failures = new Map<string, number>();
  for (const row of held) {
    if (row.usuarioId) failures.set(row.usuarioId, (failures.get(row.usuarioId) ?? 0) + row.failures);
  }
  return { usuarios: items.map((u) => viewOf(u, failures.get(u.id) ?? 0)), nextPageToken };
}

const UPDATABLE = new Set(["roles", "scopes"]);

export async function updateUsuario(
  em: EntityManager,
  input: {
    id: string;
    version: number;
    roles: readonly RoleName[];
    scopes: readonly string[];
    paths: readonly string[];
  },
  now: Date,
): Promise<UsuarioView> {
  const unknown = input.paths.filter((path) => !UPDATABLE.has(path));
  if (input.paths.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError([
      { field: "update_mask", message: `only ${[...UPDATABLE].join(", ")} can be updated` },
    ]);
  }
  const usuario = await load(em, input.id);
  if (usuario.version !== input.version)
    throw new ConflictError("usuario changed since it was read: reload and retry");
  if (input.paths.includes("roles")) {
    const roles = [...input.roles];
    const violations = [
      ...rolesViolations(usuario.kind, roles),
      ...(roles.length === 0 ? [{ field: "roles", message: "at least one" }] : []),
    ];
    if (violations.length > 0) throw new InvalidArgumentError(violations);
    usuario.roles = [...new Set(roles)];
  }
  if (input.paths.includes("scopes")) {
    if (usuario.kind !== "PARCEIRO" && input.scopes.length > 0) {
      throw new InvalidArgumentError([{ field: "scopes", message: "only partner clients have scopes" }]);
    }
    usuario.scopes = [...new Set(input.scopes)];
  }
  await em.flush();
  return viewOf(usuario, await failuresOf(em, usuario.username, now));
}

export async function revokeAllRefreshTokens(em: EntityManager, usuarioId: string): Promise<void> {
  await em.nativeUpdate(RefreshToken, { usuarioId, revokedAt: null }, { revokedAt: new Date() });
}

/**
 * Disables the account: its refresh tokens are revoked with it. Once that committed, the caller
 * revokes its access tokens everywhere (the shared revocation entry; `UsuarioDesativado` for a
 * service that cannot read it).
 */
export async function disableUsuario(uow: UnitOfWork, id: string, now: Date): Promise<UsuarioView> {
  const usuario = await load(uow.em, id);
  const next = transition(statusOf(usuario), "DISABLE");
  if (next.to !== statusOf(usuario)) {
    usuario.disabled = next.to === "DESATIVADO";
    await revokeAllRefreshTokens(uow.em, id);
    publish(uow, id, next.emits);
  }
  await uow.em.flush();
  return viewOf(usuario, await failuresOf(uow.em, usuario.username, now));
}

export async function resetPassword(em: EntityManager, id: string, newPassword: string): Promise<string> {
  const usuario = await load(em, id);
  let clientSecret = "";
  if (isClient(usuario.kind)) {
    clientSecret = randomSecret(32);
  } else {
    const violations = passwordViolations(newPassword, usuario.username, "new_password");
    if (violations.length > 0) throw new InvalidArgumentError(violations);
  }
  usuario.secretHash = await hashSecret(clientSecret || newPassword);
  await revokeAllRefreshTokens(em, id);
  return clientSecret;
}

export async function unlockUsuario(em: EntityManager, throttle: Throttle, id: string): Promise<UsuarioView> {
  const usuario = await load(em, id);
  await throttle.unlock(em, usuario);
  return viewOf(usuario, 0);
}
