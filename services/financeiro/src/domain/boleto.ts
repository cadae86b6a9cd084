// The FEBRABAN boleto: the 44-digit barcode and the 47-digit linha digitável, with the due-date
// factor reset of 22/02/2025. The campo livre and the nosso número of each bank come from
// declarative layouts (layouts/boleto-bancos.json): another bank is another entry, not new code.
import { addDays, type CivilDate, civilDate, compareDates, daysBetween } from "@consorcio/domain";
import bancosJson from "../../layouts/boleto-bancos.json" with { type: "json" };
import { EngineInputError, requireInput } from "./erros.ts";

// ---------------------------------------------------------------- check digits

/** FEBRABAN modulo 10: weights 2,1,2,1… from the right, products' digits summed. */
export function mod10(digits: string): string {
  let sum = 0;
  let weight = 2;
  for (let i = digits.length - 1; i >= 0; i--) {
    const p = Number(digits[i]) * weight;
    sum += p > 9 ? p - 9 : p;
    weight = weight === 2 ? 1 : 2;
  }
  return String((10 - (sum % 10)) % 10);
}

function mod11Sum(digits: string, maxWeight: number): number {
  let sum = 0;
  let weight = 2;
  for (let i = digits.length - 1; i >= 0; i--) {
    sum += Number(digits[i]) * weight;
    weight = weight === maxWeight ? 2 : weight + 1;
  }
  return sum;
}

/** The barcode's general check digit (position 5): modulo 11, weights 2–9; 0, 10 and 11 become 1. */
export function dvCodigoBarras(digits43: string): string {
  const dv = 11 - (mod11Sum(digits43, 9) % 11);
  return dv === 0 || dv === 10 || dv === 11 ? "1" : String(dv);
}

const ALGORITMOS: Record<string, (digits: string) => string> = {
  mod10,
  "mod11-bradesco": (d) => {
    const r = mod11Sum(d, 7) % 11;
    return r === 0 ? "0" : r === 1 ? "P" : String(11 - r);
  },
  "mod11-santander": (d) => {
    const r = mod11Sum(d, 9) % 11;
    return r === 0 || r === 1 ? "0" : String(11 - r);
  },
  "mod11-caixa": (d) => {
    const dv = 11 - (mod11Sum(d, 9) % 11);
    return dv > 9 ? "0" : String(dv);
  },
};

// ---------------------------------------------------------------- bank layouts

type Part =
  | { readonly field: string; readonly length?: number; readonly slice?: readonly [number, number] }
  | { readonly const: string }
  | { readonly dv: string; readonly over: readonly Part[] };

export interface LayoutBanco {
  readonly nome: string;
  readonly variante?: string;
  readonly nossoNumero: {
    readonly parts: readonly Part[];
    readonly dv?: { algorithm: string; over: readonly Part[] };
  };
  readonly campoLivre: readonly Part[];
}

export const LAYOUTS_BANCOS: Readonly<Record<string, LayoutBanco>> = (
  bancosJson as unknown as { bancos: Record<string, LayoutBanco> }
).bancos;

/** The administradora's account at the bank that registers its boletos. Digits only. */
export interface Beneficiario {
  /** 3-digit bank code ("001", "237", "341", …). */
  readonly banco: string;
  readonly agencia: string;
  readonly conta: string;
  readonly carteira: string;
  /** Convênio / código do beneficiário, where the bank's layout uses one. */
  readonly convenio?: string | undefined;
}

function layoutOf(banco: string): LayoutBanco {
  const layout = LAYOUTS_BANCOS[banco];
  if (!layout) throw new EngineInputError("banco", "banco.unsupported", `no boleto layout for bank ${banco}`);
  return layout;
}

function render(parts: readonly Part[], fields: Readonly<Record<string, string | undefined>>): string {
  return parts
    .map((part) => {
      if ("const" in part) return part.const;
      if ("dv" in part) {
        const algorithm = ALGORITMOS[part.dv];
        if (!algorithm) throw new RangeError(`unknown check-digit algorithm ${part.dv}`);
        return algorithm(render(part.over, fields));
      }
      const value = fields[part.field];
      requireInput(
        value !== undefined && value !== "",
        part.field,
        "boleto.required",
        "is required by the bank's layout",
      );
      const text = value as string;
      if (part.slice) return text.slice(part.slice[0], part.slice[1]);
      requireInput(/^\d+$/.test(text), part.field, "boleto.digits", "must be digits only");
      const length = part.length ?? text.length;
      requireInput(text.length <= length, part.field, "boleto.length", `must have at most ${length} digits`);
      return text.padStart(length, "0");
    })
    .join("");
}

function beneficiarioFields(b: Beneficiario): Record<string, string | undefined> {
  return { agencia: b.agencia, conta: b.conta, carteira: b.carteira, convenio: b.convenio };
}

