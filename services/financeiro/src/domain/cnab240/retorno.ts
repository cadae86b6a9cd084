// CNAB 240 retorno: segments T and U paired into one payment report per título. Tolerant per line:
// a malformed line is reported with its number and the rest of the file goes on.
import type { CivilDate } from "@consorcio/domain";
import {
  CampoInvalidoError,
  identifyLines,
  type LayoutCnab240,
  type LinhaIdentificada,
  readRecord,
  type ValorCampo,
  type Valores,
  writeArquivo,
} from "./layout.ts";

export interface LinhaRetornoOk {
  /** Line of the T segment (1-based); its U is on `lineNumberU`. */
  readonly lineNumber: number;
  readonly lineNumberU: number;
  readonly ok: true;
  readonly segment: "T";
  readonly lote: string;
  readonly nossoNumero: string;
  readonly codigoMovimento: string;
  /** Whether the movement is a payment (layout.movimentosLiquidacao, e.g. 06 and 17). */
  readonly liquidacao: boolean;
  readonly numeroDocumento: string;
  readonly usoEmpresa: string;
  readonly vencimento: CivilDate | null;
  readonly valorTituloCentavos: bigint;
  readonly valorPagoCentavos: bigint;
  readonly valorLiquidoCentavos: bigint;
  readonly jurosMultaCentavos: bigint;
  readonly descontoCentavos: bigint;
  readonly abatimentoCentavos: bigint;
  readonly tarifaCentavos: bigint;
  readonly outrasDespesasCentavos: bigint;
  /** Date of the occurrence (the payment, for a liquidação). */
  readonly dataPagamento: CivilDate | null;
  readonly dataCredito: CivilDate | null;
  readonly motivoOcorrencia: string;
  /** Every field of both segments, for what a bank's layout adds: only with `todosCampos` (else undefined). */
  readonly campos?: {
    readonly T: Readonly<Record<string, ValorCampo>>;
    readonly U: Readonly<Record<string, ValorCampo>>;
  };
}

export type TipoErroLinha = "MALFORMADA" | "DUPLICADA" | "DESCONHECIDA";

export interface LinhaRetornoErro {
  readonly lineNumber: number;
  readonly ok: false;
  readonly kind: TipoErroLinha;
  readonly error: string;
  /** For a DUPLICADA: the line of its first occurrence in the file. */
  readonly duplicateOf?: number;
}

export type LinhaRetorno = LinhaRetornoOk | LinhaRetornoErro;

export interface Retorno {
  readonly header: Readonly<Record<string, ValorCampo>> | undefined;
  /** One entry per título (T+U pair) or per bad detail line, in file order. */
  readonly lines: readonly LinhaRetorno[];
  /** Problems of the file's structure (headers, trailers, counts), with their line numbers. */
  readonly problems: ReadonlyArray<{ readonly lineNumber: number; readonly error: string }>;
}

const str = (v: ValorCampo | undefined): string => (typeof v === "string" ? v : "");
const money = (v: ValorCampo | undefined): bigint => (typeof v === "bigint" ? v : 0n);
const date = (v: ValorCampo | undefined): CivilDate | null =>
  v && typeof v === "object" && "year" in v && "month" in v && "day" in v && !("toFixed" in v)
    ? (v as CivilDate)
    : null;

const sameDate = (a: CivilDate | null, b: CivilDate | null) =>
  a === b || (a !== null && b !== null && a.year === b.year && a.month === b.month && a.day === b.day);

function message(e: unknown): string {
  return e instanceof CampoInvalidoError || e instanceof RangeError ? e.message : String(e);
}

/** The fields the engine maps into a LinhaRetornoOk (a bank's layout must name its fields so). */
const CAMPOS_T = new Set([
  "lote",
  "codigoMovimento",
  "nossoNumero",
  "numeroDocumento",
  "usoEmpresa",
  "vencimento",
  "valorTitulo",
  "valorTarifa",
  "motivoOcorrencia",
]);
const CAMPOS_U = new Set([
  "lote",
  "jurosMulta",
  "desconto",
  "abatimento",
  "valorPago",
  "valorLiquido",
  "outrasDespesas",
  "dataOcorrencia",
  "dataCredito",
]);

export interface ParseRetornoOptions {
  /** Read and return every field of T and U (`campos`), not only those the engine maps. Slower. */
  readonly todosCampos?: boolean;
}

