import {
  type Client,
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
} from "@connectrpc/connect";
import { ConsorciadoStatus } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import {
  AderirGrupoRequestSchema,
  AderirGrupoResponseSchema,
  AtivarGrupoRequestSchema,
  AtivarGrupoResponseSchema,
  CotaService,
  CreateGrupoRequestSchema,
  CreateGrupoResponseSchema,
  DesistirCotaRequestSchema,
  DesistirCotaResponseSchema,
  EncerrarGrupoRequestSchema,
  EncerrarGrupoResponseSchema,
  GrupoService,
  IniciarEncerramentoGrupoRequestSchema,
  IniciarEncerramentoGrupoResponseSchema,
  TransferCotaRequestSchema,
  TransferCotaResponseSchema,
  UpdateGrupoRequestSchema,
  UpdateGrupoResponseSchema,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import {
  FailedPreconditionError,
  InvalidArgumentError,
  ownerScopeKey,
  principalKey,
  requestContextKey,
  type ServiceContext,
} from "@consorcio/platform";
import type { Cotas, Origem } from "./cotas.ts";
import type { Grupos } from "./grupos.ts";
import { cronogramaToMessage } from "./mapping.ts";

function origemOf(context: HandlerContext, requestId: string): Origem {
  return {
    actor: context.values.get(principalKey)?.subject ?? "",
    origemId: requestId || context.values.get(requestContextKey)?.requestId || "",
  };
}

/**
 * The consorciado must exist in consorciados and be ATIVO. Asked before any transaction, so no
 * connection is held while consorciados answers. Unknown is the caller's mistake (InvalidArgument
 * on `field`), not ATIVO a state (FailedPrecondition), consorciados unreachable an outage.
 */
export async function checkConsorciado(
  consorciados: Client<typeof ConsorciadoService>,
  consorciadoId: string,
  field: string,
): Promise<void> {
  let status: ConsorciadoStatus | undefined;
  try {
    status = (await consorciados.getConsorciado({ id: consorciadoId })).consorciado?.status;
  } catch (error) {
    const { code, rawMessage } = ConnectError.from(error);
    if (code === Code.NotFound || code === Code.InvalidArgument)
      throw new InvalidArgumentError([
        { field, ruleId: "consorciado_id.exists", message: "no such consorciado" },
      ]);
    if (code === Code.DeadlineExceeded || code === Code.Canceled) throw error;
    throw new ConnectError(`cannot check the consorciado now: ${rawMessage}`, Code.Unavailable);
  }
  if (status !== ConsorciadoStatus.ATIVO)
    throw new FailedPreconditionError(
      `${field}: the consorciado is ${ConsorciadoStatus[status ?? 0] ?? "unknown"}; only an ATIVO consorciado may hold a cota`,
    );
}

export function routes(
  router: ConnectRouter,
  { tx, db, clock, clients }: ServiceContext,
  grupos: Grupos,
  cotas: Cotas,
): void {
  router.service(GrupoService, {
    async createGrupo(req, context) {
      const grupo = req.grupo;
      if (!grupo) throw new InvalidArgumentError([{ field: "grupo", message: "required" }]);
      return tx.idempotent(
        context,
        { schema: CreateGrupoRequestSchema, message: req, requestId: req.requestId },
        CreateGrupoResponseSchema,
        async (uow) => ({
          $typeName: CreateGrupoResponseSchema.typeName,
          grupo: await grupos.create(uow, grupo, clock.now()),
        }),
      );
    },
    async getGrupo(req) {
      return { grupo: await grupos.get(db.fork(), req.grupoId) };
    },
    async listGrupos(req) {
      return grupos.list(db.fork(), req);
    },
    async updateGrupo(req, context) {
      const grupo = req.grupo;
      if (!grupo) throw new InvalidArgumentError([{ field: "grupo", message: "required" }]);
      return tx.idempotent(
        context,
        { schema: UpdateGrupoRequestSchema, message: req, requestId: req.requestId },
        UpdateGrupoResponseSchema,
        async (uow) => ({
          $typeName: UpdateGrupoResponseSchema.typeName,
          grupo: await grupos.update(uow, grupo, req.updateMask?.paths ?? [], clock.now()),
        }),
      );
    },
    async ativarGrupo(req, context) {
      return tx.idempotent(
        context,
        { schema: AtivarGrupoRequestSchema, message: req, requestId: req.requestId },
        AtivarGrupoResponseSchema,
        async (uow) => ({
          $typeName: AtivarGrupoResponseSchema.typeName,
          grupo: await grupos.passo(uow, req.grupoId, "ATIVAR", req.version, clock.now()),
        }),
      );
    },
    async iniciarEncerramentoGrupo(req, context) {
      return tx.idempotent(
        context,
        { schema: IniciarEncerramentoGrupoRequestSchema, message: req, requestId: req.requestId },
        IniciarEncerramentoGrupoResponseSchema,
        async (uow) => ({
          $typeName: IniciarEncerramentoGrupoResponseSchema.typeName,
          grupo: await grupos.passo(uow, req.grupoId, "INICIAR_ENCERRAMENTO", req.version, clock.now()),
        }),
      );
    },
    async encerrarGrupo(req, context) {
      return tx.idempotent(
        context,
        { schema: EncerrarGrupoRequestSchema, message: req, requestId: req.requestId },
        EncerrarGrupoResponseSchema,
        async (uow) => ({
          $typeName: EncerrarGrupoResponseSchema.typeName,
          grupo: await grupos.passo(uow, req.grupoId, "ENCERRAR", req.version, clock.now()),
        }),
      );
    },
    async getCronograma(req) {
      return { datas: cronogramaToMessage(await grupos.cronograma(db.fork(), req.grupoId)) };
    },
    async listVagas(req) {
      return grupos.vagas(db.fork(), req.grupoId, req);
    },
  });

  router.service(CotaService, {
    async aderirGrupo(req, context) {
      await checkConsorciado(clients.get(ConsorciadoService, context), req.consorciadoId, "consorciado_id");
      return tx.idempotent(
        context,
        { schema: AderirGrupoRequestSchema, message: req, requestId: req.requestId },
        AderirGrupoResponseSchema,
        async (uow) => ({
          $typeName: AderirGrupoResponseSchema.typeName,
          cota: await cotas.aderir(
            uow,
            { grupoId: req.grupoId, consorciadoId: req.consorciadoId },
            origemOf(context, req.requestId),
            clock.now(),
          ),
        }),
      );
    },
    async getCota(req, context) {
      return { cota: await cotas.get(db.fork(), req.cotaId, context.values.get(ownerScopeKey)) };
    },
    async listCotas(req) {
      return cotas.listDoGrupo(db.fork(), req);
    },
    async listCotasDoConsorciado(req) {
      return cotas.listDoConsorciado(db.fork(), req);
    },
    async listHistoricoCota(req, context) {
      return cotas.listHistorico(db.fork(), req, context.values.get(ownerScopeKey));
    },
    async desistirCota(req, context) {
      return tx.idempotent(
        context,
        { schema: DesistirCotaRequestSchema, message: req, requestId: req.requestId },
        DesistirCotaResponseSchema,
        async (uow) => ({
          $typeName: DesistirCotaResponseSchema.typeName,
          cota: await cotas.desistir(
            uow,
            req.cotaId,
            context.values.get(ownerScopeKey),
            origemOf(context, req.requestId),
            clock.now(),
          ),
        }),
      );
    },
    async transferCota(req, context) {
      await checkConsorciado(clients.get(ConsorciadoService, context), req.consorciadoId, "consorciado_id");
      return tx.idempotent(
        context,
        { schema: TransferCotaRequestSchema, message: req, requestId: req.requestId },
        TransferCotaResponseSchema,
        async (uow) => ({
          $typeName: TransferCotaResponseSchema.typeName,
          cota: await cotas.transferir(
            uow,
            { cotaId: req.cotaId, consorciadoId: req.consorciadoId, version: req.version },
            origemOf(context, req.requestId),
            clock.now(),
          ),
        }),
      );
    },
  });
}
