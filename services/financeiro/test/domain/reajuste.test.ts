import { civilDate, Dec, parsePercentual } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { percentuaisDoPlano } from "../../src/domain/plano.ts";
import {
  aplicarDiferenca,
  aplicarRendimento,
  diferencaPreco,
  indiceAcumulado,
  isAniversario,
  mesesDoReajuste,
  reajustarPreco,
  reajusteDoAniversario,
  recomputeParcelas,
} from "../../src/domain/reajuste.ts";

const plano = percentuaisDoPlano({
  precoCentavos: 3_000_000n,
  prazoMeses: 60,
  taxaAdministracao: parsePercentual("15"),
  fundoReserva: parsePercentual("2"),
});

describe("reajuste", () => {
  test("accumulated index: compound of the monthly values, exact", () => {
    expect(indiceAcumulado([new Dec("0.5"), new Dec("0.4")]).eq(new Dec("0.902"))).toBe(true);
    expect(indiceAcumulado([]).isZero()).toBe(true);
    expect(() => indiceAcumulado([new Dec(-100)])).toThrow(/valoresMensais\[0\]/);
  });

  test("the price follows the index, rounded to the centavo; open parcelas follow their percentages", () => {
    // 12 months of 0.8% INCC: 1.008^12 − 1 = 10.0338694…%.
    const r = reajustarPreco(3_000_000n, Array(12).fill(new Dec("0.8")));
    expect(r.precoCentavos).toBe(3_301_016n);
    expect(r.percentualAcumulado.toDecimalPlaces(6).toString()).toBe("10.033869");
    expect(reajustarPreco(3_000_000n, [new Dec(10)]).precoCentavos).toBe(3_300_000n);
    const abertas = plano.slice(12).map((percentuais) => ({ percentuais }));
    const novas = recomputeParcelas(abertas, 3_300_000n);
    expect(novas).toHaveLength(48);
    for (const n of novas) expect(n.totalCentavos).toBe(64_350n); // 550,00 + 82,50 + 11,00
    // A deflation lowers the price.
    expect(reajustarPreco(3_000_000n, [new Dec("-1")]).precoCentavos).toBe(2_970_000n);
  });

  test("anniversary and the index months", () => {
    expect(isAniversario(civilDate(2025, 3, 15), civilDate(2026, 3, 1))).toBe(true);
    expect(isAniversario(civilDate(2025, 3, 15), civilDate(2025, 3, 20))).toBe(false);
    expect(isAniversario(civilDate(2025, 3, 15), civilDate(2026, 4, 1))).toBe(false);
    const meses = mesesDoReajuste({ year: 2026, month: 3 });
    expect(meses[0]).toEqual({ year: 2025, month: 3 });
    expect(meses[11]).toEqual({ year: 2026, month: 2 });
    expect(mesesDoReajuste({ year: 2026, month: 1 }, 0)[0]).toEqual({ year: 2025, month: 2 });
  });

  test("the anniversary's reajuste takes the 12 published months and refuses a missing one", () => {
    const valores = new Map<string, Dec>();
    for (let m = 3; m <= 14; m++) {
      const year = m > 12 ? 2026 : 2025;
      valores.set(`${year}-${String(((m - 1) % 12) + 1).padStart(2, "0")}`, new Dec("0.8"));
    }
    const r = reajusteDoAniversario({
      precoCentavos: 3_000_000n,
      aniversario: { year: 2026, month: 3 },
      valores,
    });
    expect(r.precoCentavos).toBe(3_301_016n);
    expect(r.meses).toHaveLength(12);
    valores.delete("2025-07");
    expect(() =>
      reajusteDoAniversario({ precoCentavos: 3_000_000n, aniversario: { year: 2026, month: 3 }, valores }),
    ).toThrow(/2025-07/);
  });

  test("Res. 285 art. 25-A: billed at the old price, the assembleia's price was higher → charged on the next bill", () => {
    const [m13, m14] = plano.slice(12);
    if (!m13 || !m14) throw new Error("plan too short");
    const d = diferencaPreco({ percentuais: m13 }, 3_000_000n, 3_300_000n);
    expect(d).toEqual({
      fundoComumCentavos: 5_000n,
      taxaAdministracaoCentavos: 750n,
      fundoReservaCentavos: 100n,
      seguroCentavos: 0n,
      antecipacaoTaxaCentavos: 0n,
      totalCentavos: 5_850n,
    });
    const [next] = recomputeParcelas([{ percentuais: m14 }], 3_300_000n);
    if (!next) throw new Error("no parcela");
    expect(aplicarDiferenca(next, d).totalCentavos).toBe(64_350n + 5_850n);
    // The other way round it is a credit.
    const credit = diferencaPreco({ percentuais: m13 }, 3_300_000n, 3_000_000n);
    expect(credit.totalCentavos).toBe(-5_850n);
    expect(aplicarDiferenca(next, credit).totalCentavos).toBe(64_350n - 5_850n);
  });

  test("property: a difference and its opposite cancel; the total is the sum of the parts", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        (a, b) => {
          const p = { percentuais: plano[0] as (typeof plano)[number], seguroMensal: new Dec("0.03") };
          const d = diferencaPreco(p, a, b);
          const e = diferencaPreco(p, b, a);
          expect(d.totalCentavos + e.totalCentavos).toBe(0n);
          expect(d.totalCentavos).toBe(
            d.fundoComumCentavos +
              d.taxaAdministracaoCentavos +
              d.fundoReservaCentavos +
              d.seguroCentavos +
              d.antecipacaoTaxaCentavos,
          );
        },
      ),
    );
  });

  test("the credit not yet used earns yield instead of following the index", () => {
    expect(aplicarRendimento(3_000_000n, [new Dec("0.5"), new Dec("0.5")])).toEqual({
      valorCentavos: 3_030_075n,
      rendimentoCentavos: 30_075n,
    });
    expect(aplicarRendimento(100n, []).rendimentoCentavos).toBe(0n);
    expect(() => aplicarRendimento(-1n, [])).toThrow(/valorCentavos/);
  });
});
