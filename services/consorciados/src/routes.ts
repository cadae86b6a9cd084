import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import { ConsorciadoSchema } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import {
  ConsorciadoService,
  CreateConsorciadoRequestSchema,
  CreateConsorciadoResponseSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { InvalidArgumentError, ownerScopeKey, principalKey, type ServiceContext } from "@consorcio/platform";
import type { Consorciados } from "./consorciados.ts";

const actorOf = (context: HandlerContext) => context.values.get(principalKey)?.subject ?? "";

export function routes(
  router: ConnectRouter,
  { tx, db, clock }: ServiceContext,
  consorciados: Consorciados,
): void {
  router.service(ConsorciadoService, {
    async createConsorciado(req, context) {
      const consorciado = req.consorciado;
      if (!consorciado) throw new InvalidArgumentError([{ field: "consorciado", message: "required" }]);
      return tx.idempotent(
        context,
        { schema: CreateConsorciadoRequestSchema, message: req, requestId: req.requestId },
        CreateConsorciadoResponseSchema,
        async (uow) => ({
          $typeName: CreateConsorciadoResponseSchema.typeName,
          consorciado: await consorciados.create(uow, consorciado),
        }),
        // Only the id is kept for replays: personal data stays in the encrypted record.
        {
          keep: (response) => ({
            ...response,
            consorciado: create(ConsorciadoSchema, { id: response.consorciado?.id ?? "" }),
          }),
          restore: async (kept, { em }) => ({
            ...kept,
            consorciado: await consorciados.get(em, kept.consorciado?.id ?? "", undefined),
          }),
        },
      );
    },
    async getConsorciado(req, context) {
      return { consorciado: await consorciados.get(db.fork(), req.id, context.values.get(ownerScopeKey)) };
    },
    async listConsorciados(req) {
      return consorciados.list(db.fork(), req);
    },
    async updateConsorciado(req, context) {
      const consorciado = req.consorciado;
      if (!consorciado) throw new InvalidArgumentError([{ field: "consorciado", message: "required" }]);
      const owner = context.values.get(ownerScopeKey);
      const paths = req.updateMask?.paths ?? [];
      return {
        consorciado: await tx.run(context, (uow) => consorciados.update(uow, consorciado, paths, owner)),
      };
    },
    async deactivateConsorciado(req, context) {
      return { consorciado: await tx.run(context, (uow) => consorciados.deactivate(uow, req.id)) };
    },
    async recordConsentimento(req, context) {
      return {
        consentimento: await tx.run(context, (uow) => consorciados.recordConsent(uow, req, actorOf(context))),
      };
    },
    async listConsentimentos(req) {
      return { consentimentos: await consorciados.listConsents(db.fork(), req.consorciadoId) };
    },
    async exportDadosPessoais(req, context) {
      const now = clock.now();
      const content = await tx.run(context, (uow) =>
        consorciados.export(uow, req.consorciadoId, actorOf(context), now),
      );
      return { contentType: "application/json", content, generatedTime: timestampFromDate(now) };
    },
    async requestErasure(req, context) {
      return {
        consorciado: await tx.run(context, (uow) =>
          consorciados.requestErasure(uow, req.consorciadoId, actorOf(context), clock.now()),
        ),
      };
    },
    async processDueErasures(_req, context) {
      return {
        anonimizados: await tx.run(context, (uow) => consorciados.anonymizeDue(uow, clock.now())),
      };
    },
  });
}
