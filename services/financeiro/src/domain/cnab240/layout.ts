// Declarative CNAB 240 layouts: each record is a list of fields at fixed positions. The engine
// reads and writes any record of any layout; a bank is a layout file (layouts/*.json), not code.
import { type CivilDate, Dec } from "@consorcio/domain";
import febraban from "../../../layouts/febraban-240-v088.json" with { type: "json" };

export type TipoCampo = "num" | "alfa" | "data" | "valor" | "decimal";

export interface Campo {
  readonly nome: string;
  /** 1-based, inclusive. */
  readonly de: number;
  readonly ate: number;
  readonly tipo: TipoCampo;
  /** Written when the value is missing. */
  readonly padrao?: string;
  /** Reading: an empty value is an error. */
  readonly obrigatorio?: boolean;
  /** `decimal` only: implied decimal places. */
  readonly decimais?: number;
}

export interface Registro {
  readonly tipoRegistro: string;
  readonly segmento?: string;
  readonly campos: readonly Campo[];
}

export interface LayoutCnab240 {
  readonly nome: string;
  readonly tamanhoRegistro: number;
  readonly identificacao: {
    readonly tipoRegistro: readonly [number, number];
    readonly segmento: readonly [number, number];
  };
  /** Movement codes of the retorno that mean "paid" (liquidação). */
  readonly movimentosLiquidacao: readonly string[];
  readonly remessa: { readonly segmentos: readonly string[] };
  readonly retorno: { readonly segmentos: readonly string[] };
  readonly registros: Readonly<Record<string, Registro>> & {
    readonly headerArquivo: Registro;
    readonly headerLote: Registro;
    readonly trailerLote: Registro;
    readonly trailerArquivo: Registro;
  };
}

export type ValorCampo = string | bigint | CivilDate | Dec | null;
export type Valores = Readonly<Record<string, ValorCampo | number | undefined>>;

const TIPOS = new Set<string>(["num", "alfa", "data", "valor", "decimal"]);
const REQUIRED_RECORDS = ["headerArquivo", "headerLote", "trailerLote", "trailerArquivo"];

/**
 * Checks a layout read from a file: every record covers 1..tamanhoRegistro exactly, with no gap or
 * overlap, known types, and the segments it names. Throws a RangeError naming the first problem.
 */
export function loadLayout(json: unknown): LayoutCnab240 {
  const layout = json as LayoutCnab240;
  const fail = (message: string): never => {
    throw new RangeError(`CNAB layout ${String(layout?.nome)}: ${message}`);
  };
  if (!layout || typeof layout !== "object" || typeof layout.nome !== "string") fail("not a layout");
  if (!Number.isInteger(layout.tamanhoRegistro) || layout.tamanhoRegistro <= 0) fail("bad tamanhoRegistro");
  if (!layout.registros || typeof layout.registros !== "object") fail("no registros");
  for (const name of [...REQUIRED_RECORDS, ...layout.remessa.segmentos, ...layout.retorno.segmentos])
    if (!layout.registros[name]) fail(`record ${name} is missing`);
  for (const [name, registro] of Object.entries(layout.registros)) {
    const campos = [...registro.campos].sort((a, b) => a.de - b.de);
    let next = 1;
    for (const c of campos) {
      if (!TIPOS.has(c.tipo)) fail(`${name}.${c.nome}: unknown type ${c.tipo}`);
      if (c.de !== next) fail(`${name}.${c.nome}: starts at ${c.de}, expected ${next} (gap or overlap)`);
      if (c.ate < c.de) fail(`${name}.${c.nome}: ends before it starts`);
      if (c.tipo === "data" && c.ate - c.de !== 7) fail(`${name}.${c.nome}: a date has 8 positions`);
      if (c.padrao !== undefined && c.padrao.length > c.ate - c.de + 1)
        fail(`${name}.${c.nome}: default too long`);
      next = c.ate + 1;
    }
    if (next !== layout.tamanhoRegistro + 1)
      fail(`${name}: covers 1..${next - 1}, not 1..${layout.tamanhoRegistro}`);
  }
  return layout;
}

/** The generic FEBRABAN 240 layout, v08.8. */
export const FEBRABAN_240_V088: LayoutCnab240 = loadLayout(febraban);

export class CampoInvalidoError extends Error {
  readonly campo: string;
  constructor(campo: string, message: string) {
    super(`${campo}: ${message}`);
    this.name = "CampoInvalidoError";
    this.campo = campo;
  }
}

/** CNAB text is upper-case ASCII: accents removed, anything else a space. */
export function alfaCnab(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .toUpperCase()
    .replace(/[^\x20-\x7e]/g, " ");
}

function digits(value: ValorCampo | number, campo: Campo, length: number): string {
  const text = typeof value === "string" ? value : String(value);
  if (!/^\d*$/.test(text)) throw new CampoInvalidoError(campo.nome, `not a number: ${JSON.stringify(text)}`);
  if (text.length > length)
    throw new CampoInvalidoError(campo.nome, `${text} does not fit in ${length} digits`);
  return text.padStart(length, "0");
}

