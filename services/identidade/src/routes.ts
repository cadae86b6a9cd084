import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import {
  CreateUsuarioRequestSchema,
  CreateUsuarioResponseSchema,
  DisableUsuarioRequestSchema,
  DisableUsuarioResponseSchema,
  UnlockUsuarioRequestSchema,
  UnlockUsuarioResponseSchema,
  UpdateUsuarioRequestSchema,
  UpdateUsuarioResponseSchema,
  UsuarioService,
} from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import {
  type Outcome,
  principalKey,
  requestContextKey,
  type ServiceContext,
  UnauthenticatedError,
} from "@consorcio/platform";
import type { AuthFlows } from "./app/auth.ts";
import * as usuarios from "./app/usuarios.ts";
import type { KeyRing } from "./crypto/key-ring.ts";
import { kindName, roleNames, toMessage } from "./mapping.ts";

/** Throws the outcome's error only after its transaction committed (failed logins must be counted). */
function settle<T>(outcome: Outcome<T>): T {
  if ("error" in outcome) throw outcome.error;
  return outcome.ok;
}

function caller(context: HandlerContext): string {
  const principal = context.values.get(principalKey);
  if (!principal) throw new UnauthenticatedError();
  return principal.subject;
}

export interface IdentidadeDeps {
  auth: AuthFlows;
  keys: KeyRing;
  /** CHECK_CONSORCIADO_ID: a CONSORCIADO account's consorciado must exist at consorciados. */
  checkConsorciadoId: boolean;
}

export function routes(
  router: ConnectRouter,
  { tx, db, revocations, clock, clients }: ServiceContext,
  { auth, keys, checkConsorciadoId }: IdentidadeDeps,
): void {
  router.service(AuthService, {
    async login(req, context) {
      const clientIp = context.values.get(requestContextKey)?.clientIp;
      await auth.checkRateLimit(req.username.trim().toLowerCase(), clientIp);
      const tokens = settle(await tx.run(context, (uow) => auth.login(uow, { ...req, clientIp })));
      return { ...tokens, tokenType: "Bearer" };
    },
    async refresh(req, context) {
      const tokens = settle(await tx.run(context, ({ em }) => auth.refresh(em, req.refreshToken)));
      return { ...tokens, tokenType: "Bearer" };
    },
    async logout(req, context) {
      await tx.run(context, ({ em }) => auth.logout(em, req.refreshToken));
      return {};
    },
    async token(req, context) {
      const clientIp = context.values.get(requestContextKey)?.clientIp;
      return { ...(await auth.clientToken(db.fork(), req, clientIp)), tokenType: "Bearer" };
    },
    async enrollTotp(_req, context) {
      const { secret, uri } = await tx.run(context, ({ em }) => auth.enrollTotp(em, caller(context)));
      return { secret, otpauthUri: uri };
    },
    async confirmTotp(req, context) {
      const recoveryCodes = await tx.run(context, ({ em }) =>
        auth.confirmTotp(em, caller(context), req.code),
      );
      return { recoveryCodes };
    },
  });

  router.service(UsuarioService, {
    async createUsuario(req, context) {
      // Before the transaction: no connection is held while consorciados answers.
      const input = { ...req, kind: kindName(req.kind), roles: roleNames(req.roles) };
      if (checkConsorciadoId)
        await usuarios.checkConsorciado(clients.get(ConsorciadoService, context), input);
      return tx.idempotent(
        context,
        { schema: CreateUsuarioRequestSchema, message: req, requestId: req.requestId },
        CreateUsuarioResponseSchema,
        async (uow) => {
          const { usuario, clientSecret } = await usuarios.createUsuario(uow, input);
          return create(CreateUsuarioResponseSchema, { usuario: toMessage(usuario), clientSecret });
        },
        // The client secret is shown once and never kept: a retry gets the account without it.
        { keep: (response) => ({ ...response, clientSecret: "" }), restore: async (kept) => kept },
      );
    },
    async getUsuario(req) {
      return { usuario: toMessage(await usuarios.getUsuario(db.fork(), req.id, clock.now())) };
    },
    async listUsuarios(req) {
      const found = await usuarios.listUsuarios(db.fork(), { ...req, kind: kindName(req.kind) }, clock.now());
      return { usuarios: found.usuarios.map(toMessage), nextPageToken: found.nextPageToken };
    },
    async updateUsuario(req, context) {
      return tx.idempotent(
        context,
        { schema: UpdateUsuarioRequestSchema, message: req, requestId: req.requestId },
        UpdateUsuarioResponseSchema,
        async ({ em }) =>
          create(UpdateUsuarioResponseSchema, {
            usuario: toMessage(
              await usuarios.updateUsuario(
                em,
                {
                  id: req.usuario?.id ?? "",
                  version: req.usuario?.version ?? 0,
                  roles: roleNames(req.usuario?.roles ?? []),
                  scopes: req.usuario?.scopes ?? [],
                  paths: req.updateMask?.paths ?? [],
                },
                clock.now(),
              ),
            ),
          }),
      );
    },
    async disableUsuario(req, context) {
      const response = await tx.idempotent(
        context,
        { schema: DisableUsuarioRequestSchema, message: req, requestId: req.requestId },
        DisableUsuarioResponseSchema,
        async (uow) =>
          create(DisableUsuarioResponseSchema, {
            usuario: toMessage(await usuarios.disableUsuario(uow, req.id, clock.now())),
          }),
      );
      // After commit, so a login that read the account before it is refused too; again for an
      // account disabled already (harmless: it cannot have had tokens issued since).
      await revocations.revoke(req.id);
      return response;
    },
    async resetPassword(req, context) {
      return {
        clientSecret: await tx.run(context, ({ em }) => usuarios.resetPassword(em, req.id, req.newPassword)),
      };
    },
    async unlockUsuario(req, context) {
      return tx.idempotent(
        context,
        { schema: UnlockUsuarioRequestSchema, message: req, requestId: req.requestId },
        UnlockUsuarioResponseSchema,
        async ({ em }) =>
          create(UnlockUsuarioResponseSchema, {
            usuario: toMessage(await usuarios.unlockUsuario(em, auth.throttle, req.id)),
          }),
      );
    },
    async rotateSigningKey() {
      return { kid: await keys.rotate() };
    },
  });
}
