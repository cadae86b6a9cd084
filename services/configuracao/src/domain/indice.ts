// Economic index values: monthly variations kept as immutable revisions. Pure rules.
import { Dec } from "@consorcio/domain";

export type Indice = "INCC" | "IPCA" | "IGPM";

/** A monthly variation in percent: sign allowed (deflation), at most 6 decimal places. */
export const VARIACAO_PATTERN = /^-?(0|[1-9]\d{0,2})(\.\d{1,6})?$/;

/** The canonical text of a variation ("0.4500" → "0.45", "-0" → "0"); RangeError if not one. */
export function normalizeVariacao(text: string): string {
  if (!VARIACAO_PATTERN.test(text)) throw new RangeError(`not a monthly variation: ${JSON.stringify(text)}`);
  const value = new Dec(text);
  return value.isZero() ? "0" : value.toFixed();
}

/** "IPCA:2027-03": the key of a month's value (cache, watch). */
export function mesKey(indice: Indice, year: number, month: number): string {
  return `${indice}:${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`;
}

export interface Revisao {
  revisao: number;
  valorPercentual: string;
  fonte: string;
  usado: boolean;
}

export type CorrectionRefusal =
  | { kind: "stale"; message: string }
  | { kind: "used"; message: string }
  | { kind: "unchanged"; message: string };

/**
 * Whether `current` (the latest revision) may be corrected by a new one. The caller names the
 * revision it corrects (a stale one is a lost race); a revision a reajuste used is corrected only
 * when the caller says it knows; a correction must change something.
 */
export function correctionRefusal(
  current: Revisao,
  correction: { revisao: number; valorPercentual: string; fonte: string; corrigeValorUsado: boolean },
): CorrectionRefusal | undefined {
  if (correction.revisao !== current.revisao)
    return {
      kind: "stale",
      message: `revision ${correction.revisao} is not the latest (${current.revisao}): reload and retry`,
    };
  if (current.usado && !correction.corrigeValorUsado)
    return {
      kind: "used",
      message: `revision ${current.revisao} was used in a reajuste: set corrige_valor_usado to correct it`,
    };
  if (
    normalizeVariacao(correction.valorPercentual) === current.valorPercentual &&
    correction.fonte === current.fonte
  )
    return { kind: "unchanged", message: "the correction changes neither the value nor the source" };
  return undefined;
}
