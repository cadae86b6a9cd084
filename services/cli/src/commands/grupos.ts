// grupos create | list | show | activate | cronograma, and cotas aderir.
import { readFileSync } from "node:fs";
import { fromJson, type JsonObject } from "@bufbuild/protobuf";
import { type Cota, CotaSituacaoSchema } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  type Grupo,
  GrupoSchema,
  GrupoStatusSchema,
  IndiceSchema,
  SegmentoSchema,
  TipoLanceSchema,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import {
  AderirGrupoResponseSchema,
  AtivarGrupoResponseSchema,
  CotaService,
  CreateGrupoResponseSchema,
  GetCronogramaResponseSchema,
  GetGrupoResponseSchema,
  GrupoService,
  ListGruposResponseSchema,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import type { Command } from "commander";
import { parse as parseYaml } from "yaml";
import { action } from "../context.ts";
import { CliError, UsageError } from "../errors.ts";
import { enumJsonName, enumValue, parseDate, parseInteger, parseReais } from "../input.ts";
import { date, details, enumName, percent, print, printJson, reais, table, time } from "../output.ts";

interface CreateOptions {
  file?: string;
  codigo?: string;
  nome?: string;
  segmento?: string;
  bem?: string;
  preco?: string;
  prazo?: string;
  cotas?: string;
  taxaAdministracao?: string;
  fundoReserva?: string;
  seguro?: string;
  indice?: string;
  diaVencimento?: string;
  primeiraAssembleia?: string;
  lances?: string;
  contemplacoes?: string;
  requestId?: string;
}

/** The file (proto3 JSON or YAML of a Grupo), then the flags over it, as proto3 JSON. */
function grupoFrom(options: CreateOptions): Grupo {
  let json: JsonObject = {};
  if (options.file) {
    const text = readFileSync(options.file, "utf8");
    let parsed: unknown;
    try {
      parsed = /\.json$/i.test(options.file) ? JSON.parse(text) : parseYaml(text);
    } catch (error) {
      throw new UsageError(`${options.file}: ${(error as Error).message.split("\n")[0]}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw new UsageError(`${options.file}: expected the grupo's parameters as an object`);
    // A file may hold the grupo itself or a CreateGrupo request ({ grupo: … }).
    const object = parsed as JsonObject;
    json = (typeof object.grupo === "object" && object.grupo !== null ? object.grupo : object) as JsonObject;
  }
  const set = (key: string, value: unknown) => {
    if (value !== undefined) json[key] = value as JsonObject[string];
  };
  const bem = { ...((json.bem as JsonObject | undefined) ?? {}) };
  if (options.bem !== undefined) bem.descricao = options.bem;
  if (options.preco !== undefined) bem.precoCentavos = parseReais(options.preco, "--preco").toString();
  if (Object.keys(bem).length > 0) json.bem = bem;
  set("codigo", options.codigo);
  set("nome", options.nome);
  set("segmento", options.segmento && enumJsonName(SegmentoSchema, options.segmento, "--segmento"));
  set("prazoMeses", options.prazo && parseInteger(options.prazo, "--prazo"));
  set("quantidadeCotas", options.cotas && parseInteger(options.cotas, "--cotas"));
  set("percentualTaxaAdministracao", options.taxaAdministracao);
  set("percentualFundoReserva", options.fundoReserva);
  set("percentualSeguroMensal", options.seguro);
  set("indice", options.indice && enumJsonName(IndiceSchema, options.indice, "--indice"));
  set("diaVencimento", options.diaVencimento && parseInteger(options.diaVencimento, "--dia-vencimento"));
  set(
    "primeiraAssembleia",
    options.primeiraAssembleia && parseDate(options.primeiraAssembleia, "--primeira-assembleia"),
  );
  set(
    "contemplacoesPorAssembleia",
    options.contemplacoes && parseInteger(options.contemplacoes, "--contemplacoes"),
  );
  if (options.lances !== undefined)
    json.regrasLance = {
      ...((json.regrasLance as JsonObject | undefined) ?? {}),
      tiposPermitidos: options.lances
        .split(",")
        .filter((t) => t.trim())
        .map((t) => enumJsonName(TipoLanceSchema, t, "--lances")),
    };
  try {
    return fromJson(GrupoSchema, json);
  } catch (error) {
    throw new UsageError(`grupo parameters: ${(error as Error).message}`);
  }
}

function grupoDetails(grupo: Grupo): string {
  return details([
    ["id", grupo.id],
    ["codigo", grupo.codigo],
    ["nome", grupo.nome],
    ["status", enumName(GrupoStatusSchema, grupo.status)],
    ["segmento", enumName(SegmentoSchema, grupo.segmento)],
    ["bem", `${grupo.bem?.descricao ?? ""} (${reais(grupo.bem?.precoCentavos ?? 0n)})`],
    ["prazo (meses)", grupo.prazoMeses],
    ["cotas", `${grupo.cotasOcupadas}/${grupo.quantidadeCotas}`],
    ["taxa de administração", percent(grupo.percentualTaxaAdministracao)],
    ["fundo de reserva", percent(grupo.percentualFundoReserva)],
    ["seguro mensal", percent(grupo.percentualSeguroMensal)],
    ["índice", enumName(IndiceSchema, grupo.indice)],
    ["dia de vencimento", grupo.diaVencimento],
    ["primeira assembleia", date(grupo.primeiraAssembleia)],
    [
      "lances",
      (grupo.regrasLance?.tiposPermitidos ?? []).map((t) => enumName(TipoLanceSchema, t)).join(", "),
    ],
    ["contemplações/assembleia", grupo.contemplacoesPorAssembleia],
    ["criado", time(grupo.createTime)],
    ["ativado", time(grupo.ativacaoTime)],
    ["version", grupo.version],
  ]);
}

export function cotaDetails(cota: Cota): string {
  return details([
    ["cota", cota.id],
    ["grupo", cota.grupoId],
    ["número", cota.numero],
    ["consorciado", cota.consorciadoId],
    ["situação", enumName(CotaSituacaoSchema, cota.situacao)],
    ["adesão", date(cota.dataAdesao)],
  ]);
}

export function gruposCommands(program: Command): void {
  const grupos = program.command("grupos").description("grupos de consórcio");

  grupos
    .command("create")
    .description("create a grupo (EM_FORMACAO) from a JSON/YAML file of parameters and/or flags")
    .option("-f, --file <file>", "the grupo's parameters, proto3 JSON names (.json, .yaml)")
    .option("--codigo <codigo>", "e.g. IM-0042")
    .option("--nome <nome>")
    .option(
      "--segmento <segmento>",
      "IMOVEL, VEICULO_LEVE, VEICULO_PESADO, MOTOCICLETA, SERVICO, OUTROS_BENS",
    )
    .option("--bem <descricao>", "the bem de referência")
    .option("--preco <reais>", "its price in reais, e.g. 300000.00")
    .option("--prazo <meses>")
    .option("--cotas <quantidade>")
    .option("--taxa-administracao <percent>", "e.g. 15")
    .option("--fundo-reserva <percent>", "e.g. 2")
    .option("--seguro <percent>", "seguro mensal")
    .option("--indice <indice>", "INCC, IPCA, IGPM, TABELA_PRECO")
    .option("--dia-vencimento <dia>", "1 to 28")
    .option("--primeira-assembleia <YYYY-MM-DD>")
    .option("--lances <tipos>", "LIVRE,FIXO,EMBUTIDO")
    .option("--contemplacoes <n>", "contemplações por assembleia")
    .option("--request-id <id>", "idempotency key (a retry with it creates nothing twice)")
    .action(
      action<CreateOptions>(async (context, options) => {
        const grupo = grupoFrom(options);
        const response = await context.session
          .client(GrupoService, "grupos")
          .createGrupo({ grupo, requestId: options.requestId ?? "" });
        if (context.json) printJson(CreateGrupoResponseSchema, response);
        else if (response.grupo) print(grupoDetails(response.grupo));
      }),
    );

  grupos
    .command("list")
    .description("list grupos")
    .option("--status <status>", "EM_FORMACAO, ATIVO, EM_ENCERRAMENTO, ENCERRADO")
    .option("--segmento <segmento>")
    .option("--com-vagas", "only grupos with free cotas")
    .option("--page-size <n>", "grupos a page", "100")
    .option("--page-token <token>")
    .action(
      action<{
        status?: string;
        segmento?: string;
        comVagas?: boolean;
        pageSize: string;
        pageToken?: string;
      }>(async (context, options) => {
        const response = await context.session.client(GrupoService, "grupos").listGrupos({
          status: options.status ? enumValue(GrupoStatusSchema, options.status, "--status") : 0,
          segmento: options.segmento ? enumValue(SegmentoSchema, options.segmento, "--segmento") : 0,
          comVagas: options.comVagas === true,
          pageSize: parseInteger(options.pageSize, "--page-size"),
          pageToken: options.pageToken ?? "",
        });
        if (context.json) {
          printJson(ListGruposResponseSchema, response);
          return;
        }
        print(
          table(
            ["id", "codigo", "nome", "status", "segmento", "cotas", "prazo", "bem"],
            response.grupos.map((g) => [
              g.id,
              g.codigo,
              g.nome,
              enumName(GrupoStatusSchema, g.status),
              enumName(SegmentoSchema, g.segmento),
              `${g.cotasOcupadas}/${g.quantidadeCotas}`,
              g.prazoMeses,
              reais(g.bem?.precoCentavos ?? 0n),
            ]),
          ),
        );
        if (response.nextPageToken) print(`more: --page-token ${response.nextPageToken}`);
      }),
    );

  grupos
    .command("show")
    .description("show a grupo")
    .argument("<grupo-id>")
    .action(
      action(async (context, _options, [id]) => {
        const response = await context.session.client(GrupoService, "grupos").getGrupo({ grupoId: id ?? "" });
        if (context.json) printJson(GetGrupoResponseSchema, response);
        else if (response.grupo) print(grupoDetails(response.grupo));
      }),
    );

  grupos
    .command("activate")
    .description("activate a grupo (EM_FORMACAO → ATIVO)")
    .argument("<grupo-id>")
    .option("--version <n>", "the version you read (default: the current one)")
    .option("--request-id <id>")
    .action(
      action<{ version?: string; requestId?: string }>(async (context, options, [id]) => {
        const client = context.session.client(GrupoService, "grupos");
        const version =
          options.version !== undefined
            ? parseInteger(options.version, "--version")
            : ((await client.getGrupo({ grupoId: id ?? "" })).grupo?.version ?? 0);
        const response = await client.ativarGrupo({
          grupoId: id ?? "",
          version,
          requestId: options.requestId ?? "",
        });
        if (context.json) printJson(AtivarGrupoResponseSchema, response);
        else if (response.grupo) print(grupoDetails(response.grupo));
      }),
    );

  grupos
    .command("cronograma")
    .description("the grupo's assembleias and due dates, month by month")
    .argument("<grupo-id>")
    .action(
      action(async (context, _options, [id]) => {
        const response = await context.session
          .client(GrupoService, "grupos")
          .getCronograma({ grupoId: id ?? "" });
        if (context.json) {
          printJson(GetCronogramaResponseSchema, response);
          return;
        }
        print(
          table(
            ["mês", "assembleia", "vencimento", "assembleia prevista", "vencimento previsto"],
            response.datas.map((d) => [
              d.mes,
              date(d.assembleia),
              date(d.vencimento),
              date(d.assembleiaPrevista),
              date(d.vencimentoPrevisto),
            ]),
          ),
        );
      }),
    );

  const cotas = program.command("cotas").description("cotas of grupos");
  cotas
    .command("aderir")
    .description("a consorciado joins a grupo (adesão): a new cota")
    .requiredOption("--grupo <grupo-id>")
    .requiredOption("--consorciado <consorciado-id>")
    .option("--request-id <id>")
    .action(
      action<{ grupo: string; consorciado: string; requestId?: string }>(async (context, options) => {
        const response = await context.session.client(CotaService, "grupos").aderirGrupo({
          grupoId: options.grupo,
          consorciadoId: options.consorciado,
          requestId: options.requestId ?? "",
        });
        if (context.json) printJson(AderirGrupoResponseSchema, response);
        else if (response.cota) print(cotaDetails(response.cota));
        else throw new CliError("no cota in the answer");
      }),
    );
}