function writeField(campo: Campo, value: ValorCampo | number | undefined): string {
  const length = campo.ate - campo.de + 1;
  const v = value ?? campo.padrao ?? null;
  switch (campo.tipo) {
    case "alfa":
      return alfaCnab(v === null ? "" : String(v))
        .slice(0, length)
        .padEnd(length, " ");
    case "num":
      return v === null ? "0".repeat(length) : digits(v, campo, length);
    case "data": {
      if (v === null || v === "") return "0".repeat(length);
      if (typeof v !== "object" || !("year" in v)) throw new CampoInvalidoError(campo.nome, "not a date");
      return `${String(v.day).padStart(2, "0")}${String(v.month).padStart(2, "0")}${String(v.year).padStart(4, "0")}`;
    }
    case "valor": {
      if (v === null) return "0".repeat(length);
      if (typeof v !== "bigint")
        throw new CampoInvalidoError(campo.nome, "an amount must be bigint centavos");
      if (v < 0n) throw new CampoInvalidoError(campo.nome, "negative amount");
      return digits(v.toString(), campo, length);
    }
    case "decimal": {
      if (v === null) return "0".repeat(length);
      const d = v instanceof Dec ? v : new Dec(String(v));
      const scaled = d.times(new Dec(10).pow(campo.decimais ?? 0));
      if (!scaled.isInteger() || scaled.isNegative())
        throw new CampoInvalidoError(campo.nome, `${d} needs more than ${campo.decimais ?? 0} decimals`);
      return digits(scaled.toFixed(0), campo, length);
    }
  }
}

/** One record of `tamanhoRegistro` characters from its values (missing ones: the default, blanks or zeros). */
export function writeRecord(registro: Registro, values: Valores, tamanho = 240): string {
  const parts: string[] = [];
  for (const campo of sortedCampos(registro))
    parts.push(
      campo.nome === "_" ? " ".repeat(campo.ate - campo.de + 1) : writeField(campo, values[campo.nome]),
    );
  const line = parts.join("");
  if (line.length !== tamanho) throw new RangeError(`record written with ${line.length} characters`);
  return line;
}

