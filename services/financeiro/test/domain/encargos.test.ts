import { addDays, civilDate, Dec, parsePercentual } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { calculateEncargos, splitEncargos } from "../../src/domain/encargos.ts";

describe("encargos", () => {
  test("DOMAIN.md worked example: R$ 1.000,00 due 10/03, paid 25/03 → 20,00 + 5,00 = 1.025,00", () => {
    expect(
      calculateEncargos({
        valorCentavos: 100_000n,
        vencimento: civilDate(2026, 3, 10),
        pagamento: civilDate(2026, 3, 25),
      }),
    ).toEqual({
      diasAtraso: 15,
      multaCentavos: 2_000n,
      jurosCentavos: 500n,
      encargosCentavos: 2_500n,
      totalCentavos: 102_500n,
    });
  });

  test("paid on or before the due date: nothing", () => {
    const r = calculateEncargos({
      valorCentavos: 100_000n,
      vencimento: civilDate(2026, 3, 10),
      pagamento: civilDate(2026, 3, 10),
    });
    expect(r).toMatchObject({ diasAtraso: 0, multaCentavos: 0n, jurosCentavos: 0n, totalCentavos: 100_000n });
  });

  test("due on a day without banking: paid the next business day without charges", () => {
    // 2026-04-03 is Good Friday; the next business day is Monday 06/04.
    const base = { valorCentavos: 100_000n, vencimento: civilDate(2026, 4, 3) };
    expect(calculateEncargos({ ...base, pagamento: civilDate(2026, 4, 6) }).diasAtraso).toBe(0);
    // A day after the grace, the delay counts from the contractual due date.
    const late = calculateEncargos({ ...base, pagamento: civilDate(2026, 4, 7) });
    expect(late).toMatchObject({ diasAtraso: 4, multaCentavos: 2_000n, jurosCentavos: 133n });
    // A Saturday due date too.
    const sat = { valorCentavos: 100_000n, vencimento: civilDate(2026, 3, 14) };
    expect(calculateEncargos({ ...sat, pagamento: civilDate(2026, 3, 16) }).diasAtraso).toBe(0);
  });

  test("a business-day due date has no grace", () => {
    expect(
      calculateEncargos({
        valorCentavos: 100_000n,
        vencimento: civilDate(2026, 3, 10),
        pagamento: civilDate(2026, 3, 11),
      }),
    ).toMatchObject({ diasAtraso: 1, multaCentavos: 2_000n, jurosCentavos: 33n });
  });

  test("contract parameters", () => {
    expect(
      calculateEncargos({
        valorCentavos: 100_000n,
        vencimento: civilDate(2026, 3, 10),
        pagamento: civilDate(2026, 4, 9),
        multa: parsePercentual("1"),
        jurosMensal: parsePercentual("0.5"),
      }),
    ).toMatchObject({ diasAtraso: 30, multaCentavos: 1_000n, jurosCentavos: 500n });
    expect(() =>
      calculateEncargos({
        valorCentavos: -1n,
        vencimento: civilDate(2026, 3, 10),
        pagamento: civilDate(2026, 3, 10),
      }),
    ).toThrow(/valorCentavos/);
  });

  test("property: encargos are monotonic in days late", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.integer({ min: 0, max: 3000 }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 400 }),
        (valor, offset, a, b) => {
          const vencimento = addDays(civilDate(2025, 1, 1), offset);
          const [early, later] = a <= b ? [a, b] : [b, a];
          const at = (d: number) =>
            calculateEncargos({ valorCentavos: valor, vencimento, pagamento: addDays(vencimento, d) });
          const x = at(early);
          const y = at(later);
          expect(y.diasAtraso).toBeGreaterThanOrEqual(x.diasAtraso);
          expect(y.jurosCentavos).toBeGreaterThanOrEqual(x.jurosCentavos);
          expect(y.multaCentavos).toBeGreaterThanOrEqual(x.multaCentavos);
          expect(y.totalCentavos).toBeGreaterThanOrEqual(x.totalCentavos);
          expect(x.totalCentavos).toBe(valor + x.multaCentavos + x.jurosCentavos);
        },
      ),
    );
  });

  test("split: the grupo's share (≥ 50%) and the administradora's sum exactly", () => {
    expect(splitEncargos(2_500n, new Dec(50))).toEqual({
      grupoCentavos: 1_250n,
      administradoraCentavos: 1_250n,
    });
    expect(splitEncargos(3n, new Dec(50))).toEqual({ grupoCentavos: 2n, administradoraCentavos: 1n });
    expect(() => splitEncargos(100n, new Dec(49))).toThrow(/percentualGrupo/);
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.integer({ min: 5000, max: 10000 }),
        (t, pct) => {
          const s = splitEncargos(t, new Dec(pct).dividedBy(100));
          expect(s.grupoCentavos + s.administradoraCentavos).toBe(t);
          expect(s.grupoCentavos * 2n).toBeGreaterThanOrEqual(t);
          expect(s.administradoraCentavos).toBeGreaterThanOrEqual(0n);
        },
      ),
    );
  });
});
