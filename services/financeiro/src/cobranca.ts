// Monthly billing of a grupo, set-based: cotas are read in chunks by id, each chunk's parcelas
// (amounts from the engine's percentages, boleto and Pix per row) stream in with one
// `COPY parcela FROM STDIN` in the unit of work's transaction, never one INSERT per parcela,
// under a per-grupo lock.
// Unique (cota, competência) makes a second run create nothing.
import { type CivilDate, civilDate, Dec } from "@consorcio/domain";
import { NotFoundError } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import type { GeradorDocumentos } from "./documentos.ts";
import { computeParcela, type Percentuais, percentuaisDoPlano, type ValoresParcela } from "./domain/plano.ts";
import { civilFromDb, competenciaOf, monthsBetween, parseCompetencia } from "./mapping.ts";
import { findGrupo, type GrupoRecord } from "./store/projecao.ts";
import { bulk, copyIn, copyText } from "./store/sql.ts";

export const CHUNK = 10_000;
/** Parcelas per INSERT statement. */
const LOTE = 2_000;
const FATURAVEIS = "('ATIVA', 'INADIMPLENTE', 'CONTEMPLADA')";

export interface Plano {
  percentuais: Percentuais[];
  seguro: Dec;
  preco: bigint;
  valores: Map<string, ValoresParcela>;
}

export function planoDoGrupo(grupo: GrupoRecord): Plano {
  return {
    percentuais: percentuaisDoPlano({
      precoCentavos: grupo.precoCentavos,
      prazoMeses: grupo.prazoMeses,
      taxaAdministracao: new Dec(grupo.taxaAdministracao),
      fundoReserva: new Dec(grupo.fundoReserva),
      seguroMensal: new Dec(grupo.seguroMensal),
      antecipacaoTaxa: new Dec(grupo.antecipacaoTaxa).isZero() ? undefined : new Dec(grupo.antecipacaoTaxa),
      fundoComumPorMes:
        grupo.fundoComumPorMes.length > 0 ? grupo.fundoComumPorMes.map((v) => new Dec(v)) : undefined,
    }),
    seguro: new Dec(grupo.seguroMensal),
    preco: grupo.precoCentavos,
    valores: new Map(),
  };
}

/** The amounts of month `numero` (1-based); with the TA advance only on the adesão bill. */
export function valoresDoMes(
  plano: Plano,
  numero: number,
  comAntecipacao: boolean,
): { valores: ValoresParcela; percentuais: Percentuais } {
  const percentuais = plano.percentuais[numero - 1] as Percentuais;
  const key = `${numero}:${comAntecipacao}`;
  let valores = plano.valores.get(key);
  if (!valores) {
    const { antecipacaoTaxa: _omit, ...semAntecipacao } = percentuais;
    valores = computeParcela(comAntecipacao ? percentuais : semAntecipacao, plano.preco, plano.seguro);
    plano.valores.set(key, valores);
  }
  return { valores, percentuais };
}

/** Due date of a competência: the grupo's due day (the month's last day if shorter). */
export function vencimentoDa(competencia: { year: number; month: number }, dia: number): CivilDate {
  const last = new Date(Date.UTC(competencia.year, competencia.month, 0)).getUTCDate();
  return civilDate(competencia.year, competencia.month, Math.min(dia, last));
}

export interface NovaParcela {
  id: string;
  cotaId: string;
  grupoId: string;
  consorciadoId: string;
  competencia: string;
  tipo: "MENSAL" | "ADESAO" | "LANCE";
  numero: number;
  vencimento: CivilDate;
  valores: ValoresParcela;
  percentuais: Percentuais;
  contemplacaoId?: string;
}

const iso = (d: CivilDate) =>
  `${String(d.year).padStart(4, "0")}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}`;

/** Inserts parcelas with their documents; returns the ids inserted. */
export async function insertParcelas(
  em: EntityManager,
  parcelas: readonly NovaParcela[],
  documentos: GeradorDocumentos,
): Promise<string[]> {
  if (parcelas.length === 0) return [];
  const seqs = await drawSequencia(em, parcelas.length);
  return insertParcelaRows(em, parcelaRows(parcelas, seqs, documentos));
}

const textosCache = new WeakMap<Percentuais, { pfc: string; pta: string; pfr: string }>();

/** The percentages as text, once per month of the plan (toFixed on 40 digits is not free). */
function textos(p: NovaParcela): { pfc: string; pta: string; pfr: string } {
  if (p.tipo === "ADESAO")
    return {
      pfc: p.percentuais.fundoComum.toFixed(),
      pta: p.percentuais.taxaAdministracao.plus(p.percentuais.antecipacaoTaxa ?? 0).toFixed(),
      pfr: p.percentuais.fundoReserva.toFixed(),
    };
  let t = textosCache.get(p.percentuais);
  if (!t) {
    t = {
      pfc: p.percentuais.fundoComum.toFixed(),
      pta: p.percentuais.taxaAdministracao.toFixed(),
      pfr: p.percentuais.fundoReserva.toFixed(),
    };
    textosCache.set(p.percentuais, t);
  }
  return t;
}

