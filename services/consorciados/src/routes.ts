import { create, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  type Consorciado,
  ConsorciadoSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import {
  ConsorciadoService,
  CreateConsorciadoRequestSchema,
  CreateConsorciadoResponseSchema,
  DisableConsorciadoRequestSchema,
  DisableConsorciadoResponseSchema,
  ProcessDueErasuresRequestSchema,
  ProcessDueErasuresResponseSchema,
  RecordConsentimentoRequestSchema,
  RecordConsentimentoResponseSchema,
  RequestErasureRequestSchema,
  RequestErasureResponseSchema,
  UpdateConsorciadoRequestSchema,
  UpdateConsorciadoResponseSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import {
  InvalidArgumentError,
  ownerScopeKey,
  principalKey,
  type Replay,
  type ServiceContext,
} from "@consorcio/platform";
import type { Consorciados } from "./app/consorciados.ts";
import {
  consentimentoFromMessage,
  consentimentoToMessage,
  dadosFromMessage,
  statusFromMessage,
  toMessage,
} from "./mapping.ts";

const actorOf = (context: HandlerContext) => context.values.get(principalKey)?.subject ?? "";

/** Replays keep only the consorciado's id: personal data stays in the encrypted record. */
function keepingId<Res extends DescMessage>(consorciados: Consorciados): Replay<Res> {
  type Shape = { consorciado?: Consorciado };
  return {
    keep: (response) =>
      ({
        ...response,
        consorciado: create(ConsorciadoSchema, { id: (response as Shape).consorciado?.id ?? "" }),
      }) as MessageShape<Res>,
    restore: async (kept, { em }) =>
      ({
        ...kept,
        consorciado: toMessage(await consorciados.get(em, (kept as Shape).consorciado?.id ?? "")),
      }) as MessageShape<Res>,
  };
}

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
          consorciado: toMessage(await consorciados.create(uow, dadosFromMessage(consorciado))),
        }),
        keepingId(consorciados),
      );
    },
    async getConsorciado(req) {
      return { consorciado: toMessage(await consorciados.get(db.fork(), req.id)) };
    },
    async listConsorciados(req) {
      const found = await consorciados.list(db.fork(), { ...req, status: statusFromMessage(req.status) });
      return { consorciados: found.consorciados.map(toMessage), nextPageToken: found.nextPageToken };
    },
    async updateConsorciado(req, context) {
      const consorciado = req.consorciado;
      if (!consorciado) throw new InvalidArgumentError([{ field: "consorciado", message: "required" }]);
      const owner = context.values.get(ownerScopeKey);
      const paths = req.updateMask?.paths ?? [];
      return tx.idempotent(
        context,
        { schema: UpdateConsorciadoRequestSchema, message: req, requestId: req.requestId },
        UpdateConsorciadoResponseSchema,
        async (uow) => ({
          $typeName: UpdateConsorciadoResponseSchema.typeName,
          consorciado: toMessage(
            await consorciados.update(
              uow,
              { id: consorciado.id, version: consorciado.version, dados: dadosFromMessage(consorciado) },
              paths,
              owner,
            ),
          ),
        }),
        keepingId(consorciados),
      );
    },
    async disableConsorciado(req, context) {
      return tx.idempotent(
        context,
        { schema: DisableConsorciadoRequestSchema, message: req, requestId: req.requestId },
        DisableConsorciadoResponseSchema,
        async (uow) => ({
          $typeName: DisableConsorciadoResponseSchema.typeName,
          consorciado: toMessage(await consorciados.disable(uow, req.id)),
        }),
        keepingId(consorciados),
      );
    },
    async recordConsentimento(req, context) {
      // A consent holds ids, enums and the actor, no personal data: kept whole for replays.
      return tx.idempotent(
        context,
        { schema: RecordConsentimentoRequestSchema, message: req, requestId: req.requestId },
        RecordConsentimentoResponseSchema,
        async (uow) => ({
          $typeName: RecordConsentimentoResponseSchema.typeName,
          consentimento: consentimentoToMessage(
            await consorciados.recordConsent(
              uow,
              req.consorciadoId,
              consentimentoFromMessage(req),
              actorOf(context),
            ),
          ),
        }),
      );
    },
    async listConsentimentos(req) {
      const found = await consorciados.listConsents(db.fork(), req);
      return {
        consentimentos: found.consentimentos.map(consentimentoToMessage),
        nextPageToken: found.nextPageToken,
      };
    },
    async exportDadosPessoais(req, context) {
      const now = clock.now();
      const data = await tx.run(context, (uow) =>
        consorciados.export(uow, req.consorciadoId, actorOf(context), now),
      );
      // Over REST the document is the whole response: a download, not a page to show.
      context.responseHeader.set(
        "content-disposition",
        `attachment; filename="dados-pessoais-${req.consorciadoId}.json"`,
      );
      return { document: { contentType: "application/json", data } };
    },
    async requestErasure(req, context) {
      return tx.idempotent(
        context,
        { schema: RequestErasureRequestSchema, message: req, requestId: req.requestId },
        RequestErasureResponseSchema,
        async (uow) => ({
          $typeName: RequestErasureResponseSchema.typeName,
          consorciado: toMessage(
            await consorciados.requestErasure(uow, req.consorciadoId, actorOf(context), clock.now()),
          ),
        }),
        keepingId(consorciados),
      );
    },
    async processDueErasures(req, context) {
      return tx.idempotent(
        context,
        { schema: ProcessDueErasuresRequestSchema, message: req, requestId: req.requestId },
        ProcessDueErasuresResponseSchema,
        async (uow) => ({
          $typeName: ProcessDueErasuresResponseSchema.typeName,
          anonimizados: await consorciados.anonymizeDue(uow, clock.now()),
        }),
      );
    },
  });
}