export function parseRetorno(
  text: string,
  layout: LayoutCnab240,
  options: ParseRetornoOptions = {},
): Retorno {
  const records = identifyLines(text.replace(/^\uFEFF/, ""), layout);
  const lines: LinhaRetorno[] = [];
  const problems: Array<{ lineNumber: number; error: string }> = [];
  const seen = new Map<string, LinhaRetornoOk[]>();
  const segments = new Set(layout.retorno.segmentos);
  const liquidacao = new Set(layout.movimentosLiquidacao);
  let header: Record<string, ValorCampo> | undefined;
  let pending: { rec: LinhaIdentificada; values: Record<string, ValorCampo> | undefined } | undefined;
  let lotes = 0;
  let registrosNoLote = 0;

  const bad = (lineNumber: number, kind: TipoErroLinha, error: string) =>
    lines.push({ lineNumber, ok: false, kind, error });
  const flushPending = () => {
    if (pending?.values) bad(pending.rec.lineNumber, "MALFORMADA", "segment T without its segment U");
    pending = undefined;
  };

  for (const rec of records) {
    registrosNoLote++;
    if (rec.line.length !== layout.tamanhoRegistro) {
      flushPending();
      bad(
        rec.lineNumber,
        "MALFORMADA",
        `line has ${rec.line.length} characters, expected ${layout.tamanhoRegistro}`,
      );
      continue;
    }
    const registro = rec.registro ? layout.registros[rec.registro] : undefined;
    if (!rec.registro || !registro) {
      flushPending();
      const what =
        rec.tipoRegistro === "3"
          ? `segment ${JSON.stringify(rec.segmento)}`
          : `record type ${JSON.stringify(rec.tipoRegistro)}`;
      bad(rec.lineNumber, "DESCONHECIDA", `unknown ${what}`);
      continue;
    }
    if (rec.tipoRegistro !== "3") {
      flushPending();
      let values: Record<string, ValorCampo>;
      try {
        values = readRecord(registro, rec.line);
      } catch (e) {
        problems.push({ lineNumber: rec.lineNumber, error: `${rec.registro}: ${message(e)}` });
        continue;
      }
      if (rec.registro === "headerArquivo") header = values;
      else if (rec.registro === "headerLote") {
        lotes++;
        registrosNoLote = 1;
      } else if (rec.registro === "trailerLote") {
        const declared = Number(str(values.quantidadeRegistros));
        if (declared !== registrosNoLote)
          problems.push({
            lineNumber: rec.lineNumber,
            error: `trailer of lote declares ${declared} records, the lote has ${registrosNoLote}`,
          });
      } else if (rec.registro === "trailerArquivo") {
        const declaredLotes = Number(str(values.quantidadeLotes));
        const declaredRegistros = Number(str(values.quantidadeRegistros));
        if (declaredLotes !== lotes)
          problems.push({
            lineNumber: rec.lineNumber,
            error: `trailer declares ${declaredLotes} lotes, the file has ${lotes}`,
          });
        if (declaredRegistros !== records.length)
          problems.push({
            lineNumber: rec.lineNumber,
            error: `trailer declares ${declaredRegistros} records, the file has ${records.length}`,
          });
      }
      continue;
    }
    if (!segments.has(rec.segmento)) {
      flushPending();
      bad(rec.lineNumber, "DESCONHECIDA", `segment ${rec.segmento} does not belong in a retorno`);
      continue;
    }
    if (rec.segmento === "T") {
      flushPending();
      try {
        pending = { rec, values: readRecord(registro, rec.line, options.todosCampos ? undefined : CAMPOS_T) };
      } catch (e) {
        bad(rec.lineNumber, "MALFORMADA", `segment T: ${message(e)}`);
        pending = { rec, values: undefined };
      }
      continue;
    }
    // Segment U: completes the pending T.
    const t = pending;
    pending = undefined;
    if (!t) {
      bad(rec.lineNumber, "MALFORMADA", "segment U without its segment T");
      continue;
    }
    if (!t.values) {
      bad(rec.lineNumber, "MALFORMADA", `segment U of the malformed segment T at line ${t.rec.lineNumber}`);
      continue;
    }
    let u: Record<string, ValorCampo>;
    try {
      u = readRecord(registro, rec.line, options.todosCampos ? undefined : CAMPOS_U);
    } catch (e) {
      bad(rec.lineNumber, "MALFORMADA", `segment U (título of line ${t.rec.lineNumber}): ${message(e)}`);
      continue;
    }
    if (str(u.lote) !== str(t.values.lote)) {
      bad(
        rec.lineNumber,
        "MALFORMADA",
        `segment U is in lote ${str(u.lote)}, its T in lote ${str(t.values.lote)}`,
      );
      continue;
    }
    const T = t.values;
    const line: LinhaRetornoOk = {
      lineNumber: t.rec.lineNumber,
      lineNumberU: rec.lineNumber,
      ok: true,
      segment: "T",
      lote: str(T.lote),
      nossoNumero: str(T.nossoNumero),
      codigoMovimento: str(T.codigoMovimento),
      liquidacao: liquidacao.has(str(T.codigoMovimento)),
      numeroDocumento: str(T.numeroDocumento),
      usoEmpresa: str(T.usoEmpresa),
      vencimento: date(T.vencimento),
      valorTituloCentavos: money(T.valorTitulo),
      valorPagoCentavos: money(u.valorPago),
      valorLiquidoCentavos: money(u.valorLiquido),
      jurosMultaCentavos: money(u.jurosMulta),
      descontoCentavos: money(u.desconto),
      abatimentoCentavos: money(u.abatimento),
      tarifaCentavos: money(T.valorTarifa),
      outrasDespesasCentavos: money(u.outrasDespesas),
      dataPagamento: date(u.dataOcorrencia),
      dataCredito: date(u.dataCredito),
      motivoOcorrencia: str(T.motivoOcorrencia),
      campos: options.todosCampos ? { T, U: u } : undefined,
    };
    // Same título, movement, date and amount twice in one file: the second is a duplicate.
    const sameTitulo = seen.get(line.nossoNumero);
    const first = sameTitulo?.find(
      (x) =>
        x.codigoMovimento === line.codigoMovimento &&
        x.valorPagoCentavos === line.valorPagoCentavos &&
        sameDate(x.dataPagamento, line.dataPagamento),
    );
    if (first) {
      lines.push({
        lineNumber: line.lineNumber,
        ok: false,
        kind: "DUPLICADA",
        error: `same título, movement, date and amount as line ${first.lineNumber}`,
        duplicateOf: first.lineNumber,
      });
      continue;
    }
    if (sameTitulo) sameTitulo.push(line);
    else seen.set(line.nossoNumero, [line]);
    lines.push(line);
  }
  flushPending();
  if (!header) problems.push({ lineNumber: 1, error: "no valid file header" });
  return { header, lines, problems };
}

