// Percentages and centavos (DOMAIN.md §1): percentages are exact decimals, never floats; only
// R$ amounts are rounded, to the centavo, half-up, per component. Money is bigint centavos.
import { Decimal } from "decimal.js";

/** A private Decimal constructor: 40 significant digits, half-up; global settings stay untouched. */
export const Dec = Decimal.clone({ precision: 40, rounding: Decimal.ROUND_HALF_UP });
export type Dec = Decimal;

/** A percentage as the API writes it: `"15"`, `"0.0333"`, at most 10 decimal places, no sign, no exponent. */
export const PERCENTUAL_PATTERN = /^(0|[1-9]\d{0,5})(\.\d{1,10})?$/;

/** Parses a percentage string (`"15"` means 15%); anything else is a RangeError. */
export function parsePercentual(text: string): Dec {
  if (!PERCENTUAL_PATTERN.test(text)) throw new RangeError(`not a percentage: ${JSON.stringify(text)}`);
  return new Dec(text);
}

/** The canonical text of a percentage: no exponent, no trailing zeros. */
export function formatPercentual(value: Dec): string {
  return value.toFixed();
}

/** `base × percent / 100`, rounded half-up to the centavo. */
export function percentOf(baseCentavos: bigint, percent: Dec): bigint {
  return roundCentavos(new Dec(baseCentavos.toString()).times(percent).dividedBy(100));
}

/** Rounds an exact amount of centavos half-up (away from zero on .5) to a whole centavo. */
export function roundCentavos(value: Dec): bigint {
  return BigInt(value.toDecimalPlaces(0, Dec.ROUND_HALF_UP).toFixed(0));
}
