// billing run, cnab import, extrato.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import {
  ExtratoService,
  GetExtratoResponseSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/extrato_service_pb.js";
import {
  LinhaResultado,
  LinhaResultadoSchema,
  ParcelaSituacaoSchema,
  ParcelaTipoSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import {
  GenerateCobrancaResponseSchema,
  ImportRetornoCnabResponseSchema,
  ListParcelasResponseSchema,
  ParcelaService,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import type { Command } from "commander";
import { action } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { enumValue, parseInteger } from "../input.ts";
import { date, details, enumName, percent, print, printJson, reais, table } from "../output.ts";
import { withSpinner } from "../progress.ts";

/** The servers' message limit (ImportRetornoCnabRequest.conteudo). */
const CNAB_MAX_BYTES = 8_000_000;

export function financeiroCommands(program: Command): void {
  const billing = program.command("billing").description("cobrança of a grupo's parcelas");
  billing
    .command("run")
    .description("bill a grupo's competência: one parcela per active cota (again: only the missing)")
    .requiredOption("--grupo <grupo-id>")
    .requiredOption("--competencia <YYYY-MM>")
    .option("--request-id <id>")
    .action(
      action<{ grupo: string; competencia: string; requestId?: string }>(async (context, options) => {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(options.competencia))
          throw new UsageError(`--competencia: "${options.competencia}" is not YYYY-MM`);
        const response = await withSpinner(
          `billing ${options.competencia}`,
          () =>
            context.session.client(ParcelaService, "financeiro").generateCobranca({
              grupoId: options.grupo,
              competencia: options.competencia,
              requestId: options.requestId ?? "",
            }),
          context.json,
        );
        if (context.json) printJson(GenerateCobrancaResponseSchema, response);
        else
          print(
            details([
              ["competência", options.competencia],
              ["parcelas geradas", response.geradas],
              ["já existentes", response.existentes],
              ["vencimento", date(response.vencimento)],
            ]),
          );
      }),
    );

  const parcelas = program.command("parcelas").description("parcelas billed");
  parcelas
    .command("list")
    .description("a grupo's or a cota's parcelas (nosso número, value, situação)")
    .option("--grupo <grupo-id>")
    .option("--cota <cota-id>")
    .option("--competencia <YYYY-MM>")
    .option("--situacao <situacao>", "ABERTA, PARCIAL, PAGA, VENCIDA, CANCELADA")
    .option("--page-size <n>", "parcelas a page", "100")
    .option("--page-token <token>")
    .action(
      action<{
        grupo?: string;
        cota?: string;
        competencia?: string;
        situacao?: string;
        pageSize: string;
        pageToken?: string;
      }>(async (context, options) => {
        if (!options.grupo && !options.cota) throw new UsageError("--grupo or --cota");
        const response = await context.session.client(ParcelaService, "financeiro").listParcelas({
          grupoId: options.grupo ?? "",
          cotaId: options.cota ?? "",
          competencia: options.competencia ?? "",
          situacao: options.situacao ? enumValue(ParcelaSituacaoSchema, options.situacao, "--situacao") : 0,
          pageSize: parseInteger(options.pageSize, "--page-size"),
          pageToken: options.pageToken ?? "",
        });
        if (context.json) {
          printJson(ListParcelasResponseSchema, response);
          return;
        }
        print(
          table(
            [
              "id",
              "cota",
              "nº",
              "competência",
              "tipo",
              "vencimento",
              "valor",
              "pago",
              "situação",
              "nosso número",
            ],
            response.parcelas.map((p) => [
              p.id,
              p.cotaId,
              p.numero,
              p.competencia,
              enumName(ParcelaTipoSchema, p.tipo),
              date(p.vencimento),
              reais(p.valorCentavos),
              reais(p.pagoCentavos),
              enumName(ParcelaSituacaoSchema, p.situacao),
              p.nossoNumero,
            ]),
          ),
        );
        if (response.nextPageToken) print(`more: --page-token ${response.nextPageToken}`);
      }),
    );

  const cnab = program.command("cnab").description("CNAB files of the banks");
  cnab
    .command("import")
    .description("import a bank's retorno file: pays the parcelas it settles, reports every line")
    .argument("<file>")
    .option("--layout <layout>", "the bank layout (services/financeiro/layouts/)", "febraban-240-v088")
    .option("--request-id <id>")
    .option("--all-lines", "list applied lines too (default: only duplicated and rejected)")
    .action(
      action<{ layout: string; requestId?: string; allLines?: boolean }>(async (context, options, [file]) => {
        const path = file ?? "";
        const conteudo = new Uint8Array(readFileSync(path));
        if (conteudo.length === 0) throw new UsageError(`${path} is empty`);
        if (conteudo.length > CNAB_MAX_BYTES)
          throw new UsageError(
            `${path} has ${conteudo.length} bytes, more than ${CNAB_MAX_BYTES}: send the bank's file in parts`,
          );
        const response = await withSpinner(
          `importing ${basename(path)} (${(conteudo.length / 1024).toFixed(0)} KiB)`,
          () =>
            context.session.client(ParcelaService, "financeiro").importRetornoCnab({
              layout: options.layout,
              nomeArquivo: basename(path),
              conteudo,
              requestId: options.requestId ?? "",
            }),
          context.json,
        );
        if (context.json) {
          printJson(ImportRetornoCnabResponseSchema, response);
          return;
        }
        const importacao = response.importacao;
        print(
          details([
            ["importação", importacao?.id],
            ["sha256", importacao?.sha256],
            ["aplicadas", importacao?.aplicadas],
            ["duplicadas", importacao?.duplicadas],
            ["rejeitadas", importacao?.rejeitadas],
          ]),
        );
        const linhas = response.linhas.filter(
          (l) => options.allLines || l.resultado !== LinhaResultado.APLICADA,
        );
        if (linhas.length > 0)
          print(
            table(
              ["linha", "resultado", "nosso número", "valor", "motivo"],
              linhas.map((l) => [
                l.linha,
                enumName(LinhaResultadoSchema, l.resultado),
                l.nossoNumero,
                reais(l.valorCentavos),
                l.motivo,
              ]),
            ),
          );
      }),
    );

  program
    .command("extrato")
    .description("a cota's extrato: parcelas, paid, owed, encargos, % amortised per fund")
    .requiredOption("--cota <cota-id>")
    .action(
      action<{ cota: string }>(async (context, options) => {
        const response = await context.session
          .client(ExtratoService, "financeiro")
          .getExtrato({ cotaId: options.cota });
        if (context.json) {
          printJson(GetExtratoResponseSchema, response);
          return;
        }
        const extrato = response.extrato;
        if (!extrato) throw new CliError("no extrato in the answer");
        print(
          table(
            ["nº", "competência", "tipo", "vencimento", "valor", "pago", "encargos pagos", "situação"],
            extrato.parcelas.map((p) => [
              p.numero,
              p.competencia,
              enumName(ParcelaTipoSchema, p.tipo),
              date(p.vencimento),
              reais(p.valorCentavos),
              reais(p.pagoCentavos),
              reais(p.encargosPagosCentavos),
              enumName(ParcelaSituacaoSchema, p.situacao),
            ]),
          ),
        );
        print(
          details([
            ["cota", extrato.cotaId],
            ["pago", reais(extrato.pagoCentavos)],
            ["devido", reais(extrato.devidoCentavos)],
            ["vencido", reais(extrato.vencidoCentavos)],
            ["encargos pagos", reais(extrato.encargosPagosCentavos)],
            ["crédito", reais(extrato.creditoCentavos)],
          ]),
        );
        print(
          table(
            ["fundo", "amortizado", "a amortizar"],
            [
              [
                "fundo comum",
                percent(extrato.fundoComumPagoPercentual),
                percent(extrato.fundoComumDevidoPercentual),
              ],
              ["taxa de administração", percent(extrato.taxaAdministracaoPagaPercentual), ""],
              ["fundo de reserva", percent(extrato.fundoReservaPagoPercentual), ""],
            ],
          ),
        );
      }),
    );
}
