import { Dec, parsePercentual } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  allocate,
  amortizeLance,
  applyParcelaPaga,
  mesEmAberto,
  openLedger,
  resumoPercentual,
  saldoDevedor,
} from "../../src/domain/percentual-ledger.ts";
import { percentuaisDoPlano } from "../../src/domain/plano.ts";

/** Equal to 30 places: 100/60 has no exact decimal, so twelve of them are 20 ± 1e-38. */
const near = (a: Dec, b: Dec | number | string) => a.minus(b).abs().lt("1e-30");

const plano = (prazo = 60) =>
  percentuaisDoPlano({
    precoCentavos: 3_000_000n,
    prazoMeses: prazo,
    taxaAdministracao: parsePercentual("15"),
    fundoReserva: parsePercentual("2"),
  });

describe("percentage ledger", () => {
  test("paid parcelas move their % from owed to paid", () => {
    let ledger = openLedger(plano());
    for (let m = 1; m <= 12; m++) ledger = applyParcelaPaga(ledger, m);
    const r = resumoPercentual(ledger);
    expect(near(r.pago.fundoComum, 20)).toBe(true);
    expect(near(r.pago.taxaAdministracao, 3)).toBe(true);
    expect(near(r.pago.fundoReserva, new Dec("0.4"))).toBe(true);
    expect(near(r.devido.fundoComum, 80)).toBe(true);
    expect(near(r.amortizado.fundoComum, 20)).toBe(true);
    expect(r.mesesQuitados).toBe(12);
    expect(() => applyParcelaPaga(ledger, 1)).toThrow(/already_paid|is paid/);
    expect(() => applyParcelaPaga(ledger, 61)).toThrow(/no month/);
    // At a new price the balance owed follows it.
    expect(saldoDevedor(ledger, 3_000_000n).totalCentavos).toBe(48n * 58_500n);
  });

  test("an underpayment accepted as partial pays the same share of each fund", () => {
    const ledger = applyParcelaPaga(openLedger(plano()), 1, new Dec("0.5"));
    expect(mesEmAberto(ledger, 1)).toBe(true);
    const r = resumoPercentual(ledger);
    expect(near(r.pago.fundoComum.times(120), 100)).toBe(true);
    expect(applyParcelaPaga(ledger, 1).meses[0]?.devido.fundoComum.isZero()).toBe(true);
  });

  test("a lance amortises the last parcelas first", () => {
    // 585,00 × 6 = 3.510,00 pays off months 55..60 exactly.
    const r = amortizeLance(openLedger(plano()), 351_000n, 3_000_000n);
    expect(r.mesesQuitados).toEqual([55, 56, 57, 58, 59, 60]);
    expect(r).toMatchObject({
      fundoComumCentavos: 300_000n,
      taxaAdministracaoCentavos: 45_000n,
      fundoReservaCentavos: 6_000n,
    });
    expect(mesEmAberto(r.ledger, 54)).toBe(true);
    // A further 100,00 goes into month 54 in its proportions.
    const r2 = amortizeLance(r.ledger, 10_000n, 3_000_000n);
    expect(r2.mesesQuitados).toEqual([]);
    expect(r2.fundoComumCentavos + r2.taxaAdministracaoCentavos + r2.fundoReservaCentavos).toBe(10_000n);
    expect(() => amortizeLance(openLedger(plano()), 3_510_001n, 3_000_000n)).toThrow(/exceeds/);
  });

  test("PROPORCIONAL lowers every open month by the same share", () => {
    const r = amortizeLance(openLedger(plano(10)), 351_000n * 0n + 1_053_000n, 3_000_000n, "PROPORCIONAL");
    // 10 months × 3.510,00 owed; 10.530,00 is 30%.
    for (const m of r.ledger.meses) expect(near(m.devido.fundoComum, 7)).toBe(true);
    expect(r.mesesQuitados).toEqual([]);
  });

  test("property: a lance's centavos sum to it and the ledger's totals stay the plan's", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 119 }),
        fc.bigInt({ min: 1n, max: 10n ** 7n }),
        fc.boolean(),
        (prazo, pagos, lance, proporcional) => {
          let ledger = openLedger(plano(prazo));
          for (let m = 1; m <= Math.min(pagos, prazo - 1); m++) ledger = applyParcelaPaga(ledger, m);
          const saldo = saldoDevedor(ledger, 3_000_000n).totalCentavos;
          if (lance > saldo) return;
          const r = amortizeLance(ledger, lance, 3_000_000n, proporcional ? "PROPORCIONAL" : "ULTIMAS");
          expect(r.fundoComumCentavos + r.taxaAdministracaoCentavos + r.fundoReservaCentavos).toBe(lance);
          const s = resumoPercentual(r.ledger);
          expect(near(s.pago.fundoComum.plus(s.devido.fundoComum), 100)).toBe(true);
          expect(near(s.pago.taxaAdministracao.plus(s.devido.taxaAdministracao), 15)).toBe(true);
          for (const m of r.ledger.meses) expect(m.devido.fundoComum.isNegative()).toBe(false);
        },
      ),
    );
  });

  test("allocate: whole centavos nearest the exact parts, summing exactly", () => {
    expect(allocate(10n, [new Dec("3.4"), new Dec("3.3"), new Dec("3.3")])).toEqual([4n, 3n, 3n]);
    expect(allocate(1n, [new Dec("0.5"), new Dec("0.5")])).toEqual([1n, 0n]);
  });
});
