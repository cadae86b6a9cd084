import { civilDate, Dec, parsePercentual } from "@consorcio/domain";
import { describe, expect, test } from "vitest";
import { applyParcelaPaga, openLedger, resumoPercentual } from "../../src/domain/percentual-ledger.ts";
import { percentuaisDoPlano, simulatePlano } from "../../src/domain/plano.ts";
import {
  calculateRestituicao,
  dentroDoPrazoDeDesistencia,
  devolucaoIntegral,
} from "../../src/domain/restituicao.ts";

describe("restituição", () => {
  test("% of FC paid × price at the assembleia; TA and seguro not refunded; penalty default 0", () => {
    const params = {
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracao: parsePercentual("15"),
      fundoReserva: parsePercentual("2"),
    };
    let ledger = openLedger(percentuaisDoPlano(params));
    for (let m = 1; m <= 12; m++) ledger = applyParcelaPaga(ledger, m);
    const fcPago = resumoPercentual(ledger).pago.fundoComum; // 20%
    // The price went up to R$ 33.000,00 by the assembleia of the restitution.
    expect(
      calculateRestituicao({ fundoComumPagoPercentual: fcPago, precoAssembleiaCentavos: 3_300_000n }),
    ).toEqual({
      brutoCentavos: 660_000n,
      penalidadeCentavos: 0n,
      rendimentoCentavos: 0n,
      liquidoCentavos: 660_000n,
    });
    expect(
      calculateRestituicao({
        fundoComumPagoPercentual: fcPago,
        precoAssembleiaCentavos: 3_300_000n,
        penalidadePercentual: new Dec(10),
        rendimentoCentavos: 1_234n,
      }),
    ).toEqual({
      brutoCentavos: 660_000n,
      penalidadeCentavos: 66_000n,
      rendimentoCentavos: 1_234n,
      liquidoCentavos: 595_234n,
    });
    expect(() =>
      calculateRestituicao({ fundoComumPagoPercentual: new Dec(101), precoAssembleiaCentavos: 1n }),
    ).toThrow(/fundoComumPagoPercentual/);
  });

  test("a withdrawal within 7 days is refunded in full, TA advance and seguro included", () => {
    expect(dentroDoPrazoDeDesistencia(civilDate(2026, 3, 1), civilDate(2026, 3, 8))).toBe(true);
    expect(dentroDoPrazoDeDesistencia(civilDate(2026, 3, 1), civilDate(2026, 3, 9))).toBe(false);
    expect(dentroDoPrazoDeDesistencia(civilDate(2026, 3, 1), civilDate(2026, 2, 28))).toBe(false);
    const [first] = simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracao: parsePercentual("15"),
      fundoReserva: parsePercentual("2"),
      seguroMensal: parsePercentual("0.05"),
      antecipacaoTaxa: parsePercentual("1"),
    });
    if (!first) throw new Error("no parcela");
    const d = devolucaoIntegral([first]);
    expect(d.totalCentavos).toBe(first.totalCentavos);
    expect(d).toMatchObject({
      antecipacaoTaxaCentavos: 30_000n,
      seguroCentavos: 1_500n,
      fundoComumCentavos: 50_000n,
    });
  });
});
