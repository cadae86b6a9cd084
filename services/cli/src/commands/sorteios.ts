// assembleias list, extracao register | confirm (two people enter the same Loteria Federal
// result), apuracao run | show.
import {
  type Apuracao,
  type Assembleia,
  AssembleiaStatusSchema,
  ContemplacaoStatusSchema,
  ModalidadeSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  AbrirLancesResponseSchema,
  AssembleiaService,
  ConfirmExtracaoResponseSchema,
  EncerrarLancesResponseSchema,
  GetApuracaoResponseSchema,
  ListAssembleiasResponseSchema,
  RegisterExtracaoResponseSchema,
  RunApuracaoResponseSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import type { Command } from "commander";
import { action, type Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { enumValue, parseDate, parseInteger } from "../input.ts";
import { date, details, enumName, print, printJson, reais, table, time } from "../output.ts";
import { withSpinner } from "../progress.ts";

interface ExtracaoOptions {
  assembleia: string;
  numero: string;
  data: string;
  premios: string;
  version?: string;
  requestId?: string;
}

function extracaoFrom(options: ExtracaoOptions) {
  const premios = options.premios.split(",").map((p) => p.trim());
  const bad = premios.find((p) => !/^\d{5}$/.test(p));
  if (premios.length !== 5 || bad !== undefined)
    throw new UsageError(`--premios: five prizes of five digits each, e.g. 48602,01927,33410,05881,72093`);
  return {
    numero: parseInteger(options.numero, "--numero"),
    data: parseDate(options.data, "--data"),
    premios,
  };
}

async function versionOf(context: Context, id: string, given: string | undefined): Promise<number> {
  if (given !== undefined) return parseInteger(given, "--version");
  const { assembleia } = await context.session.client(AssembleiaService, "sorteios").getAssembleia({ id });
  return assembleia?.version ?? 0;
}

function assembleiaDetails(assembleia: Assembleia): string {
  const extracao = assembleia.extracao;
  return details([
    ["assembleia", assembleia.id],
    ["grupo", assembleia.grupoId],
    ["número", assembleia.numero],
    ["data", date(assembleia.data)],
    ["status", enumName(AssembleiaStatusSchema, assembleia.status)],
    ["extração", extracao ? `${extracao.numero} de ${date(extracao.data)}` : ""],
    ["prêmios", extracao?.premios.join(", ")],
    ["registrada por", extracao?.registradaPor],
    ["confirmada por", extracao?.confirmadaPor],
    ["apurada", time(assembleia.apuradaTime)],
    ["version", assembleia.version],
  ]);
}

function apuracaoText(apuracao: Apuracao): string {
  return [
    details([
      ["assembleia", apuracao.assembleiaId],
      ["regra", apuracao.regra],
      ["número base", apuracao.numeroBase],
      ["fundo comum", reais(apuracao.fundoComumCentavos)],
      ["fundo de reserva", reais(apuracao.fundoReservaCentavos)],
      ["saldo final", reais(apuracao.saldoFinalCentavos)],
      ["resultado sha256", apuracao.resultadoSha256],
    ]),
    table(
      ["ordem", "cota", "modalidade", "crédito", "lance", "status"],
      apuracao.contemplacoes.map((c) => [
        c.ordem,
        c.cotaNumero,
        enumName(ModalidadeSchema, c.modalidade),
        reais(c.creditoCentavos),
        reais(c.lanceCentavos),
        enumName(ContemplacaoStatusSchema, c.status),
      ]),
    ),
    ...apuracao.notas.map((nota) => `nota: ${nota}`),
  ].join("\n");
}

export function sorteiosCommands(program: Command): void {
  const assembleias = program.command("assembleias").description("a grupo's assembleias");
  assembleias
    .command("list")
    .requiredOption("--grupo <grupo-id>")
    .option("--status <status>", "AGENDADA, ABERTA_PARA_LANCES, APURADA, ENCERRADA")
    .option("--page-size <n>", "assembleias a page", "100")
    .option("--page-token <token>")
    .action(
      action<{ grupo: string; status?: string; pageSize: string; pageToken?: string }>(
        async (context, options) => {
          const response = await context.session.client(AssembleiaService, "sorteios").listAssembleias({
            grupoId: options.grupo,
            status: options.status ? enumValue(AssembleiaStatusSchema, options.status, "--status") : 0,
            pageSize: parseInteger(options.pageSize, "--page-size"),
            pageToken: options.pageToken ?? "",
          });
          if (context.json) {
            printJson(ListAssembleiasResponseSchema, response);
            return;
          }
          print(
            table(
              ["id", "número", "data", "status", "extração"],
              response.assembleias.map((a) => [
                a.id,
                a.numero,
                date(a.data),
                enumName(AssembleiaStatusSchema, a.status),
                a.extracao ? String(a.extracao.numero) : "",
              ]),
            ),
          );
          if (response.nextPageToken) print(`more: --page-token ${response.nextPageToken}`);
        },
      ),
    );

  assembleias
    .command("abrir-lances")
    .description("open the assembleia's window for lances (AGENDADA → ABERTA_PARA_LANCES)")
    .argument("<assembleia-id>")
    .option("--version <n>", "the assembleia's version you read (default: the current one)")
    .option("--request-id <id>")
    .action(
      action<{ version?: string; requestId?: string }>(async (context, options, [id]) => {
        const request = {
          id: id ?? "",
          version: await versionOf(context, id ?? "", options.version),
          requestId: options.requestId ?? "",
        };
        const response = await context.session.client(AssembleiaService, "sorteios").abrirLances(request);
        if (context.json) printJson(AbrirLancesResponseSchema, response);
        else if (response.assembleia) print(assembleiaDetails(response.assembleia));
      }),
    );
  assembleias
    .command("encerrar-lances")
    .description("close the window for lances")
    .argument("<assembleia-id>")
    .option("--version <n>", "the assembleia's version you read (default: the current one)")
    .option("--request-id <id>")
    .action(
      action<{ version?: string; requestId?: string }>(async (context, options, [id]) => {
        const request = {
          id: id ?? "",
          version: await versionOf(context, id ?? "", options.version),
          requestId: options.requestId ?? "",
        };
        const response = await context.session.client(AssembleiaService, "sorteios").encerrarLances(request);
        if (context.json) printJson(EncerrarLancesResponseSchema, response);
        else if (response.assembleia) print(assembleiaDetails(response.assembleia));
      }),
    );

  const extracao = program
    .command("extracao")
    .description(
      "the Loteria Federal extraction of an assembleia (entered by one user, confirmed by another)",
    );
  const extracaoOptions = (command: Command) =>
    command
      .requiredOption("--assembleia <assembleia-id>")
      .requiredOption("--numero <n>", "the extraction's number")
      .requiredOption("--data <YYYY-MM-DD>", "the extraction's date")
      .requiredOption("--premios <p1,p2,p3,p4,p5>", "the five prizes, five digits each")
      .option("--version <n>", "the assembleia's version you read (default: the current one)")
      .option("--request-id <id>");
  extracaoOptions(extracao.command("register").description("enter the extraction")).action(
    action<ExtracaoOptions>(async (context, options) => {
      const request = {
        id: options.assembleia,
        version: await versionOf(context, options.assembleia, options.version),
        extracao: extracaoFrom(options),
        requestId: options.requestId ?? "",
      };
      const response = await context.session.client(AssembleiaService, "sorteios").registerExtracao(request);
      if (context.json) printJson(RegisterExtracaoResponseSchema, response);
      else if (response.assembleia) print(assembleiaDetails(response.assembleia));
    }),
  );
  extracaoOptions(
    extracao.command("confirm").description("confirm the extraction: a second user enters it again"),
  ).action(
    action<ExtracaoOptions>(async (context, options) => {
      const request = {
        id: options.assembleia,
        version: await versionOf(context, options.assembleia, options.version),
        extracao: extracaoFrom(options),
        requestId: options.requestId ?? "",
      };
      const response = await context.session.client(AssembleiaService, "sorteios").confirmExtracao(request);
      if (context.json) printJson(ConfirmExtracaoResponseSchema, response);
      else if (response.assembleia) print(assembleiaDetails(response.assembleia));
    }),
  );

  const apuracao = program.command("apuracao").description("the apuração of an assembleia");
  apuracao
    .command("run")
    .description("run the apuração: sorteio and lances, contemplações")
    .requiredOption("--assembleia <assembleia-id>")
    .option("--version <n>", "the assembleia's version you read (default: the current one)")
    .option("--request-id <id>")
    .action(
      action<{ assembleia: string; version?: string; requestId?: string }>(async (context, options) => {
        const version = await versionOf(context, options.assembleia, options.version);
        const response = await withSpinner(
          "apuração",
          () =>
            context.session.client(AssembleiaService, "sorteios").runApuracao({
              id: options.assembleia,
              version,
              requestId: options.requestId ?? "",
            }),
          context.json,
        );
        if (context.json) printJson(RunApuracaoResponseSchema, response);
        else if (response.apuracao) print(apuracaoText(response.apuracao));
      }),
    );
  apuracao
    .command("show")
    .description("show an assembleia's apuração")
    .requiredOption("--assembleia <assembleia-id>")
    .action(
      action<{ assembleia: string }>(async (context, options) => {
        const response = await context.session
          .client(AssembleiaService, "sorteios")
          .getApuracao({ id: options.assembleia });
        if (context.json) printJson(GetApuracaoResponseSchema, response);
        else if (response.apuracao) print(apuracaoText(response.apuracao));
      }),
    );
}
