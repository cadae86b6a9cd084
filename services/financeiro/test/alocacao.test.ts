// How a payment applies to a parcela: the multa of a parcela paid in parts is charged once.
import { civilDate, Dec } from "@consorcio/domain";
import { describe, expect, test } from "vitest";
import { alocarPagamento, type ParcelaAberta } from "../src/alocacao.ts";

const parcela: ParcelaAberta = {
  situacao: "VENCIDA",
  valorCentavos: 100_000n,
  pagoCentavos: 0n,
  vencimento: civilDate(2026, 3, 10),
  componentes: {
    fundoComumCentavos: 80_000n,
    taxaAdministracaoCentavos: 15_000n,
    fundoReservaCentavos: 5_000n,
    seguroCentavos: 0n,
    antecipacaoTaxaCentavos: 0n,
  },
};
const pct = new Dec(50);

describe("alocarPagamento", () => {
  test("a parcela paid late in two parts pays the 2% multa once", () => {
    const primeira = alocarPagamento({
      parcela,
      valorCentavos: 50_000n,
      dataPagamento: civilDate(2026, 4, 9),
      percentualEncargosGrupo: pct,
    });
    expect(primeira.resultado).toBe("PARCIAL");
    expect(primeira.multaCentavos).toBe(2_000n);
    const depois = { ...parcela, pagoCentavos: primeira.pagoCentavos, multaPagaCentavos: 2_000n };
    const segunda = alocarPagamento({
      parcela: depois,
      valorCentavos: 200_000n,
      dataPagamento: civilDate(2026, 4, 9),
      percentualEncargosGrupo: pct,
    });
    expect(segunda.multaCentavos).toBe(0n);
    expect(segunda.situacao).toBe("PAGA");
    // Without the multa already paid it would have been charged again on what was left.
    const semRegistro = alocarPagamento({
      parcela: { ...depois, multaPagaCentavos: 0n },
      valorCentavos: 200_000n,
      dataPagamento: civilDate(2026, 4, 9),
      percentualEncargosGrupo: pct,
    });
    expect(semRegistro.multaCentavos).toBeGreaterThan(0n);
  });

  test("a multa only partly covered by the first payment is completed by the next, never exceeded", () => {
    const primeira = alocarPagamento({
      parcela,
      valorCentavos: 500n,
      dataPagamento: civilDate(2026, 4, 9),
      percentualEncargosGrupo: pct,
    });
    expect(primeira.multaCentavos).toBe(500n);
    const segunda = alocarPagamento({
      parcela: { ...parcela, pagoCentavos: primeira.pagoCentavos, multaPagaCentavos: 500n },
      valorCentavos: 200_000n,
      dataPagamento: civilDate(2026, 4, 9),
      percentualEncargosGrupo: pct,
    });
    expect(primeira.multaCentavos + segunda.multaCentavos).toBe(2_000n);
  });
});
