// Account administration: create, read, list, update roles, disable, reset, unlock.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import type { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import {
  UsuarioCriadoSchema,
  UsuarioDesativadoSchema,
  UsuarioKind,
  type Usuario as UsuarioMessage,
  UsuarioSchema,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import {
  type DisableUsuarioRequest,
  DisableUsuarioRequestSchema,
  DisableUsuarioResponseSchema,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import {
  AlreadyExistsError,
  ConflictError,
  decodePageToken,
  InvalidArgumentError,
  NotFoundError,
  page,
  type Revocations,
  randomSecret,
  roleFromName,
  roleName,
  type Transactions,
  type UnitOfWork,
} from "@consorcio/platform";
import type { InferEntity } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { hashSecret, normalizeUsername } from "./auth.ts";
import {
  accountViolations,
  isClient,
  type Kind,
  passwordViolations,
  type RoleName,
  rolesViolations,
} from "./domain/accounts.ts";
import type { Throttle } from "./login-throttle.ts";
import { LoginThrottle, RefreshToken, Usuario } from "./store/entities.ts";

type UsuarioRow = InferEntity<typeof Usuario>;

export function kindName(kind: UsuarioKind): Kind | undefined {
  const name = UsuarioKind[kind];
  return name === "UNSPECIFIED" ? undefined : (name as Kind | undefined);
}

export function roleNames(roles: readonly Role[]): RoleName[] {
  return roles.map((role) => roleName(role) as RoleName);
}

/** `failures`: those of the sources held back now (0: none is, the account is not locked). */
export function toMessage(usuario: UsuarioRow, failures = 0): UsuarioMessage {
  return create(UsuarioSchema, {
    id: usuario.id,
    username: usuario.username,
    kind: UsuarioKind[usuario.kind as Kind],
    roles: usuario.roles.flatMap((name: string) => roleFromName(name) ?? []),
    consorciadoId: usuario.consorciadoId ?? "",
    scopes: usuario.scopes,
    disabled: usuario.disabled,
    locked: failures > 0,
    mfaEnabled: usuario.totpSecret !== null && usuario.totpSecret !== undefined,
    createTime: timestampFromDate(usuario.createdAt),
    updateTime: timestampFromDate(usuario.updatedAt),
    version: usuario.version,
  });
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
  input: { kind: UsuarioKind; consorciadoId: string },
): Promise<void> {
  // A missing or misplaced id is reported by accountViolations.
  if (input.kind !== UsuarioKind.CONSORCIADO || !input.consorciadoId) return;
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
    kind: UsuarioKind;
    roles: readonly Role[];
    password: string;
    consorciadoId: string;
    scopes: readonly string[];
  },
): Promise<{ usuario: UsuarioMessage; clientSecret: string }> {
  const kind = kindName(input.kind);
  if (!kind) throw new InvalidArgumentError([{ field: "kind", message: "required" }]);
  const username = normalizeUsername(input.username);
  const account = {
    username,
    kind,
    roles: roleNames(input.roles),
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
  uow.publish(
    UsuarioCriadoSchema,
    create(UsuarioCriadoSchema, {
      usuarioId: usuario.id,
      kind: input.kind,
      roles: [...input.roles],
      consorciadoId: input.consorciadoId,
    }),
  );
  return { usuario: toMessage(usuario), clientSecret };
}

export async function getUsuario(em: EntityManager, id: string, now: Date): Promise<UsuarioMessage> {
  const usuario = await load(em, id);
  return toMessage(usuario, await failuresOf(em, usuario.username, now));
}

const DEFAULT_PAGE_SIZE = 50;

export async function listUsuarios(
  em: EntityManager,
  input: { pageSize: number; pageToken: string; kind: UsuarioKind },
  now: Date,
): Promise<{ usuarios: UsuarioMessage[]; nextPageToken: string }> {
  const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
  const after = decodePageToken(input.pageToken);
  const kind = kindName(input.kind);
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
  return { usuarios: items.map((u) => toMessage(u, failures.get(u.id) ?? 0)), nextPageToken };
}

const UPDATABLE = new Set(["roles", "scopes"]);

export async function updateUsuario(
  em: EntityManager,
  input: {
    id: string;
    version: number;
    roles: readonly Role[];
    scopes: readonly string[];
    paths: readonly string[];
  },
  now: Date,
): Promise<UsuarioMessage> {
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
    const roles = roleNames(input.roles);
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
  return toMessage(usuario, await failuresOf(em, usuario.username, now));
}

export async function revokeAllRefreshTokens(em: EntityManager, usuarioId: string): Promise<void> {
  await em.nativeUpdate(RefreshToken, { usuarioId, revokedAt: null }, { revokedAt: new Date() });
}

/**
 * Disables the account: its refresh tokens are revoked with it and, once that
 * committed, every service refuses its access tokens within seconds (the shared
 * revocation entry, and `UsuarioDesativado` for a service that cannot read it).
 */
export async function disableUsuario(
  tx: Transactions,
  context: HandlerContext,
  revocations: Revocations,
  request: DisableUsuarioRequest,
  now: Date,
): Promise<UsuarioMessage> {
  const { id } = request;
  const { usuario: disabled } = await tx.idempotent(
    context,
    { schema: DisableUsuarioRequestSchema, message: request, requestId: request.requestId },
    DisableUsuarioResponseSchema,
    async (uow) => {
      const usuario = await load(uow.em, id);
      if (!usuario.disabled) {
        usuario.disabled = true;
        await revokeAllRefreshTokens(uow.em, id);
        uow.publish(UsuarioDesativadoSchema, create(UsuarioDesativadoSchema, { usuarioId: id }));
      }
      await uow.em.flush();
      return create(DisableUsuarioResponseSchema, {
        usuario: toMessage(usuario, await failuresOf(uow.em, usuario.username, now)),
      });
    },
  );
  // After commit, so a login that read the account before it is refused too; again for an
  // account disabled already (harmless: it cannot have had tokens issued since).
  await revocations.revoke(id);
  if (!disabled) throw new NotFoundError(`usuario ${id} not found`);
  return disabled;
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

export async function unlockUsuario(
  em: EntityManager,
  throttle: Throttle,
  id: string,
): Promise<UsuarioMessage> {
  const usuario = await load(em, id);
  await throttle.unlock(em, usuario);
  return toMessage(usuario, 0);
}
