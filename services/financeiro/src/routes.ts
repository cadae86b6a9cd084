// The Connect handlers: contract messages in, domain and store calls, contract messages out.
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  CreditoService,
  GetCreditoResponseSchema,
  LiberarCreditoRequestSchema,
  LiberarCreditoResponseSchema,
  ListCreditosResponseSchema,
  RegisterGarantiasRequestSchema,
  RegisterGarantiasResponseSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/credito_service_pb.js";
import { CobrancaGeradaSchema } from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { ExtratoService } from "@consorcio/gen/consorcio/financeiro/v1/extrato_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaSituacao } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import {
  GenerateCobrancaRequestSchema,
  GenerateCobrancaResponseSchema,
  GetBoletoPdfResponseSchema,
  ParcelaService,
  RegisterPagamentoManualRequestSchema,
  RegisterPagamentoManualResponseSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import {
  CalculateRestituicaoRequestSchema,
  CalculateRestituicaoResponseSchema,
  PayRestituicaoRequestSchema,
  PayRestituicaoResponseSchema,
  RestituicaoService,
} from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { SimuladorService } from "@consorcio/gen/consorcio/financeiro/v1/simulador_service_pb.js";
import {
  decodePageToken,
  FailedPreconditionError,
  NotFoundError,
  page,
  principalKey,
  type ServiceContext,
} from "@consorcio/platform";
import { renderBoletoPdf } from "./boleto-pdf.ts";
import { cnabImpl } from "./cnab.ts";
import { gerarCobranca } from "./cobranca.ts";
import {
  CREDITO_COLUMNS,
  type CreditoDb,
  getCredito,
  lancesPagos,
  liberarCredito,
  registerGarantias,
  toCredito,
} from "./contemplacao.ts";
import { getExtrato } from "./extrato.ts";
import { getBalancete, getCaixa, listLancamentos } from "./ledger-rpc.ts";
import { civilFromProto, protoFromCivil } from "./mapping.ts";
import { applyPagamentos } from "./pagamentos.ts";
import { getPagamento, getParcela, listPagamentos, listParcelas, requireCotaDoOwner } from "./parcelas.ts";
import { calcularRestituicao, listRestituicoes, pagarRestituicao } from "./restituicoes.ts";
import type { Deps } from "./service.ts";
import { simuladorImpl } from "./simulador.ts";

const actorOf = (context: HandlerContext) => context.values.get(principalKey)?.subject ?? "system";