/** The JSON batch of `parcelas` with their documents, `seqs` their nosso número sequence numbers. */
export function parcelaRows(
  parcelas: readonly NovaParcela[],
  seqs: readonly string[],
  documentos: GeradorDocumentos,
): string {
  const rows = parcelas.map((p, i) => {
    const docs = documentos({
      sequencial: BigInt(seqs[i] as string),
      vencimento: p.vencimento,
      valorCentavos: p.valores.totalCentavos,
    });
    return {
      id: p.id,
      c: p.cotaId,
      g: p.grupoId,
      o: p.consorciadoId,
      k: p.competencia,
      t: p.tipo,
      n: p.numero,
      v: iso(p.vencimento),
      vl: p.valores.totalCentavos.toString(),
      fc: p.valores.fundoComumCentavos.toString(),
      ta: p.valores.taxaAdministracaoCentavos.toString(),
      fr: p.valores.fundoReservaCentavos.toString(),
      sg: p.valores.seguroCentavos.toString(),
      tx: p.valores.antecipacaoTaxaCentavos.toString(),
      ...textos(p),
      nn: docs.nossoNumero,
      cb: docs.codigoBarras,
      ld: docs.linhaDigitavel,
      pt: docs.pixTxid,
      pc: docs.pixCopiaECola,
      ct: p.contemplacaoId ?? null,
    };
  });
  return JSON.stringify(rows);
}

const COPY_PARCELA = `copy parcela (id, cota_id, grupo_id, consorciado_id, competencia, tipo, numero, vencimento,
  valor_centavos, fundo_comum_centavos, taxa_administracao_centavos, fundo_reserva_centavos, seguro_centavos,
  taxa_antecipada_centavos, fundo_comum_percentual, taxa_administracao_percentual, fundo_reserva_percentual,
  nosso_numero, codigo_barras, linha_digitavel, pix_txid, pix_copia_e_cola, situacao, contemplacao_id) from stdin`;

const valoresCache = new WeakMap<ValoresParcela, WeakMap<Percentuais, string>>();

/** The amount and percentage columns of a plan month as COPY text, once per month. */
function valoresText(p: NovaParcela): string {
  let porPercentuais = valoresCache.get(p.valores);
  if (!porPercentuais) {
    porPercentuais = new WeakMap();
    valoresCache.set(p.valores, porPercentuais);
  }
  let text = p.tipo === "ADESAO" ? undefined : porPercentuais.get(p.percentuais);
  if (text === undefined) {
    const v = p.valores;
    const t = textos(p);
    text = [
      v.totalCentavos,
      v.fundoComumCentavos,
      v.taxaAdministracaoCentavos,
      v.fundoReservaCentavos,
      v.seguroCentavos,
      v.antecipacaoTaxaCentavos,
      t.pfc,
      t.pta,
      t.pfr,
    ].join("\t");
    if (p.tipo !== "ADESAO") porPercentuais.set(p.percentuais, text);
  }
  return text;
}

/** COPY text lines of `parcelas` with their documents, `seqs` their nosso número sequence numbers. */
export function parcelaCopyLines(
  parcelas: readonly NovaParcela[],
  seqs: readonly string[],
  documentos: GeradorDocumentos,
): string {
  let out = "";
  for (let i = 0; i < parcelas.length; i++) {
    const p = parcelas[i] as NovaParcela;
    const docs = documentos({
      sequencial: BigInt(seqs[i] as string),
      vencimento: p.vencimento,
      valorCentavos: p.valores.totalCentavos,
    });
    out += `${p.id}\t${p.cotaId}\t${p.grupoId}\t${p.consorciadoId}\t${copyText(p.competencia)}\t${p.tipo}\t${p.numero}\t${iso(p.vencimento)}\t${valoresText(p)}\t${copyText(docs.nossoNumero)}\t${docs.codigoBarras}\t${docs.linhaDigitavel}\t${copyText(docs.pixTxid)}\t${copyText(docs.pixCopiaECola)}\tABERTA\t${p.contemplacaoId ?? "\\N"}\n`;
  }
  return out;
}

/** Draws `n` nosso número sequence numbers in one query. */
export async function drawSequencia(em: EntityManager, n: number): Promise<string[]> {
  if (n === 0) return [];
  const seq = await bulk<{ n: string }>(
    em,
    "select nextval('nosso_numero_seq')::text as n from generate_series(1, ?)",
    [n],
  );
  return seq.map((r) => r.n);
}

