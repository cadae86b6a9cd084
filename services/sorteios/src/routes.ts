import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  AbrirLancesRequestSchema,
  AbrirLancesResponseSchema,
  AssembleiaService,
  ConfirmExtracaoRequestSchema,
  ConfirmExtracaoResponseSchema,
  EncerrarLancesRequestSchema,
  EncerrarLancesResponseSchema,
  RegisterExtracaoRequestSchema,
  RegisterExtracaoResponseSchema,
  RunApuracaoRequestSchema,
  RunApuracaoResponseSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import {
  LanceService,
  SubmitLanceRequestSchema,
  SubmitLanceResponseSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/lance_service_pb.js";
import { CandidatoSchema } from "@consorcio/gen/consorcio/sorteios/v1/sorteio_pb.js";
import { SorteioService } from "@consorcio/gen/consorcio/sorteios/v1/sorteio_service_pb.js";
import { InvalidArgumentError, ownerScopeKey, principalKey, type ServiceContext } from "@consorcio/platform";
import type { AssembleiaUseCases } from "./assembleias.ts";
import { sortear } from "./domain/sorteio.ts";
import type { LanceUseCases } from "./lances.ts";

const actorOf = (context: HandlerContext) => context.values.get(principalKey)?.subject ?? "";

export function routes(
  router: ConnectRouter,
  { tx, db, clock }: ServiceContext,
  assembleias: AssembleiaUseCases,
  lances: LanceUseCases,
): void {
  router.service(SorteioService, {
    simulateSorteio(req) {
      const n = req.quantidadeCotas;
      const fora = req.cotasInelegiveis.filter((c) => c > n);
      if (fora.length > 0)
        throw new InvalidArgumentError([
          {
            field: "cotas_inelegiveis",
            message: `cotas above quantidade_cotas: ${fora.slice(0, 5).join(", ")}`,
          },
        ]);
      const inelegiveis = new Set(req.cotasInelegiveis);
      const r = sortear(n, req.premios, (c) => !inelegiveis.has(c));
      return {
        candidatos: r.candidatos.map((c) => create(CandidatoSchema, c)),
        numeroBase: r.numeroBase,
        cotaSorteada: r.sorteadas[0] ?? 0,
      };
    },
  });

  router.service(AssembleiaService, {
    async listAssembleias(req) {
      return assembleias.list(db.fork(), req);
    },
    async getAssembleia(req) {
      return { assembleia: await assembleias.get(db.fork(), req.id) };
    },
    async abrirLances(req, context) {
      return tx.idempotent(
        context,
        { schema: AbrirLancesRequestSchema, message: req, requestId: req.requestId },
        AbrirLancesResponseSchema,
        async (uow) => ({
          $typeName: AbrirLancesResponseSchema.typeName,
          assembleia: await assembleias.abrirLances(uow, req.id, req.version),
        }),
      );
    },
    async encerrarLances(req, context) {
      return tx.idempotent(
        context,
        { schema: EncerrarLancesRequestSchema, message: req, requestId: req.requestId },
        EncerrarLancesResponseSchema,
        async (uow) => ({
          $typeName: EncerrarLancesResponseSchema.typeName,
          assembleia: await assembleias.encerrarLances(uow, req.id, req.version, clock.now()),
        }),
      );
    },
    async registerExtracao(req, context) {
      const extracao = req.extracao;
      if (!extracao) throw new InvalidArgumentError([{ field: "extracao", message: "required" }]);
      return tx.idempotent(
        context,
        { schema: RegisterExtracaoRequestSchema, message: req, requestId: req.requestId },
        RegisterExtracaoResponseSchema,
        async (uow) => ({
          $typeName: RegisterExtracaoResponseSchema.typeName,
          assembleia: await assembleias.registerExtracao(
            uow,
            { id: req.id, version: req.version, extracao },
            actorOf(context),
            clock.now(),
          ),
        }),
      );
    },
    async confirmExtracao(req, context) {
      const extracao = req.extracao;
      if (!extracao) throw new InvalidArgumentError([{ field: "extracao", message: "required" }]);
      return tx.idempotent(
        context,
        { schema: ConfirmExtracaoRequestSchema, message: req, requestId: req.requestId },
        ConfirmExtracaoResponseSchema,
        async (uow) => ({
          $typeName: ConfirmExtracaoResponseSchema.typeName,
          assembleia: await assembleias.confirmExtracao(
            uow,
            { id: req.id, version: req.version, extracao },
            actorOf(context),
            clock.now(),
          ),
        }),
      );
    },
    async runApuracao(req, context) {
      return tx.idempotent(
        context,
        { schema: RunApuracaoRequestSchema, message: req, requestId: req.requestId },
        RunApuracaoResponseSchema,
        async (uow) => ({
          $typeName: RunApuracaoResponseSchema.typeName,
          ...(await assembleias.runApuracao(uow, { id: req.id, version: req.version }, clock.now(), context)),
        }),
      );
    },
    async getApuracao(req) {
      return { apuracao: await assembleias.apuracao(db.fork(), req.id) };
    },
    async verifyApuracao(req) {
      return assembleias.verify(db.fork(), req.id);
    },
    async getResultado(req) {
      return { resultado: await assembleias.resultado(db.fork(), req.id) };
    },
    async getSaga(req) {
      return { saga: await assembleias.saga(db.fork(), req.id) };
    },
  });

  router.service(LanceService, {
    async submitLance(req, context) {
      return tx.idempotent(
        context,
        { schema: SubmitLanceRequestSchema, message: req, requestId: req.requestId },
        SubmitLanceResponseSchema,
        async (uow) => ({
          $typeName: SubmitLanceResponseSchema.typeName,
          ...(await lances.submit(uow, req, context.values.get(ownerScopeKey), actorOf(context), context)),
        }),
      );
    },
    async listLances(req) {
      return lances.list(db.fork(), req);
    },
  });
}
