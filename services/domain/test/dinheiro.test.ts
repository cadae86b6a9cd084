import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { Dec, parsePercentual, percentOf, roundCentavos } from "../src/dinheiro.ts";

describe("percentages and centavos", () => {
  test("the worked parcela of DOMAIN.md: R$ 30.000,00 over 60 months, TA 15%, FR 2%", () => {
    const preco = 3_000_000n;
    const fc60 = parsePercentual("100").dividedBy(60);
    expect(percentOf(preco, fc60)).toBe(50_000n);
    expect(percentOf(preco, parsePercentual("15").dividedBy(60))).toBe(7_500n);
    expect(percentOf(preco, parsePercentual("2").dividedBy(60))).toBe(1_000n);
  });

  test("rounding is half-up to the centavo", () => {
    expect(roundCentavos(new Dec("10.5"))).toBe(11n);
    expect(roundCentavos(new Dec("10.49999"))).toBe(10n);
    expect(percentOf(1n, parsePercentual("50"))).toBe(1n); // 0.5 centavo
  });

  test.each(["", "-1", "1e2", "15%", " 15", "0.12345678901", "NaN", "Infinity", "01"])(
    "%j is not a percentage",
    (text) => expect(() => parsePercentual(text)).toThrow(RangeError),
  );

  test("property: percentOf is exact for whole percentages of whole reais", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.integer({ min: 0, max: 100 }), (reais, pct) => {
        return percentOf(reais * 100n, parsePercentual(String(pct))) === reais * BigInt(pct);
      }),
    );
  });
});