/** Inserts a batch from parcelaRows (a cota already billed for the competência is skipped); returns the ids inserted. */
export async function insertParcelaRows(
  em: EntityManager,
  json: string,
  skipConflicts = true,
): Promise<string[]> {
  const inserted = await bulk<{ id: string }>(
    em,
    `insert into parcela (id, cota_id, grupo_id, consorciado_id, competencia, tipo, numero, vencimento,
       valor_centavos, fundo_comum_centavos, taxa_administracao_centavos, fundo_reserva_centavos, seguro_centavos,
       taxa_antecipada_centavos, fundo_comum_percentual, taxa_administracao_percentual, fundo_reserva_percentual,
       nosso_numero, codigo_barras, linha_digitavel, pix_txid, pix_copia_e_cola, situacao, contemplacao_id)
     select id, c, g, o, k, t, n, v, vl, fc, ta, fr, sg, tx, pfc, pta, pfr, nn, cb, ld, pt, pc, 'ABERTA', ct
       from json_to_recordset(?::json) as r(id uuid, c uuid, g uuid, o uuid, k text, t text, n int, v date,
         vl bigint, fc bigint, ta bigint, fr bigint, sg bigint, tx bigint, pfc numeric, pta numeric, pfr numeric,
         nn text, cb text, ld text, pt text, pc text, ct uuid)
     ${skipConflicts ? "on conflict do nothing" : ""} returning id`,
    [json],
  );
  return inserted.map((r) => r.id);
}

export interface ResultadoCobranca {
  geradas: number;
  existentes: number;
  vencimento: CivilDate;
}

/**
 * Bills every billable cota of the grupo for the competência; a second run creates nothing. The
 * batch is one CobrancaGerada (routes.ts), not a ParcelaGerada per parcela: the outbox relay
 * publishes a few hundred messages a second, so a million-cota billing would put every other
 * financeiro event (PagamentoRealizado, CotaExcluida…) behind a backlog of an hour.
 */
export async function gerarCobranca(
  em: EntityManager,
  grupoId: string,
  competenciaText: string,
  documentos: GeradorDocumentos,
  chunk = CHUNK,
): Promise<ResultadoCobranca> {
  const competencia = parseCompetencia(competenciaText);
  const grupo = await findGrupo(em, grupoId);
  if (!grupo) throw new NotFoundError(`grupo ${grupoId} is not known to financeiro`);
  // One billing of a grupo and competência at a time: a concurrent twin waits, then finds every cota billed.
  await bulk(em, "select pg_advisory_xact_lock(hashtextextended(?, 0))", [
    `cobranca:${grupoId}:${competenciaText}`,
  ]);
  const plano = planoDoGrupo(grupo);
  const vencimento = vencimentoDa(competencia, grupo.diaVencimento);
  let cursor = "00000000-0000-0000-0000-000000000000";
  let geradas = 0;
  let faturaveis = 0;
  for (;;) {
    const cotas = await bulk<{
      id: string;
      consorciado_id: string;
      data_adesao: string;
      mes_inicial: number;
      faturada: boolean;
    }>(
      em,
      `select c.id, c.consorciado_id, c.data_adesao::text, c.mes_inicial,
         exists (select 1 from parcela p where p.cota_id = c.id and p.competencia = ? and p.tipo <> 'LANCE') as faturada
       from cota c where c.grupo_id = ? and c.situacao in ${FATURAVEIS} and c.id > ?
       order by c.id limit ?`,
      [competenciaText, grupoId, cursor, chunk],
    );
    if (cotas.length === 0) break;
    cursor = (cotas.at(-1) as { id: string }).id;
    const novas: NovaParcela[] = [];
    for (const cota of cotas) {
      const adesao = civilFromDb(cota.data_adesao);
      const numero = cota.mes_inicial + monthsBetween(adesao, competencia);
      if (numero < 1 || numero > grupo.prazoMeses || monthsBetween(adesao, competencia) < 0) continue;
      faturaveis++;
      if (cota.faturada) continue;
      const { valores, percentuais } = valoresDoMes(plano, numero, false);
      novas.push({
        id: uuidv7(),
        cotaId: cota.id,
        grupoId,
        consorciadoId: cota.consorciado_id,
        competencia: competenciaText,
        tipo: "MENSAL",
        numero,
        vencimento,
        valores,
        percentuais,
      });
    }
    // Under the grupo's billing lock, cotas already billed were left out above: a plain COPY; the
    // unique index still refuses a duplicate. Rows are built while the database loads the previous ones.
    const seqs = await drawSequencia(em, novas.length);
    if (novas.length > 0)
      geradas += await copyIn(em, COPY_PARCELA, async (sink) => {
        for (let i = 0; i < novas.length; i += LOTE)
          await sink(parcelaCopyLines(novas.slice(i, i + LOTE), seqs.slice(i, i + LOTE), documentos));
      });
    if (cotas.length < chunk) break;
  }
  return { geradas, existentes: faturaveis - geradas, vencimento };
}

export { competenciaOf };