export interface NossoNumero {
  /** As printed on the boleto: digits, then "-" and the check digit where the bank has one. */
  readonly nossoNumero: string;
  /** The digits without the check digit. */
  readonly digitos: string;
  /** The check digit ("" where the bank has none). */
  readonly dv: string;
  /** digits + check digit, as the CNAB files carry it. */
  readonly cnab: string;
}

/** The nosso número of the `sequencial`-th boleto of a beneficiário, with the bank's check digit. */
export function gerarNossoNumero(beneficiario: Beneficiario, sequencial: bigint): NossoNumero {
  requireInput(sequencial > 0n, "sequencial", "sequencial.positive", "must be > 0");
  const layout = layoutOf(beneficiario.banco);
  const fields = { ...beneficiarioFields(beneficiario), sequencial: sequencial.toString() };
  const digitos = render(layout.nossoNumero.parts, fields);
  const dv = layout.nossoNumero.dv
    ? render([{ dv: layout.nossoNumero.dv.algorithm, over: layout.nossoNumero.dv.over }], {
        ...fields,
        nossoNumero: digitos,
      })
    : "";
  return { nossoNumero: dv ? `${digitos}-${dv}` : digitos, digitos, dv, cnab: digitos + dv };
}

/** The 25-digit campo livre of a boleto. */
export function campoLivre(beneficiario: Beneficiario, nossoNumero: NossoNumero): string {
  const layout = layoutOf(beneficiario.banco);
  const text = render(layout.campoLivre, {
    ...beneficiarioFields(beneficiario),
    nossoNumero: nossoNumero.digitos,
    nossoNumeroDv: nossoNumero.dv,
  });
  if (!/^\d{25}$/.test(text))
    throw new RangeError(
      `layout of bank ${beneficiario.banco} makes a campo livre of ${text.length} characters: ${text}`,
    );
  return text;
}

// ---------------------------------------------------------------- due-date factor

const DATA_BASE = civilDate(1997, 10, 7);
/** The factor reached 9999 on 21/02/2025 and restarts at 1000 on 22/02/2025 (FEBRABAN). */
export const DATA_REINICIO_FATOR = civilDate(2025, 2, 22);
const CICLO = 9000;

/** The 4-digit due-date factor; 0 means "no due date". */
export function fatorVencimento(vencimento: CivilDate): number {
  if (compareDates(vencimento, DATA_REINICIO_FATOR) < 0) {
    const fator = daysBetween(DATA_BASE, vencimento);
    requireInput(
      fator >= 1000,
      "vencimento",
      "vencimento.range",
      "is before 03/07/2000, out of the factor's range",
    );
    return fator;
  }
  return 1000 + (daysBetween(DATA_REINICIO_FATOR, vencimento) % CICLO);
}

/**
 * The due date of a factor: the one of its 9000-day cycles nearest to `referencia` (default: the
 * cycle that starts on 22/02/2025). A factor repeats every 9000 days, so the date needs a reference.
 */
export function dataDoFator(fator: number, referencia?: CivilDate): CivilDate {
  requireInput(
    Number.isInteger(fator) && fator >= 1000 && fator <= 9999,
    "fator",
    "fator.range",
    "must be in 1000..9999",
  );
  const first = addDays(DATA_REINICIO_FATOR, fator - 1000);
  if (!referencia) return first;
  const candidates = [addDays(DATA_BASE, fator)];
  for (let k = 0; k < 4; k++) candidates.push(addDays(first, k * CICLO));
  let best = candidates[0] as CivilDate;
  for (const c of candidates)
    if (Math.abs(daysBetween(referencia, c)) < Math.abs(daysBetween(referencia, best))) best = c;
  return best;
}

// ---------------------------------------------------------------- barcode and linha digitável

export const VALOR_MAXIMO_CENTAVOS = 9_999_999_999n;

export interface BoletoInput {
  readonly beneficiario: Beneficiario;
  /** The beneficiário's boleto sequence number (unique per beneficiário): makes the nosso número. */
  readonly sequencial: bigint;
  /** Undefined for a boleto without due date (factor 0000). */
  readonly vencimento?: CivilDate | undefined;
  readonly valorCentavos: bigint;
}

export interface Boleto {
  readonly nossoNumero: NossoNumero;
  readonly campoLivre: string;
  readonly fatorVencimento: number;
  /** 44 digits. */
  readonly codigoBarras: string;
  /** 47 digits, no punctuation. */
  readonly linhaDigitavel: string;
  /** "AAABC.CCCCX DDDDD.DDDDDY EEEEE.EEEEEZ K UUUUVVVVVVVVVV". */
  readonly linhaDigitavelFormatada: string;
}

/** The barcode from its parts: bank, currency 9, general check digit, factor, value, campo livre. */
export function montarCodigoBarras(
  banco: string,
  fator: number,
  valorCentavos: bigint,
  livre: string,
): string {
  requireInput(/^\d{3}$/.test(banco), "banco", "banco.format", "must be 3 digits");
  requireInput(
    valorCentavos >= 0n && valorCentavos <= VALOR_MAXIMO_CENTAVOS,
    "valorCentavos",
    "valor.range",
    "must be in 0..99.999.999,99",
  );
  requireInput(/^\d{25}$/.test(livre), "campoLivre", "campo_livre.format", "must be 25 digits");
  const semDv = `${banco}9${String(fator).padStart(4, "0")}${valorCentavos.toString().padStart(10, "0")}${livre}`;
  return `${semDv.slice(0, 4)}${dvCodigoBarras(semDv)}${semDv.slice(4)}`;
}