// ---------------------------------------------------------------- writing a retorno (banks do; tests and simulations too)

export interface EmpresaCnab {
  /** 3-digit bank code. */
  readonly banco: string;
  readonly bancoNome: string;
  /** 1 CPF, 2 CNPJ. */
  readonly empresaTipoInscricao: "1" | "2";
  readonly empresaInscricao: string;
  readonly empresaNome: string;
  readonly convenio: string;
  readonly agencia: string;
  readonly agenciaDv: string;
  readonly conta: string;
  readonly contaDv: string;
  readonly agenciaContaDv?: string;
}

export interface TituloRetorno {
  readonly nossoNumero: string;
  /** 06 liquidação, 02 entrada confirmada, 09 baixa, … */
  readonly codigoMovimento: string;
  readonly valorTituloCentavos: bigint;
  readonly valorPagoCentavos: bigint;
  readonly dataPagamento: CivilDate;
  readonly dataCredito?: CivilDate;
  readonly vencimento?: CivilDate;
  readonly numeroDocumento?: string;
  readonly usoEmpresa?: string;
  readonly jurosMultaCentavos?: bigint;
  readonly tarifaCentavos?: bigint;
}

export interface RetornoInput {
  readonly empresa: EmpresaCnab;
  readonly sequencialArquivo: number;
  readonly dataGeracao: CivilDate;
  readonly titulos: readonly TituloRetorno[];
}

/** A retorno file as a bank writes it: one lote, a T and a U per título. */
export function writeRetorno(input: RetornoInput, layout: LayoutCnab240, maxRegistrosLote?: number): string {
  const base: Valores = { ...input.empresa };
  return writeArquivo(
    layout,
    {
      ...input.empresa,
      codigoArquivo: "2",
      dataGeracao: input.dataGeracao,
      horaGeracao: "000000",
      sequencialArquivo: input.sequencialArquivo,
    },
    {
      ...base,
      operacao: "T",
      numeroRemessaRetorno: input.sequencialArquivo,
      dataGravacao: input.dataGeracao,
    },
    input.titulos.map((t) => {
      const common = { ...base, codigoMovimento: t.codigoMovimento };
      return {
        valorCentavos: t.valorPagoCentavos,
        detalhes: [
          {
            registro: "T",
            values: {
              ...common,
              nossoNumero: t.nossoNumero,
              numeroDocumento: t.numeroDocumento,
              usoEmpresa: t.usoEmpresa,
              vencimento: t.vencimento ?? null,
              valorTitulo: t.valorTituloCentavos,
              valorTarifa: t.tarifaCentavos ?? 0n,
            },
          },
          {
            registro: "U",
            values: {
              ...common,
              jurosMulta: t.jurosMultaCentavos ?? 0n,
              valorPago: t.valorPagoCentavos,
              valorLiquido: t.valorPagoCentavos - (t.tarifaCentavos ?? 0n),
              dataOcorrencia: t.dataPagamento,
              dataCredito: t.dataCredito ?? t.dataPagamento,
            },
          },
        ],
      };
    }),
    maxRegistrosLote,
  );
}
