import { CreditoService } from "@consorcio/gen/consorcio/financeiro/v1/credito_service_pb.js";
import { ExtratoService } from "@consorcio/gen/consorcio/financeiro/v1/extrato_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { RestituicaoService } from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { SimuladorService } from "@consorcio/gen/consorcio/financeiro/v1/simulador_service_pb.js";
import type { ServiceDefinition } from "@consorcio/platform";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { expireLances } from "./contemplacao.ts";
import { type Beneficiario, documentosGenerator, type GeradorDocumentos } from "./documentos.ts";
import { consumers } from "./events/consumers.ts";
import { detectInadimplencia, hojeEmSaoPaulo } from "./inadimplencia.ts";
import { applyPix } from "./pix.ts";
import { PIX_WEBHOOK_PATH, pixWebhookRoute } from "./pix-webhook.ts";
import { routes } from "./routes.ts";
import { entities } from "./store/entities.ts";

const digits = (max: number) => z.string().regex(new RegExp(`^\\d{1,${max}}$`));

const env = z.object({
  /** Shared secret of the PSP's webhook: HMAC-SHA256 of the raw body (header x-pix-signature). */
  PIX_WEBHOOK_SECRET: z.string().min(32),
  /** The administradora's Pix key, name and city in the BR Code. */
  PIX_CHAVE: z.string().min(1).max(77),
  PIX_NOME_RECEBEDOR: z.string().min(1).max(25),
  PIX_CIDADE: z.string().min(1).max(15),
  /** The bank that registers the boletos (a layout in layouts/boleto-bancos.json) and the account. */
  BOLETO_BANCO: z.string().regex(/^\d{3}$/),
  BOLETO_AGENCIA: digits(5),
  BOLETO_CONTA: digits(12),
  BOLETO_CARTEIRA: digits(3),
  BOLETO_CONVENIO: z
    .string()
    .regex(/^\d{0,10}$/)
    .default(""),
  BOLETO_AGENCIA_DV: z
    .string()
    .regex(/^[0-9X]?$/)
    .default(""),
  BOLETO_CONTA_DV: z
    .string()
    .regex(/^[0-9X]?$/)
    .default(""),
  /** The bank and the administradora as the CNAB files name them. */
  CNAB_BANCO_NOME: z.string().min(1).max(30),
  CNAB_EMPRESA_CNPJ: z.string().regex(/^\d{14}$/),
  CNAB_EMPRESA_NOME: z.string().min(1).max(30),
  /** The queue of the events financeiro consumes (tests use their own). */
  FINANCEIRO_QUEUE: z.string().min(1).default("financeiro.queue"),
  /** Overdue parcelas and exclusions (cron, UTC; 06:00 UTC is 03:00 in São Paulo). */
  INADIMPLENCIA_CRON: z.string().min(1).default("0 6 * * *"),
  /** Lances past their deadline (cron, UTC). */
  LANCES_CRON: z.string().min(1).default("30 6 * * *"),
});

export const INADIMPLENCIA_JOB = "financeiro.inadimplencia";
export const LANCES_JOB = "financeiro.lances";

export interface Deps {
  documentos: GeradorDocumentos;
  beneficiario: Beneficiario;
  cnab: { bancoNome: string; empresaCnpj: string; empresaNome: string; agenciaDv: string; contaDv: string };
}

export const service: ServiceDefinition<typeof env, Deps> = {
  name: "financeiro",
  services: [
    SimuladorService,
    ParcelaService,
    LedgerService,
    ExtratoService,
    CreditoService,
    RestituicaoService,
  ],
  env,
  entities,
  migrations,
  async prepare({ config, storage }) {
    if (!storage) throw new Error("financeiro keeps CNAB files in object storage: S3_ENDPOINT is required");
    const beneficiario: Beneficiario = {
      banco: config.BOLETO_BANCO,
      agencia: config.BOLETO_AGENCIA,
      conta: config.BOLETO_CONTA,
      carteira: config.BOLETO_CARTEIRA,
      convenio: config.BOLETO_CONVENIO,
      pixChave: config.PIX_CHAVE,
      pixNome: config.PIX_NOME_RECEBEDOR,
      pixCidade: config.PIX_CIDADE,
    };
    return {
      beneficiario,
      documentos: documentosGenerator(beneficiario),
      cnab: {
        bancoNome: config.CNAB_BANCO_NOME,
        empresaCnpj: config.CNAB_EMPRESA_CNPJ,
        empresaNome: config.CNAB_EMPRESA_NOME,
        agenciaDv: config.BOLETO_AGENCIA_DV,
        contaDv: config.BOLETO_CONTA_DV,
      },
    };
  },
  routes: (router, context, deps) => routes(router, context, deps),
  consumers: ({ config }, deps) => [consumers(config.FINANCEIRO_QUEUE, () => deps.documentos)],
  httpRoutes: (context, _deps) => ({
    [PIX_WEBHOOK_PATH]: pixWebhookRoute(context.config.PIX_WEBHOOK_SECRET, (pix) => applyPix(context, pix)),
  }),
  jobs: ({ config, tx, logger }) => [
    {
      name: INADIMPLENCIA_JOB,
      schedule: { cron: config.INADIMPLENCIA_CRON },
      async run({ now }) {
        const result = await tx.job(({ em }) => detectInadimplencia(em, hojeEmSaoPaulo(now)));
        if (result.vencidas > 0) logger.info(result, "inadimplência detected");
      },
    },
    {
      name: LANCES_JOB,
      schedule: { cron: config.LANCES_CRON },
      async run({ now }) {
        for (;;) {
          const done = await tx.job((uow) => expireLances(uow, hojeEmSaoPaulo(now)));
          if (done < 500) break;
        }
      },
    },
  ],
};
