// The refund of an excluded cota, computed read-only for the apuração, and the money rule
// reaching it or not (only a contemplated restitution is booked, by financeiro).
import { Dec } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { apurar, type EntradaApuracao, REGRA, sortearRestituicao } from "../src/domain/apuracao.ts";
import { fundoComumPagoPercentual, valorRestituicao } from "../src/domain/restituicao.ts";

const PRECO = 10_000_000n;
const parcela = (fundoComumPercentual: string, valorCentavos: bigint, pagoCentavos: bigint) => ({
  fundoComumPercentual,
  valorCentavos,
  pagoCentavos,
});

describe("valorRestituicao", () => {
  test("% of FC paid (partial parcelas pro rata, overpaid ones counted once) × price, less the penalty", () => {
    const parcelas = [
      parcela("10", 120_000n, 120_000n),
      parcela("10", 120_000n, 150_000n), // paid with encargos: the FC share is at most 10%
      parcela("10", 120_000n, 60_000n), // half paid: 5%
      parcela("10", 120_000n, 0n),
      parcela("0", 0n, 0n), // a zero bill counts nothing
    ];
    expect(fundoComumPagoPercentual(parcelas).toFixed()).toBe("25");
    expect(valorRestituicao({ parcelas, precoCentavos: PRECO, penalidadePercentual: "" })).toBe(2_500_000n);
    expect(valorRestituicao({ parcelas, precoCentavos: PRECO, penalidadePercentual: "10" })).toBe(2_250_000n);
    expect(valorRestituicao({ parcelas: [], precoCentavos: PRECO, penalidadePercentual: "10" })).toBe(0n);
  });

  test("property: between 0 and the price, capped at 100% of the FC", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            pct: fc.integer({ min: 0, max: 5_000 }),
            valor: fc.bigInt({ min: 1n, max: 1_000_000n }),
            pago: fc.bigInt({ min: 0n, max: 2_000_000n }),
          }),
          { maxLength: 80 },
        ),
        fc.integer({ min: 0, max: 20 }),
        (linhas, penalidade) => {
          const parcelas = linhas.map((l) =>
            parcela(new Dec(l.pct).dividedBy(100).toFixed(), l.valor, l.pago),
          );
          const valor = valorRestituicao({
            parcelas,
            precoCentavos: PRECO,
            penalidadePercentual: String(penalidade),
          });
          expect(valor >= 0n && valor <= PRECO).toBe(true);
          expect(fundoComumPagoPercentual(parcelas).lte(100)).toBe(true);
        },
      ),
    );
  });
});

describe("the money rule over the restitution", () => {
  const entrada = (fundoComum: bigint, valor: bigint): EntradaApuracao => ({
    regra: REGRA,
    assembleiaId: "a",
    grupoId: "g",
    extracao: { numero: 5900, data: "2026-12-05", premios: ["48602", "01927", "82187", "34246", "68744"] },
    quantidadeCotas: 500,
    regraSorteio: { premiosConsiderados: 5, deslocados: true },
    sorteioExcluidos: true,
    contemplacoesPlanejadas: 1,
    creditoCentavos: PRECO.toString(),
    fundoComumCentavos: fundoComum.toString(),
    fundoReservaCentavos: "0",
    cotasElegiveis: [1, 2, 3, 102],
    cotasExcluidas: [50, 360],
    restituicoes: [{ cota: 360, valorCentavos: valor.toString() }],
    regrasLance: { tiposPermitidos: ["LIVRE"], minimoLivre: "5", fixo: "", maximoEmbutido: "30" },
    lances: [],
  });

  test("the drawn excluded cota is contemplated only if the FC left after the sorteio pays its refund", () => {
    expect(sortearRestituicao(entrada(0n, 0n))).toBe(360);
    const paga = apurar(entrada(PRECO + 1_000_000n, 1_000_000n));
    expect(paga.contemplacoes.map((c) => [c.cota, c.modalidade, c.custoCentavos])).toEqual([
      [102, "SORTEIO", PRECO],
      [360, "RESTITUICAO", 1_000_000n],
    ]);
    const curta = apurar(entrada(PRECO + 999_999n, 1_000_000n));
    expect(curta.contemplacoes.map((c) => c.modalidade)).toEqual(["SORTEIO"]);
    expect(curta.notas).toContain("restituição: sem caixa para a cota 360");
    expect(curta.saldoFundoComumCentavos).toBe(999_999n);
  });
});