export function routes(router: ConnectRouter, context: ServiceContext, deps: Deps): void {
  const { db, tx } = context;
  router.service(SimuladorService, simuladorImpl);

  router.service(ParcelaService, {
    async getParcela(req, ctx) {
      return { parcela: await getParcela(db.fork(), ctx, req.id) };
    },
    async listParcelas(req, ctx) {
      return listParcelas(db.fork(), ctx, req);
    },
    async generateCobranca(req, ctx) {
      return tx.idempotent(
        ctx,
        { schema: GenerateCobrancaRequestSchema, message: req, requestId: req.requestId },
        GenerateCobrancaResponseSchema,
        async (uow) => {
          const r = await gerarCobranca(uow.em, req.grupoId, req.competencia, deps.documentos);
          if (r.geradas > 0)
            uow.publish(
              CobrancaGeradaSchema,
              create(CobrancaGeradaSchema, {
                grupoId: req.grupoId,
                competencia: req.competencia,
                geradas: r.geradas,
                vencimento: protoFromCivil(r.vencimento),
              }),
            );
          return create(GenerateCobrancaResponseSchema, {
            geradas: r.geradas,
            existentes: r.existentes,
            vencimento: protoFromCivil(r.vencimento),
          });
        },
      );
    },
    async registerPagamentoManual(req, ctx) {
      const data = civilFromProto(req.dataPagamento, "data_pagamento");
      return tx.idempotent(
        ctx,
        { schema: RegisterPagamentoManualRequestSchema, message: req, requestId: req.requestId },
        RegisterPagamentoManualResponseSchema,
        async (uow) => {
          const [r] = await applyPagamentos(
            uow.em,
            [
              {
                canal: "MANUAL",
                canalId: req.requestId,
                por: "id",
                chave: req.parcelaId,
                valorCentavos: req.valorCentavos,
                dataPagamento: data,
                motivo: `${req.motivo} (por ${actorOf(ctx)})`,
              },
            ],
            { actor: actorOf(ctx) },
          );
          if (!r || r.status === "DESCONHECIDO")
            throw new NotFoundError(`parcela ${req.parcelaId} not found`);
          if (r.status === "DUPLICADO")
            throw new FailedPreconditionError("request_id already recorded a payment");
          await lancesPagos(uow, [r.pagamento.parcelaId]);
          return create(RegisterPagamentoManualResponseSchema, {
            pagamento: await getPagamento(uow.em, r.pagamento.id),
            parcela: await getParcela(uow.em, ctx, req.parcelaId),
          });
        },
      );
    },
    async listPagamentos(req) {
      return listPagamentos(db.fork(), req);
    },
    async getBoletoPdf(req, ctx) {
      const em = db.fork();
      const parcela = await getParcela(em, ctx, req.id);
      if (parcela.situacao === ParcelaSituacao.CANCELADA || parcela.situacao === ParcelaSituacao.PAGA)
        throw new FailedPreconditionError(
          `the parcela is ${ParcelaSituacao[parcela.situacao]}: no boleto to pay`,
        );
      const b = deps.beneficiario;
      const content = await renderBoletoPdf({
        banco: { codigo: b.banco, nome: deps.cnab.bancoNome },
        beneficiario: {
          nome: deps.cnab.empresaNome,
          documento: deps.cnab.empresaCnpj,
          agenciaCodigo: `${b.agencia}/${b.conta}`,
        },
        // The payer's name lives in consorciados: the boleto names the cota.
        pagador: { nome: `COTA ${parcela.cotaId}` },
        nossoNumero: parcela.nossoNumero,
        numeroDocumento: `${parcela.competencia.replace("-", "")}-${parcela.numero}`,
        vencimento: civilFromProto(parcela.vencimento, "vencimento"),
        valorCentavos: parcela.valorCentavos - parcela.pagoCentavos,
        linhaDigitavel: parcela.linhaDigitavel,
        codigoBarras: parcela.codigoBarras,
        segundaVia: true,
      });
      return create(GetBoletoPdfResponseSchema, { contentType: "application/pdf", content });
    },
    ...cnabImpl(context, deps),
  });

  router.service(LedgerService, {
    async getCaixaDisponivel(req) {
      return getCaixa(db.fork(), req.grupoId);
    },
    async getBalancete(req) {
      return { balancete: await getBalancete(db.fork(), req.grupoId) };
    },
    async listLancamentos(req) {
      return listLancamentos(db.fork(), req);
    },
  });

  router.service(ExtratoService, {
    async getExtrato(req, ctx) {
      const em = db.fork();
      await requireCotaDoOwner(em, ctx, req.cotaId);
      return { extrato: await getExtrato(em, ctx, req.cotaId) };
    },
  });

  router.service(CreditoService, {
    async getCredito(req) {
      return create(GetCreditoResponseSchema, {
        credito: toCredito(await getCredito(db.fork(), req.contemplacaoId)),
      });
    },
    async listCreditos(req) {
      const size = req.pageSize || 100;
      const after = decodePageToken(req.pageToken);
      const rows = await db
        .fork()
        .execute<(CreditoDb & { id: string })[]>(
          `select contemplacao_id as id, ${CREDITO_COLUMNS} from credito where grupo_id = ? ${after ? "and contemplacao_id > ?" : ""} order by contemplacao_id limit ?`,
          after ? [req.grupoId, after, size + 1] : [req.grupoId, size + 1],
        );
      const { items, nextPageToken } = page(rows, size);
      return create(ListCreditosResponseSchema, { creditos: items.map(toCredito), nextPageToken });
    },
    async registerGarantias(req, ctx) {
      return tx.idempotent(
        ctx,
        { schema: RegisterGarantiasRequestSchema, message: req, requestId: req.requestId },
        RegisterGarantiasResponseSchema,
        async ({ em }) =>
          create(RegisterGarantiasResponseSchema, {
            credito: await registerGarantias(em, req.contemplacaoId, req.descricao),
          }),
      );
    },
    async liberarCredito(req, ctx) {
      return tx.idempotent(
        ctx,
        { schema: LiberarCreditoRequestSchema, message: req, requestId: req.requestId },
        LiberarCreditoResponseSchema,
        async (uow) =>
          create(LiberarCreditoResponseSchema, { credito: await liberarCredito(uow, req.contemplacaoId) }),
      );
    },
  });

  router.service(RestituicaoService, {
    async calculateRestituicao(req, ctx) {
      return tx.idempotent(
        ctx,
        { schema: CalculateRestituicaoRequestSchema, message: req, requestId: req.requestId },
        CalculateRestituicaoResponseSchema,
        async (uow) =>
          create(CalculateRestituicaoResponseSchema, {
            restituicao: await calcularRestituicao(uow, req),
          }),
      );
    },
    async listRestituicoes(req) {
      return listRestituicoes(db.fork(), req);
    },
    async payRestituicao(req, ctx) {
      return tx.idempotent(
        ctx,
        { schema: PayRestituicaoRequestSchema, message: req, requestId: req.requestId },
        PayRestituicaoResponseSchema,
        async (uow) =>
          create(PayRestituicaoResponseSchema, { restituicao: await pagarRestituicao(uow, req.id) }),
      );
    },
  });
}
