// CNAB 240 remessa: registers boletos at the bank, one lote with segments P, Q and R per título,
// with the file and lote headers and trailers and their counts.
import type { CivilDate, Dec } from "@consorcio/domain";
import {
  identifyLines,
  type LayoutCnab240,
  readRecord,
  type ValorCampo,
  type Valores,
  writeArquivo,
} from "./layout.ts";
import type { EmpresaCnab } from "./retorno.ts";

export interface PagadorCnab {
  /** 1 CPF, 2 CNPJ. */
  readonly tipoInscricao: "1" | "2";
  /** Digits only. */
  readonly inscricao: string;
  readonly nome: string;
  readonly endereco: string;
  readonly bairro: string;
  /** 8 digits. */
  readonly cep: string;
  readonly cidade: string;
  readonly uf: string;
}

export interface TituloRemessa {
  /** As the CNAB carries it (NossoNumero.cnab: digits and check digit). */
  readonly nossoNumero: string;
  /** Seu número: the administradora's reference (e.g. grupo/cota/parcela), up to 15 characters. */
  readonly numeroDocumento: string;
  readonly vencimento: CivilDate;
  readonly valorCentavos: bigint;
  readonly dataEmissao: CivilDate;
  readonly pagador: PagadorCnab;
  /** Juros de mora per day of delay, in centavos (1% a.m. of the parcela ÷ 30). */
  readonly jurosMoraDiaCentavos?: bigint;
  /** From when juros run (default: the bank's, usually the day after the due date). */
  readonly dataJuros?: CivilDate;
  /** Multa as a % of the título (segment R, code 2). */
  readonly multaPercentual?: Dec;
  readonly dataMulta?: CivilDate;
  /** Returned in the retorno's segment T: up to 25 characters (e.g. the parcela id without dashes… truncated). */
  readonly usoEmpresa?: string;
  /** 01 entrada de títulos (default), 02 pedido de baixa, … */
  readonly codigoMovimento?: string;
  /** Espécie do título (default from the layout, 99 outros). */
  readonly especie?: string;
}

export interface RemessaInput {
  readonly empresa: EmpresaCnab;
  /** Sequence number of the file (NSA), increasing per bank account. */
  readonly sequencialArquivo: number;
  readonly dataGeracao: CivilDate;
  /** HHMMSS. */
  readonly horaGeracao?: string;
  readonly titulos: readonly TituloRemessa[];
}

function valoresDoTitulo(t: TituloRemessa): Valores {
  return {
    nossoNumero: t.nossoNumero,
    numeroDocumento: t.numeroDocumento,
    vencimento: t.vencimento,
    valorTitulo: t.valorCentavos,
    dataEmissao: t.dataEmissao,
    jurosMora: t.jurosMoraDiaCentavos ?? 0n,
    dataJuros: t.dataJuros ?? null,
    multaPercentual: t.multaPercentual ?? null,
    dataMulta: t.dataMulta ?? null,
    ...(t.multaPercentual ? {} : { codigoMulta: "0" }),
    usoEmpresa: t.usoEmpresa,
    codigoMovimento: t.codigoMovimento ?? "01",
    especie: t.especie,
    pagadorTipoInscricao: t.pagador.tipoInscricao,
    pagadorInscricao: t.pagador.inscricao,
    pagadorNome: t.pagador.nome,
    pagadorEndereco: t.pagador.endereco,
    pagadorBairro: t.pagador.bairro,
    pagadorCep: t.pagador.cep,
    pagadorCidade: t.pagador.cidade,
    pagadorUf: t.pagador.uf,
  };
}

/**
 * The remessa file, CRLF-terminated lines. A value that does not fit its field (a number too long,
 * an amount with a sign) is a CampoInvalidoError naming the título (index) and the field; text
 * fields are upper-cased without accents and cut to their width, as CNAB asks.
 */
export function writeRemessa(input: RemessaInput, layout: LayoutCnab240, maxRegistrosLote?: number): string {
  const base: Valores = { ...input.empresa };
  return writeArquivo(
    layout,
    {
      ...input.empresa,
      codigoArquivo: "1",
      dataGeracao: input.dataGeracao,
      horaGeracao: input.horaGeracao ?? "000000",
      sequencialArquivo: input.sequencialArquivo,
    },
    {
      ...base,
      operacao: "R",
      numeroRemessaRetorno: input.sequencialArquivo,
      dataGravacao: input.dataGeracao,
    },
    input.titulos.map((t) => {
      const values = { ...base, ...valoresDoTitulo(t) };
      return {
        valorCentavos: t.valorCentavos,
        detalhes: layout.remessa.segmentos.map((registro) => ({ registro, values })),
      };
    }),
    maxRegistrosLote,
  );
}

export type TituloLido =
  | {
      readonly lineNumber: number;
      readonly ok: true;
      /** The fields of the título's segments (P, Q, R) merged. */
      readonly campos: Readonly<Record<string, ValorCampo>>;
    }
  | { readonly lineNumber: number; readonly ok: false; readonly error: string };

export interface RemessaLida {
  readonly header: Readonly<Record<string, ValorCampo>> | undefined;
  readonly titulos: readonly TituloLido[];
  readonly trailerArquivo: Readonly<Record<string, ValorCampo>> | undefined;
  readonly trailerLote: Readonly<Record<string, ValorCampo>> | undefined;
}

/** Reads a remessa back (what the bank does): each P starts a título, the following Q and R complete it. */
export function parseRemessa(text: string, layout: LayoutCnab240): RemessaLida {
  const titulos: TituloLido[] = [];
  let header: Record<string, ValorCampo> | undefined;
  let trailerArquivo: Record<string, ValorCampo> | undefined;
  let trailerLote: Record<string, ValorCampo> | undefined;
  let current: { lineNumber: number; campos: Record<string, ValorCampo> } | undefined;
  const flush = () => {
    if (current) titulos.push({ lineNumber: current.lineNumber, ok: true, campos: current.campos });
    current = undefined;
  };
  for (const rec of identifyLines(text, layout)) {
    const registro = rec.registro ? layout.registros[rec.registro] : undefined;
    if (!registro || rec.line.length !== layout.tamanhoRegistro) {
      flush();
      titulos.push({ lineNumber: rec.lineNumber, ok: false, error: "unknown or malformed record" });
      continue;
    }
    let values: Record<string, ValorCampo>;
    try {
      values = readRecord(registro, rec.line);
    } catch (e) {
      flush();
      titulos.push({
        lineNumber: rec.lineNumber,
        ok: false,
        error: e instanceof Error ? e.message : String(e),
      });
      continue;
    }
    if (rec.registro === "headerArquivo") header = values;
    else if (rec.registro === "trailerArquivo") trailerArquivo = values;
    else if (rec.registro === "trailerLote") {
      flush();
      trailerLote = values;
    } else if (rec.segmento === "P") {
      flush();
      current = { lineNumber: rec.lineNumber, campos: values };
    } else if (rec.tipoRegistro === "3" && current) Object.assign(current.campos, values);
  }
  flush();
  return { header, titulos, trailerArquivo, trailerLote };
}