/** The linha digitável of a barcode: three fields with their modulo-10 digits, the general digit, factor and value. */
export function linhaDigitavelDe(codigoBarras: string): string {
  requireInput(/^\d{44}$/.test(codigoBarras), "codigoBarras", "codigo_barras.format", "must be 44 digits");
  const livre = codigoBarras.slice(19);
  const c1 = codigoBarras.slice(0, 4) + livre.slice(0, 5);
  const c2 = livre.slice(5, 15);
  const c3 = livre.slice(15, 25);
  return `${c1}${mod10(c1)}${c2}${mod10(c2)}${c3}${mod10(c3)}${codigoBarras[4]}${codigoBarras.slice(5, 19)}`;
}

export function formatLinhaDigitavel(linha: string): string {
  return `${linha.slice(0, 5)}.${linha.slice(5, 10)} ${linha.slice(10, 15)}.${linha.slice(15, 21)} ${linha.slice(21, 26)}.${linha.slice(26, 32)} ${linha[32]} ${linha.slice(33)}`;
}

export function buildBoleto(input: BoletoInput): Boleto {
  const nossoNumero = gerarNossoNumero(input.beneficiario, input.sequencial);
  const livre = campoLivre(input.beneficiario, nossoNumero);
  const fator = input.vencimento ? fatorVencimento(input.vencimento) : 0;
  const codigoBarras = montarCodigoBarras(input.beneficiario.banco, fator, input.valorCentavos, livre);
  const linhaDigitavel = linhaDigitavelDe(codigoBarras);
  return {
    nossoNumero,
    campoLivre: livre,
    fatorVencimento: fator,
    codigoBarras,
    linhaDigitavel,
    linhaDigitavelFormatada: formatLinhaDigitavel(linhaDigitavel),
  };
}

export interface BoletoLido {
  readonly banco: string;
  readonly moeda: string;
  readonly fatorVencimento: number;
  /** Undefined for factor 0000. */
  readonly vencimento: CivilDate | undefined;
  readonly valorCentavos: bigint;
  readonly campoLivre: string;
  readonly codigoBarras: string;
  readonly linhaDigitavel: string;
}

function lerCodigoBarras(codigoBarras: string, linhaDigitavel: string, referencia?: CivilDate): BoletoLido {
  const semDv = codigoBarras.slice(0, 4) + codigoBarras.slice(5);
  requireInput(
    dvCodigoBarras(semDv) === codigoBarras[4],
    "codigoBarras",
    "codigo_barras.dv",
    "wrong general check digit",
  );
  const fator = Number(codigoBarras.slice(5, 9));
  return {
    banco: codigoBarras.slice(0, 3),
    moeda: codigoBarras.slice(3, 4),
    fatorVencimento: fator,
    vencimento: fator === 0 ? undefined : dataDoFator(fator, referencia),
    valorCentavos: BigInt(codigoBarras.slice(9, 19)),
    campoLivre: codigoBarras.slice(19),
    codigoBarras,
    linhaDigitavel,
  };
}

/** Reads a linha digitável (punctuation and spaces ignored), checking its four check digits. */
export function parseLinhaDigitavel(text: string, referencia?: CivilDate): BoletoLido {
  const linha = text.replace(/[\s.]/g, "");
  requireInput(/^\d{47}$/.test(linha), "linhaDigitavel", "linha_digitavel.format", "must be 47 digits");
  const fields: Array<[string, string]> = [
    [linha.slice(0, 9), linha.slice(9, 10)],
    [linha.slice(10, 20), linha.slice(20, 21)],
    [linha.slice(21, 31), linha.slice(31, 32)],
  ];
  fields.forEach(([body, dv], i) => {
    requireInput(
      mod10(body) === dv,
      "linhaDigitavel",
      "linha_digitavel.dv",
      `wrong check digit of field ${i + 1}`,
    );
  });
  const codigoBarras =
    linha.slice(0, 4) +
    linha.slice(32, 33) +
    linha.slice(33, 47) +
    linha.slice(4, 9) +
    linha.slice(10, 20) +
    linha.slice(21, 31);
  return lerCodigoBarras(codigoBarras, linha, referencia);
}

/** Reads a 44-digit barcode, checking its general check digit. */
export function parseCodigoBarras(codigoBarras: string, referencia?: CivilDate): BoletoLido {
  requireInput(/^\d{44}$/.test(codigoBarras), "codigoBarras", "codigo_barras.format", "must be 44 digits");
  return lerCodigoBarras(codigoBarras, linhaDigitavelDe(codigoBarras), referencia);
}