function allDigits(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function diasNoMes(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

function readField(campo: Campo, raw: string): ValorCampo {
  switch (campo.tipo) {
    case "alfa":
      return raw.trim();
    case "num": {
      if (allDigits(raw)) return raw;
      const t = raw.trim();
      if (!allDigits(t)) throw new CampoInvalidoError(campo.nome, `not a number: ${JSON.stringify(raw)}`);
      return t;
    }
    case "data": {
      if (raw === "00000000" || raw === "        ") return null;
      if (raw.length !== 8 || !allDigits(raw))
        throw new CampoInvalidoError(campo.nome, `not a date: ${JSON.stringify(raw)}`);
      const c = (i: number) => raw.charCodeAt(i) - 48;
      const day = c(0) * 10 + c(1);
      const month = c(2) * 10 + c(3);
      const year = c(4) * 1000 + c(5) * 100 + c(6) * 10 + c(7);
      if (month < 1 || month > 12 || day < 1 || day > diasNoMes(year, month))
        throw new CampoInvalidoError(campo.nome, `not a calendar date: ${raw}`);
      return { year, month, day };
    }
    case "valor": {
      const t = allDigits(raw) ? raw : raw.trim();
      if (t === "") return null;
      if (!allDigits(t)) throw new CampoInvalidoError(campo.nome, `not an amount: ${JSON.stringify(raw)}`);
      // Up to 15 digits a double is exact, and BigInt of a small number is much cheaper than of a string.
      return t.length <= 15 ? BigInt(Number(t)) : BigInt(t);
    }
    case "decimal": {
      const t = raw.trim();
      if (t === "") return null;
      if (!/^\d+$/.test(t)) throw new CampoInvalidoError(campo.nome, `not a number: ${JSON.stringify(raw)}`);
      return new Dec(t).dividedBy(new Dec(10).pow(campo.decimais ?? 0));
    }
  }
}

const sortedCache = new WeakMap<Registro, readonly Campo[]>();
const readCache = new WeakMap<Registro, WeakMap<ReadonlySet<string>, readonly Campo[]>>();
const ALL = new Set<string>();

function sortedCampos(registro: Registro): readonly Campo[] {
  let sorted = sortedCache.get(registro);
  if (!sorted) {
    sorted = [...registro.campos].sort((a, b) => a.de - b.de);
    sortedCache.set(registro, sorted);
  }
  return sorted;
}

/** The fields to read: all but fillers, or only those named (and the required ones, always checked). */
function camposDeLeitura(registro: Registro, somente: ReadonlySet<string> = ALL): readonly Campo[] {
  let byFilter = readCache.get(registro);
  if (!byFilter) {
    byFilter = new WeakMap();
    readCache.set(registro, byFilter);
  }
  let campos = byFilter.get(somente);
  if (!campos) {
    campos = registro.campos.filter(
      (c) => c.nome !== "_" && (somente === ALL || somente.has(c.nome) || c.obrigatorio === true),
    );
    byFilter.set(somente, campos);
  }
  return campos;
}

/**
 * The values of one record; a field that does not parse is a CampoInvalidoError naming it. With
 * `somente`, only those fields (and the required ones) are read: a fast path for big files.
 */
export function readRecord(
  registro: Registro,
  line: string,
  somente?: ReadonlySet<string>,
): Record<string, ValorCampo> {
  const out: Record<string, ValorCampo> = {};
  for (const campo of camposDeLeitura(registro, somente)) {
    const value = readField(campo, line.slice(campo.de - 1, campo.ate));
    if (campo.obrigatorio && (value === null || value === ""))
      throw new CampoInvalidoError(campo.nome, "is required");
    out[campo.nome] = value;
  }
  return out;
}

export interface LinhaIdentificada {
  readonly lineNumber: number;
  readonly line: string;
  /** The record's name in the layout (headerArquivo, P, T, …), undefined if none matches. */
  readonly registro: string | undefined;
  readonly tipoRegistro: string;
  readonly segmento: string;
}

/** Splits a file into lines (CRLF or LF; a last empty line is no record) and names each line's record. */
export function identifyLines(text: string, layout: LayoutCnab240): LinhaIdentificada[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const [t0, t1] = layout.identificacao.tipoRegistro;
  const [s0, s1] = layout.identificacao.segmento;
  const byKey = new Map<string, string>();
  for (const [name, r] of Object.entries(layout.registros))
    byKey.set(`${r.tipoRegistro}/${r.segmento ?? ""}`, name);
  return lines.map((line, i) => {
    const tipoRegistro = line.slice(t0 - 1, t1);
    const segmento = tipoRegistro === "3" ? line.slice(s0 - 1, s1) : "";
    return {
      lineNumber: i + 1,
      line,
      registro: byKey.get(`${tipoRegistro}/${segmento}`),
      tipoRegistro,
      segmento,
    };
  });
}

/** One título of a file: its detail records (segments, in order) and its amount for the lote totals. */
export interface ItemArquivo {
  readonly detalhes: ReadonlyArray<{ readonly registro: string; readonly values: Valores }>;
  readonly valorCentavos: bigint;
}

/** A lote holds at most 99.999 records (a 5-digit sequence number): bigger files get more lotes. */
export const MAX_REGISTROS_LOTE = 99_999;

/**
 * A whole file: file header, lotes (header, the items' detail records numbered 1.. within the lote,
 * trailer with its counts and totals), file trailer with the number of lotes and records.
 */
export function writeArquivo(
  layout: LayoutCnab240,
  headerArquivo: Valores,
  headerLote: Valores,
  itens: readonly ItemArquivo[],
  maxRegistrosLote = MAX_REGISTROS_LOTE,
): string {
  const r = layout.registros;
  const size = layout.tamanhoRegistro;
  const out: string[] = [writeRecord(r.headerArquivo, headerArquivo, size)];
  let lote = 0;
  let i = 0;
  do {
    lote++;
    const loteValues = { ...headerLote, lote: String(lote) };
    out.push(writeRecord(r.headerLote, loteValues, size));
    let seq = 0;
    let titulos = 0;
    let total = 0n;
    for (; i < itens.length; i++) {
      const item = itens[i] as ItemArquivo;
      if (seq > 0 && seq + item.detalhes.length > maxRegistrosLote) break;
      for (const d of item.detalhes) {
        const registro = r[d.registro];
        if (!registro) throw new RangeError(`layout ${layout.nome} has no record ${d.registro}`);
        try {
          out.push(
            writeRecord(registro, { ...d.values, lote: String(lote), sequencialRegistro: ++seq }, size),
          );
        } catch (e) {
          if (e instanceof CampoInvalidoError)
            throw new CampoInvalidoError(`titulos[${i}].${e.campo}`, e.message);
          throw e;
        }
      }
      titulos++;
      total += item.valorCentavos;
    }
    out.push(
      writeRecord(
        r.trailerLote,
        {
          ...loteValues,
          quantidadeRegistros: seq + 2,
          quantidadeTitulosSimples: titulos,
          valorTitulosSimples: total,
        },
        size,
      ),
    );
  } while (i < itens.length);
  out.push(
    writeRecord(
      r.trailerArquivo,
      { ...headerArquivo, lote: null, quantidadeLotes: lote, quantidadeRegistros: out.length + 1 },
      size,
    ),
  );
  return `${out.join("\r\n")}\r\n`;
}
