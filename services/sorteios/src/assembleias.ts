// The assembleia use cases: lifecycle, the four-eyes extraction, the apuração and its record.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import type { Cota } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import { type Grupo, TipoLance as TipoLanceGrupo } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import {
  type Apuracao,
  ApuracaoSchema,
  type Assembleia,
  AssembleiaStatus,
  type Extracao,
  LanceClassificadoSchema,
  Modalidade,
  type Resultado,
  ResultadoContemplacaoSchema,
  ResultadoSchema,
  type Saga,
  SagaPassoSchema,
  SagaSchema,
  SagaStatus,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import type { VerifyApuracaoResponse } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import {
  AssembleiaAgendadaSchema,
  AssembleiaEncerradaSchema,
  ContemplacaoProcessadaSchema,
  SorteioExecutadoSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { CandidatoSchema } from "@consorcio/gen/consorcio/sorteios/v1/sorteio_pb.js";
import {
  ConflictError,
  decodeCursor,
  encodeCursor,
  FailedPreconditionError,
  InvalidArgumentError,
  NotFoundError,
  type UnitOfWork,
} from "@consorcio/platform";
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import {
  apurar,
  type ContemplacaoApurada,
  type EntradaApuracao,
  hashEntrada,
  hashResultado,
  REGRA,
  type ResultadoApuracao,
  sortearRestituicao,
} from "./domain/apuracao.ts";
import { canonicalJson, sha256Hex } from "./domain/canonico.ts";
import type { TipoLance } from "./domain/lances.ts";
import { valorRestituicao } from "./domain/restituicao.ts";
import type { Candidato } from "./domain/sorteio.ts";
import {
  type Assembleias,
  assembleiaToMessage,
  type Contemplacoes,
  contemplacaoToMessage,
  dateToText,
  extracaoToMessage,
  textToDate,
} from "./mapping.ts";
import { elegivel, excluida, type Peers } from "./peers.ts";
import { ApuracaoRow, AssembleiaRow, ContemplacaoRow, LanceRow, SagaPassoRow } from "./store/entities.ts";

const DEFAULT_PAGE_SIZE = 50;
const TIPOS: Record<number, TipoLance> = {
  [TipoLanceGrupo.LIVRE]: "LIVRE",
  [TipoLanceGrupo.FIXO]: "FIXO",
  [TipoLanceGrupo.EMBUTIDO]: "EMBUTIDO",
};

/** A stored result reads back with its centavos as text. */
type Armazenado<T> = T extends bigint
  ? string
  : T extends (infer U)[]
    ? Armazenado<U>[]
    : T extends object
      ? { [K in keyof T]: Armazenado<T[K]> }
      : T;
export type ResultadoArmazenado = Armazenado<ResultadoApuracao>;

export function passo(
  em: EntityManager,
  input: {
    assembleiaId: string;
    contemplacaoId?: string;
    cotaNumero?: number;
    evento: string;
    descricao: string;
  },
  now: Date,
): void {
  em.create(SagaPassoRow, {
    id: uuidv7(),
    assembleiaId: input.assembleiaId,
    contemplacaoId: input.contemplacaoId ?? null,
    cotaNumero: input.cotaNumero ?? 0,
    evento: input.evento,
    descricao: input.descricao,
    occurredAt: now,
  });
}

const candidatoMsg = (c: Candidato) => create(CandidatoSchema, c);

/** The civil date in São Paulo (the administradora's calendar). */
export function hojeEmSaoPaulo(now: Date): string {
  return new Intl.DateTimeFormat("en-CA", { timeZone: "America/Sao_Paulo" }).format(now);
}

export function contemplacaoProcessada(row: Contemplacoes, data: string, dataContemplacao: string) {
  return create(ContemplacaoProcessadaSchema, {
    contemplacaoId: row.id,
    assembleiaId: row.assembleiaId,
    grupoId: row.grupoId,
    cotaId: row.cotaId,
    modalidade: Modalidade[row.modalidade],
    creditoCentavos: BigInt(row.creditoCentavos),
    lanceCentavos: BigInt(row.lanceCentavos),
    lanceEmbutidoCentavos: BigInt(row.embutidoCentavos),
    cotaNumero: row.cotaNumero,
    dataAssembleia: textToDate(data),
    lancePercentual: row.lancePercentual,
    substituiContemplacaoId: row.substituiContemplacaoId ?? "",
    dataContemplacao: textToDate(dataContemplacao),
  });
}

export class AssembleiaUseCases {
  private readonly peers: Peers;

  constructor(peers: Peers) {
    this.peers = peers;
  }

  async load(em: EntityManager, id: string, lock = false): Promise<Assembleias> {
    const row = await em.findOne(AssembleiaRow, { id }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!row) throw new NotFoundError(`assembleia ${id} not found`);
    return row;
  }

  private async loadVersioned(em: EntityManager, id: string, version: number): Promise<Assembleias> {
    const row = await this.load(em, id, true);
    if (row.version !== version)
      throw new ConflictError("assembleia changed since it was read: reload and retry");
    return row;
  }

  /** Creates the assembleia of month `numero` once; AssembleiaAgendada only when it is new. */
  async agendar(uow: UnitOfWork, grupoId: string, numero: number, data: string, now: Date): Promise<boolean> {
    const id = uuidv7();
    const inserted = await uow.em.execute<{ id: string }[]>(
      `insert into assembleia (id, grupo_id, numero, data, status, created_at, updated_at, version)
       values (?, ?, ?, ?, 'AGENDADA', ?, ?, 1) on conflict (grupo_id, numero) do nothing returning id`,
      [id, grupoId, numero, data, now, now],
    );
    if (inserted.length === 0) return false;
    uow.publish(
      AssembleiaAgendadaSchema,
      create(AssembleiaAgendadaSchema, { assembleiaId: id, grupoId, numero, data: textToDate(data) }),
    );
    return true;
  }

  async get(em: EntityManager, id: string): Promise<Assembleia> {
    return assembleiaToMessage(await this.load(em, id));
  }

  async list(
    em: EntityManager,
    input: { grupoId: string; status: AssembleiaStatus; pageSize: number; pageToken: string },
  ): Promise<{ assembleias: Assembleia[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodeCursor(input.pageToken, /^[0-9]{1,6}$/);
    const where: Record<string, unknown> = { grupoId: input.grupoId };
    if (after) where.numero = { $gt: Number(after) };
    if (input.status) where.status = AssembleiaStatus[input.status];
    const rows = await em.find(AssembleiaRow, where, { orderBy: { numero: "asc" }, limit: pageSize + 1 });
    const items = rows.slice(0, pageSize);
    return {
      assembleias: items.map(assembleiaToMessage),
      nextPageToken: rows.length > pageSize ? encodeCursor(String(items.at(-1)?.numero)) : "",
    };
  }

  async abrirLances(uow: UnitOfWork, id: string, version: number): Promise<Assembleia> {
    const row = await this.loadVersioned(uow.em, id, version);
    if (row.status !== "AGENDADA")
      throw new FailedPreconditionError(`lances só abrem numa assembleia AGENDADA (está ${row.status})`);
    row.status = "ABERTA_PARA_LANCES";
    await uow.em.flush();
    return assembleiaToMessage(row);
  }

  async encerrarLances(uow: UnitOfWork, id: string, version: number, now: Date): Promise<Assembleia> {
    const row = await this.loadVersioned(uow.em, id, version);
    if (row.status !== "ABERTA_PARA_LANCES" || row.lancesEncerradosAt)
      throw new FailedPreconditionError("a janela de lances não está aberta");
    row.lancesEncerradosAt = now;
    await uow.em.flush();
    return assembleiaToMessage(row);
  }

  async registerExtracao(
    uow: UnitOfWork,
    input: { id: string; version: number; extracao: Extracao },
    actor: string,
    now: Date,
  ): Promise<Assembleia> {
    const row = await this.loadVersioned(uow.em, input.id, input.version);
    if (row.status !== "AGENDADA" && row.status !== "ABERTA_PARA_LANCES")
      throw new FailedPreconditionError(`a assembleia já foi apurada (${row.status})`);
    if (row.confirmadaPor) throw new FailedPreconditionError("a extração já foi confirmada");
    const data = validData(input.extracao);
    row.extracaoNumero = input.extracao.numero;
    row.extracaoData = data;
    row.premios = [...input.extracao.premios];
    row.registradaPor = actor;
    row.registradaAt = now;
    await uow.em.flush();
    return assembleiaToMessage(row);
  }

  /** Four eyes: another user re-enters the extraction, and it must match. */
  async confirmExtracao(
    uow: UnitOfWork,
    input: { id: string; version: number; extracao: Extracao },
    actor: string,
    now: Date,
  ): Promise<Assembleia> {
    const row = await this.loadVersioned(uow.em, input.id, input.version);
    if (!row.registradaPor) throw new FailedPreconditionError("nenhuma extração registrada");
    if (row.confirmadaPor) throw new FailedPreconditionError("a extração já foi confirmada");
    if (row.registradaPor === actor)
      throw new FailedPreconditionError("a extração deve ser confirmada por outro usuário (quatro olhos)");
    const data = validData(input.extracao);
    const igual =
      row.extracaoNumero === input.extracao.numero &&
      row.extracaoData === data &&
      JSON.stringify(row.premios) === JSON.stringify(input.extracao.premios);
    if (!igual) throw new FailedPreconditionError("a extração confirmada difere da registrada");
    row.confirmadaPor = actor;
    row.confirmadaAt = now;
    await uow.em.flush();
    return assembleiaToMessage(row);
  }

  /** The inputs of an apuração, as the peers report them now. */
  private async entrada(
    em: EntityManager,
    row: Assembleias,
    context: HandlerContext,
  ): Promise<{ entrada: EntradaApuracao; grupo: Grupo; porNumero: Map<number, Cota> }> {
    const [grupo, cotas, caixa] = await Promise.all([
      this.peers.grupo(row.grupoId, context),
      this.peers.cotas(row.grupoId, context),
      this.peers.caixa(row.grupoId, context),
    ]);
    const lances = await em.find(
      LanceRow,
      { assembleiaId: row.id, status: "REGISTRADO" },
      { orderBy: { cotaNumero: "asc" } },
    );
    const restituidas = new Set(
      (
        await em.find(ContemplacaoRow, {
          grupoId: row.grupoId,
          modalidade: "RESTITUICAO",
          status: { $ne: "CANCELADA" },
        })
      ).map((c) => c.cotaId),
    );
    const porNumero = new Map(cotas.map((c) => [c.numero, c]));
    const regras = grupo.regrasLance;
    const sorteio = grupo.regrasSorteio;
    const entrada: EntradaApuracao = {
      regra: REGRA,
      assembleiaId: row.id,
      grupoId: row.grupoId,
      extracao: { numero: row.extracaoNumero ?? 0, data: row.extracaoData ?? "", premios: row.premios ?? [] },
      quantidadeCotas: grupo.quantidadeCotas,
      regraSorteio: {
        premiosConsiderados: sorteio?.premiosConsiderados || 5,
        deslocados: !sorteio?.semCandidatosDeslocados,
      },
      sorteioExcluidos: !sorteio?.semSorteioExcluidos,
      contemplacoesPlanejadas: grupo.contemplacoesPorAssembleia,
      creditoCentavos: (grupo.bem?.precoCentavos ?? 0n).toString(),
      fundoComumCentavos: caixa.fundoComumCentavos.toString(),
      fundoReservaCentavos: caixa.fundoReservaCentavos.toString(),
      cotasElegiveis: cotas
        .filter(elegivel)
        .map((c) => c.numero)
        .sort((a, b) => a - b),
      cotasExcluidas: cotas
        .filter((c) => excluida(c) && !restituidas.has(c.id))
        .map((c) => c.numero)
        .sort((a, b) => a - b),
      restituicoes: [],
      regrasLance: {
        tiposPermitidos: (regras?.tiposPermitidos ?? []).flatMap((t) => (TIPOS[t] ? [TIPOS[t]] : [])),
        minimoLivre: regras?.percentualMinimoLivre || "0",
        fixo: regras?.percentualFixo ?? "",
        maximoEmbutido: regras?.percentualMaximoEmbutido || "30",
      },
      lances: lances.map((l) => ({
        cota: l.cotaNumero,
        tipo: l.tipo,
        percentual: l.percentual,
        embutido: l.percentualEmbutido || "0",
      })),
    };
    return { entrada, grupo, porNumero };
  }

  /** DOMAIN.md §4 with the cash financeiro reports; stores the record and starts the saga. */
  async runApuracao(
    uow: UnitOfWork,
    input: { id: string; version: number },
    now: Date,
    context: HandlerContext,
  ): Promise<{ assembleia: Assembleia; apuracao: Apuracao }> {
    const { em } = uow;
    const row = await this.loadVersioned(em, input.id, input.version);
    if (row.status !== "ABERTA_PARA_LANCES")
      throw new FailedPreconditionError(
        row.status === "AGENDADA" ? "a janela de lances ainda não foi aberta" : "a assembleia já foi apurada",
      );
    if (!row.confirmadaPor)
      throw new FailedPreconditionError("a extração da Loteria Federal não foi confirmada (quatro olhos)");
    const { entrada, grupo, porNumero } = await this.entrada(em, row, context);
    // The refund of the drawn excluded cota, read-only from its parcelas: financeiro books it
    // (from ContemplacaoProcessada) only if the money rule below contemplates it.
    const cotaRestituicao = sortearRestituicao(entrada);
    const cotaExcluida = cotaRestituicao === undefined ? undefined : porNumero.get(cotaRestituicao);
    if (cotaRestituicao !== undefined && cotaExcluida) {
      const valor = valorRestituicao({
        parcelas: await this.peers.parcelas(cotaExcluida.id, context),
        precoCentavos: BigInt(entrada.creditoCentavos),
        penalidadePercentual: grupo.percentualPenalidadeRestituicao,
      });
      entrada.restituicoes = [{ cota: cotaRestituicao, valorCentavos: valor.toString() }];
    }
    const resultado = apurar(entrada);
    const { json, sha256 } = hashEntrada(entrada);
    em.create(ApuracaoRow, {
      assembleiaId: row.id,
      grupoId: row.grupoId,
      entradaJson: json,
      entradaSha256: sha256,
      resultadoJson: canonicalJson(resultado),
      resultadoSha256: hashResultado(resultado),
      saldoCentavos: resultado.saldoFundoComumCentavos,
      apuradaAt: now,
    });
    row.status = "APURADA";
    row.apuradaAt = now;
    row.lancesEncerradosAt ??= now;
    const contemplacoes = resultado.contemplacoes.map((c) => this.contemplar(uow, row, c, porNumero, now));
    const lances = await em.find(LanceRow, { assembleiaId: row.id, status: "REGISTRADO" });
    const ganhadores = new Set(resultado.lances.filter((l) => l.contemplado).map((l) => l.cota));
    for (const lance of lances)
      lance.status = ganhadores.has(lance.cotaNumero) ? "CONTEMPLADO" : "NAO_CONTEMPLADO";
    uow.publish(
      SorteioExecutadoSchema,
      create(SorteioExecutadoSchema, {
        assembleiaId: row.id,
        grupoId: row.grupoId,
        extracaoNumero: entrada.extracao.numero,
        extracaoData: textToDate(entrada.extracao.data),
        premios: entrada.extracao.premios,
        numeroBase: resultado.sorteio.numeroBase,
        cotasSorteadas: resultado.sorteio.sorteadas,
        cotasRestituicao: resultado.restituicao?.sorteadas ?? [],
        entradaSha256: sha256,
      }),
    );
    passo(
      em,
      {
        assembleiaId: row.id,
        evento: SorteioExecutadoSchema.typeName,
        descricao: `apurada: ${contemplacoes.length} contemplações, base ${resultado.sorteio.numeroBase}`,
      },
      now,
    );
    await em.flush();
    await this.encerrarSeConcluida(uow, row, now);
    return { assembleia: assembleiaToMessage(row), apuracao: await this.apuracao(em, row.id) };
  }

  /** A contemplação row and its ContemplacaoProcessada; a restitution is settled by financeiro's RestituicaoCalculada. */
  contemplar(
    uow: UnitOfWork,
    row: Assembleias,
    c: Omit<ContemplacaoApurada, "ordem"> & { ordem: number },
    porNumero: Map<number, Cota>,
    now: Date,
    substitui?: string,
  ): Contemplacoes {
    const cota = porNumero.get(c.cota);
    if (!cota) throw new FailedPreconditionError(`cota ${c.cota} desconhecida no grupo`);
    const contemplacao = uow.em.create(ContemplacaoRow, {
      id: uuidv7(),
      assembleiaId: row.id,
      grupoId: row.grupoId,
      cotaId: cota.id,
      cotaNumero: c.cota,
      modalidade: c.modalidade,
      creditoCentavos: c.creditoCentavos,
      lanceCentavos: c.lanceCentavos,
      embutidoCentavos: c.embutidoCentavos,
      custoCentavos: c.custoCentavos,
      lancePercentual: c.percentual,
      status: "PROCESSADA",
      cotaMarcada: false,
      substituiContemplacaoId: substitui ?? null,
      ordem: c.ordem,
    });
    // A compensation is made on the day of the cancellation: its lance's deadline runs from then.
    const dataContemplacao = substitui ? hojeEmSaoPaulo(now) : row.data;
    uow.publish(
      ContemplacaoProcessadaSchema,
      contemplacaoProcessada(contemplacao, row.data, dataContemplacao),
    );
    passo(
      uow.em,
      {
        assembleiaId: row.id,
        contemplacaoId: contemplacao.id,
        cotaNumero: c.cota,
        evento: ContemplacaoProcessadaSchema.typeName,
        descricao: `${c.modalidade}${substitui ? " (compensação)" : ""}`,
      },
      now,
    );
    return contemplacao;
  }

  /** ENCERRADA once every contemplação is settled (credit released or cancelled). */
  async encerrarSeConcluida(uow: UnitOfWork, row: Assembleias, now: Date): Promise<void> {
    if (row.status !== "APURADA") return;
    const abertas = await uow.em.count(ContemplacaoRow, {
      assembleiaId: row.id,
      status: { $nin: ["CREDITO_LIBERADO", "CANCELADA"] },
    });
    if (abertas > 0) return;
    const total = await uow.em.count(ContemplacaoRow, { assembleiaId: row.id });
    row.status = "ENCERRADA";
    row.encerradaAt = now;
    uow.publish(
      AssembleiaEncerradaSchema,
      create(AssembleiaEncerradaSchema, {
        assembleiaId: row.id,
        grupoId: row.grupoId,
        numero: row.numero,
        contemplacoes: total,
      }),
    );
    passo(
      uow.em,
      { assembleiaId: row.id, evento: AssembleiaEncerradaSchema.typeName, descricao: "saga concluída" },
      now,
    );
    await uow.em.flush();
  }

  private async apuracaoRow(em: EntityManager, id: string) {
    const row = await em.findOne(ApuracaoRow, { assembleiaId: id });
    if (!row) throw new NotFoundError(`assembleia ${id} has no apuração yet`);
    return row;
  }

  async apuracao(em: EntityManager, id: string): Promise<Apuracao> {
    const stored = await this.apuracaoRow(em, id);
    const assembleia = await this.load(em, id);
    const entrada = JSON.parse(stored.entradaJson) as EntradaApuracao;
    const r = JSON.parse(stored.resultadoJson) as ResultadoArmazenado;
    const contemplacoes = await em.find(ContemplacaoRow, { assembleiaId: id }, { orderBy: { ordem: "asc" } });
    return create(ApuracaoSchema, {
      assembleiaId: id,
      grupoId: stored.grupoId,
      extracao: extracaoToMessage(assembleia),
      regra: entrada.regra,
      quantidadeCotas: entrada.quantidadeCotas,
      digitos: r.digitos,
      span: r.span,
      entradaJson: stored.entradaJson,
      entradaSha256: stored.entradaSha256,
      candidatos: r.sorteio.candidatos.map(candidatoMsg),
      numeroBase: r.sorteio.numeroBase,
      candidatosRestituicao: (r.restituicao?.candidatos ?? []).map(candidatoMsg),
      lances: r.lances.map((l) =>
        create(LanceClassificadoSchema, {
          posicao: l.posicao,
          cotaNumero: l.cota,
          modalidade: l.tipo === "FIXO" ? Modalidade.LANCE_FIXO : Modalidade.LANCE_LIVRE,
          percentual: l.percentual,
          percentualEmbutido: l.embutido,
          distanciaBase: l.distancia,
          motivo: l.motivo,
          contemplado: l.contemplado,
        }),
      ),
      contemplacoes: contemplacoes.map(contemplacaoToMessage),
      fundoComumCentavos: BigInt(entrada.fundoComumCentavos),
      fundoReservaCentavos: BigInt(entrada.fundoReservaCentavos),
      saldoFinalCentavos: BigInt(r.saldoFundoComumCentavos),
      notas: r.notas,
      resultadoSha256: stored.resultadoSha256,
      apuradaTime: timestampFromDate(stored.apuradaAt),
    });
  }

  /** Re-runs the stored inputs through the rule: the proof that the apuração is reproducible. */
  async verify(em: EntityManager, id: string): Promise<Omit<VerifyApuracaoResponse, "$typeName">> {
    const stored = await this.apuracaoRow(em, id);
    const divergencias: string[] = [];
    if (sha256Hex(stored.entradaJson) !== stored.entradaSha256)
      divergencias.push("o hash da entrada não confere com a entrada armazenada");
    const entrada = JSON.parse(stored.entradaJson) as EntradaApuracao;
    if (canonicalJson(entrada) !== stored.entradaJson)
      divergencias.push("a entrada armazenada não é canônica");
    const recalculado = hashResultado(apurar(entrada));
    if (recalculado !== stored.resultadoSha256)
      divergencias.push("o resultado recalculado difere do armazenado");
    return {
      conforme: divergencias.length === 0,
      entradaSha256: stored.entradaSha256,
      resultadoSha256Armazenado: stored.resultadoSha256,
      resultadoSha256Recalculado: recalculado,
      divergencias,
    };
  }

  /** Grupo and cota numbers only (LGPD). */
  async resultado(em: EntityManager, id: string): Promise<Resultado> {
    const row = await this.load(em, id);
    if (row.status !== "APURADA" && row.status !== "ENCERRADA")
      throw new FailedPreconditionError("a assembleia ainda não foi apurada");
    const stored = await this.apuracaoRow(em, id);
    const r = JSON.parse(stored.resultadoJson) as ResultadoArmazenado;
    const contemplacoes = await em.find(ContemplacaoRow, { assembleiaId: id }, { orderBy: { ordem: "asc" } });
    return create(ResultadoSchema, {
      assembleiaId: id,
      grupoId: row.grupoId,
      assembleiaNumero: row.numero,
      data: textToDate(row.data),
      extracaoNumero: row.extracaoNumero ?? 0,
      premios: row.premios ?? [],
      numeroBase: r.sorteio.numeroBase,
      contemplacoes: contemplacoes.map((c) =>
        create(ResultadoContemplacaoSchema, {
          cotaNumero: c.cotaNumero,
          modalidade: Modalidade[c.modalidade],
          lancePercentual: c.lancePercentual,
          status: contemplacaoToMessage(c).status,
        }),
      ),
    });
  }

  async saga(em: EntityManager, id: string): Promise<Saga> {
    const row = await this.load(em, id);
    const [contemplacoes, passos] = await Promise.all([
      em.find(ContemplacaoRow, { assembleiaId: id }, { orderBy: { ordem: "asc" } }),
      em.find(SagaPassoRow, { assembleiaId: id }, { orderBy: { occurredAt: "asc", id: "asc" } }),
    ]);
    const status =
      row.status === "ENCERRADA"
        ? SagaStatus.CONCLUIDA
        : row.status === "APURADA"
          ? SagaStatus.EM_ANDAMENTO
          : SagaStatus.NAO_INICIADA;
    return create(SagaSchema, {
      assembleiaId: id,
      status,
      contemplacoes: contemplacoes.map(contemplacaoToMessage),
      passos: passos.map((p) =>
        create(SagaPassoSchema, {
          time: timestampFromDate(p.occurredAt),
          evento: p.evento,
          contemplacaoId: p.contemplacaoId ?? "",
          cotaNumero: p.cotaNumero,
          descricao: p.descricao,
        }),
      ),
    });
  }
}

function validData(extracao: Extracao): string {
  const data = dateToText(extracao.data);
  const parsed = new Date(`${data}T00:00:00Z`);
  if (!extracao.data || Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== data)
    throw new InvalidArgumentError([{ field: "extracao.data", message: "not a valid date" }]);
  return data;
}
