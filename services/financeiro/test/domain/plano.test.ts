import { Dec, parsePercentual } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { EngineInputError } from "../../src/domain/erros.ts";
import { computeParcela, percentuaisDoPlano, simulatePlano, totalDoPlano } from "../../src/domain/plano.ts";

const p = parsePercentual;

describe("plano", () => {
  test("DOMAIN.md worked example: R$ 30.000,00, 60 months, TA 15%, FR 2% → 585,00", () => {
    const parcelas = simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracao: p("15"),
      fundoReserva: p("2"),
    });
    expect(parcelas).toHaveLength(60);
    for (const parcela of parcelas) {
      expect(parcela).toMatchObject({
        fundoComumCentavos: 50_000n,
        taxaAdministracaoCentavos: 7_500n,
        fundoReservaCentavos: 1_000n,
        seguroCentavos: 0n,
        antecipacaoTaxaCentavos: 0n,
        totalCentavos: 58_500n,
      });
    }
    expect(totalDoPlano(parcelas)).toBe(3_510_000n);
  });

  test("DOMAIN.md worked example: same price, 50 months → 702,00", () => {
    const parcelas = simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 50,
      taxaAdministracao: p("15"),
      fundoReserva: p("2"),
    });
    expect(parcelas.map((x) => x.totalCentavos)).toEqual(Array(50).fill(70_200n));
    expect(parcelas[0]).toMatchObject({
      fundoComumCentavos: 60_000n,
      taxaAdministracaoCentavos: 9_000n,
      fundoReservaCentavos: 1_200n,
    });
  });

  test("seguro and the TA advance: advance charged with parcela 1 and deducted from the TA spread", () => {
    const parcelas = simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracao: p("15"),
      fundoReserva: p("2"),
      seguroMensal: p("0.05"),
      antecipacaoTaxa: p("3"),
    });
    expect(parcelas[0]).toMatchObject({
      antecipacaoTaxaCentavos: 90_000n,
      taxaAdministracaoCentavos: 6_000n,
      seguroCentavos: 1_500n,
      totalCentavos: 50_000n + 6_000n + 1_000n + 1_500n + 90_000n,
    });
    expect(parcelas[1]?.antecipacaoTaxaCentavos).toBe(0n);
    const ta = parcelas.reduce((s, x) => s + x.taxaAdministracaoCentavos + x.antecipacaoTaxaCentavos, 0n);
    expect(ta).toBe(450_000n);
  });

  test("non-linear plan: FC follows the schedule and must sum to exactly 100", () => {
    const schedule = [p("40"), p("30"), p("20"), p("10")];
    const parcelas = simulatePlano({
      precoCentavos: 1_000_000n,
      prazoMeses: 4,
      taxaAdministracao: p("10"),
      fundoReserva: p("2"),
      fundoComumPorMes: schedule,
    });
    expect(parcelas.map((x) => x.fundoComumCentavos)).toEqual([400_000n, 300_000n, 200_000n, 100_000n]);
    expect(parcelas.map((x) => x.taxaAdministracaoCentavos)).toEqual([40_000n, 30_000n, 20_000n, 10_000n]);
    expect(() =>
      simulatePlano({
        precoCentavos: 1_000_000n,
        prazoMeses: 4,
        taxaAdministracao: p("10"),
        fundoReserva: p("2"),
        fundoComumPorMes: [p("40"), p("30"), p("20"), p("9.9999999999")],
      }),
    ).toThrow(EngineInputError);
  });

  test("bad parameters are refused with the field", () => {
    const base = { precoCentavos: 100n, prazoMeses: 10, taxaAdministracao: p("1"), fundoReserva: p("1") };
    expect(() => simulatePlano({ ...base, precoCentavos: 0n })).toThrow(/precoCentavos/);
    expect(() => simulatePlano({ ...base, prazoMeses: 0 })).toThrow(/prazoMeses/);
    expect(() => simulatePlano({ ...base, prazoMeses: 1.5 })).toThrow(/prazoMeses/);
    expect(() => simulatePlano({ ...base, taxaAdministracao: new Dec(-1) })).toThrow(/taxaAdministracao/);
    expect(() => simulatePlano({ ...base, antecipacaoTaxa: p("2") })).toThrow(/antecipacaoTaxa/);
  });

  test("property: monthly percentages sum exactly to 100% FC, TA and FR", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 240 }), fc.integer({ min: 0, max: 3000 }), (prazo, ta) => {
        const taxa = new Dec(ta).dividedBy(100);
        const percentuais = percentuaisDoPlano({
          precoCentavos: 1n,
          prazoMeses: prazo,
          taxaAdministracao: taxa,
          fundoReserva: p("2"),
        });
        const sum = (f: (x: (typeof percentuais)[number]) => Dec) =>
          percentuais.reduce((s, x) => s.plus(f(x)), new Dec(0));
        expect(sum((x) => x.fundoComum).eq(100)).toBe(true);
        expect(sum((x) => x.taxaAdministracao).eq(taxa)).toBe(true);
        expect(sum((x) => x.fundoReserva).eq(2)).toBe(true);
      }),
    );
  });

  test("property: plan total = price × (100% + TA + FR) within the per-month rounding", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 11n }),
        fc.integer({ min: 1, max: 240 }),
        fc.integer({ min: 0, max: 30_0000 }),
        fc.integer({ min: 0, max: 10_0000 }),
        (preco, prazo, ta, fr) => {
          const taxa = new Dec(ta).dividedBy(10_000);
          const reserva = new Dec(fr).dividedBy(10_000);
          const parcelas = simulatePlano({
            precoCentavos: preco,
            prazoMeses: prazo,
            taxaAdministracao: taxa,
            fundoReserva: reserva,
          });
          const exact = new Dec(preco.toString()).times(taxa.plus(reserva).plus(100)).dividedBy(100);
          const diff = new Dec(totalDoPlano(parcelas).toString()).minus(exact).abs();
          // Each of the three components of each month is off by at most half a centavo.
          expect(diff.lte(new Dec(prazo).times(1.5))).toBe(true);
          for (const x of parcelas)
            expect(x.totalCentavos).toBe(
              x.fundoComumCentavos + x.taxaAdministracaoCentavos + x.fundoReservaCentavos + x.seguroCentavos,
            );
        },
      ),
    );
  });

  test("computeParcela recomputes a month from its percentages at a new price", () => {
    const [first] = percentuaisDoPlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracao: p("15"),
      fundoReserva: p("2"),
    });
    if (!first) throw new Error("no parcela");
    expect(computeParcela(first, 3_300_000n)).toMatchObject({
      fundoComumCentavos: 55_000n,
      taxaAdministracaoCentavos: 8_250n,
      fundoReservaCentavos: 1_100n,
      totalCentavos: 64_350n,
    });
  });
});
