// Ranking and apuração (DOMAIN.md §4): order, money rule, ties, determinism, compensation.
import { parsePercentual } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  apurar,
  type EntradaApuracao,
  hashEntrada,
  hashResultado,
  MOTIVO_LANCE,
  proximoLance,
  REGRA,
} from "../src/domain/apuracao.ts";
import { classificarLances, recusaLance } from "../src/domain/lances.ts";

const EXEMPLO = ["48602", "01927", "82187", "34246", "68744"];
const CREDITO = 10_000_000n; // R$ 100.000,00

function entrada(over: Partial<EntradaApuracao> = {}): EntradaApuracao {
  return {
    regra: REGRA,
    assembleiaId: "a",
    grupoId: "g",
    extracao: { numero: 5900, data: "2026-12-05", premios: EXEMPLO },
    quantidadeCotas: 500,
    regraSorteio: { premiosConsiderados: 5, deslocados: true },
    sorteioExcluidos: true,
    contemplacoesPlanejadas: 1,
    creditoCentavos: CREDITO.toString(),
    fundoComumCentavos: (CREDITO * 10n).toString(),
    fundoReservaCentavos: "0",
    cotasElegiveis: Array.from({ length: 500 }, (_, i) => i + 1).filter((c) => c !== 427),
    cotasExcluidas: [],
    restituicoes: [],
    regrasLance: {
      tiposPermitidos: ["LIVRE", "FIXO", "EMBUTIDO"],
      minimoLivre: "5",
      fixo: "30",
      maximoEmbutido: "30",
    },
    lances: [],
    ...over,
  };
}

const oferta = (cota: number, tipo: "LIVRE" | "FIXO" | "EMBUTIDO", percentual: string, embutido = "0") => ({
  cota,
  tipo,
  percentual: parsePercentual(percentual),
  embutido: parsePercentual(embutido),
});

describe("ranking", () => {
  test("fixo first by proximity, then livre by percentage, ties by proximity then the higher cota", () => {
    const base = 100;
    const ranked = classificarLances(
      [
        oferta(90, "LIVRE", "40"),
        oferta(110, "LIVRE", "40"),
        oferta(105, "LIVRE", "40"),
        oferta(300, "EMBUTIDO", "45", "20"),
        oferta(400, "FIXO", "30"),
        oferta(101, "FIXO", "30"),
        oferta(99, "FIXO", "30"),
      ],
      base,
    );
    expect(ranked.map((l) => l.cota)).toEqual([101, 99, 400, 300, 105, 110, 90]);
  });

  test("property: a lance never outranks a higher livre percentage, and ties go to the nearer cota", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 40 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 6, max: 60 }), { minLength: 40, maxLength: 40 }),
        (cotas, base, pcts) => {
          const ranked = classificarLances(
            cotas.map((c, i) => oferta(c, "LIVRE", String(pcts[i]))),
            base,
          );
          for (let i = 1; i < ranked.length; i++) {
            const [a, b] = [ranked[i - 1], ranked[i]] as [(typeof ranked)[0], (typeof ranked)[0]];
            expect(a.percentual.gte(b.percentual)).toBe(true);
            if (a.percentual.eq(b.percentual)) {
              const [da, db] = [Math.abs(a.cota - base), Math.abs(b.cota - base)];
              expect(da < db || (da === db && a.cota > b.cota)).toBe(true);
            }
          }
        },
      ),
    );
  });

  test("refusals: below the minimum, above the embutido cap, fixo not the grupo's", () => {
    const regras = {
      tiposPermitidos: ["LIVRE", "FIXO", "EMBUTIDO"] as const,
      minimoLivre: parsePercentual("5"),
      fixo: parsePercentual("30"),
      maximoEmbutido: parsePercentual("30"),
    };
    expect(recusaLance(regras, oferta(1, "LIVRE", "5"))).toMatch(/abaixo do mínimo/);
    expect(recusaLance(regras, oferta(1, "LIVRE", "5.01"))).toBeUndefined();
    expect(recusaLance(regras, oferta(1, "EMBUTIDO", "40", "30.5"))).toMatch(/acima do limite/);
    expect(recusaLance(regras, oferta(1, "EMBUTIDO", "40", "30"))).toBeUndefined();
    expect(recusaLance(regras, oferta(1, "FIXO", "25"))).toMatch(/lance fixo do grupo/);
    expect(recusaLance({ ...regras, tiposPermitidos: ["LIVRE"] }, oferta(1, "FIXO", "30"))).toMatch(
      /não permitido/,
    );
  });
});

describe("apuração", () => {
  test("order: sorteio, restitution, lance fixo, lance livre and embutido, with their costs", () => {
    const e = entrada({
      cotasExcluidas: [50, 360],
      restituicoes: [{ cota: 360, valorCentavos: "1234500" }],
      lances: [
        { cota: 10, tipo: "LIVRE", percentual: "50", embutido: "0" },
        { cota: 20, tipo: "EMBUTIDO", percentual: "60", embutido: "25" },
        { cota: 102, tipo: "LIVRE", percentual: "70", embutido: "0" },
        { cota: 200, tipo: "FIXO", percentual: "30", embutido: "0" },
        { cota: 427, tipo: "LIVRE", percentual: "90", embutido: "0" },
      ],
    });
    const r = apurar(e);
    expect(r.sorteio.sorteadas).toEqual([102]);
    // Restitution: the excluded pool {50, 360}: candidate 2 maps to 360.
    expect(r.restituicao?.sorteadas).toEqual([360]);
    expect(r.contemplacoes.map((c) => [c.ordem, c.cota, c.modalidade, c.custoCentavos])).toEqual([
      [1, 102, "SORTEIO", CREDITO],
      [2, 360, "RESTITUICAO", 1_234_500n],
      [3, 200, "LANCE_FIXO", 7_000_000n],
      [4, 20, "LANCE_LIVRE", 4_000_000n],
      [5, 10, "LANCE_LIVRE", 5_000_000n],
    ]);
    const embutido = r.contemplacoes[3];
    expect([embutido?.lanceCentavos, embutido?.embutidoCentavos]).toEqual([6_000_000n, 2_500_000n]);
    const motivo = (cota: number) => r.lances.find((l) => l.cota === cota)?.motivo;
    expect(motivo(102)).toBe(MOTIVO_LANCE.jaContemplada);
    expect(motivo(427)).toBe(MOTIVO_LANCE.inelegivel);
    expect(r.saldoFundoComumCentavos).toBe(
      CREDITO * 10n - CREDITO - 1_234_500n - 7_000_000n - 4_000_000n - 5_000_000n,
    );
  });

  test("the money limit stops contemplations; FR tops up FC for the sorteio only", () => {
    const e = entrada({
      fundoComumCentavos: (CREDITO - 1_000n).toString(),
      fundoReservaCentavos: "5000",
      lances: [{ cota: 10, tipo: "LIVRE", percentual: "99", embutido: "0" }],
    });
    const r = apurar(e);
    expect(r.contemplacoes.map((c) => c.modalidade)).toEqual(["SORTEIO"]);
    expect(r.saldoFundoReservaCentavos).toBe(4_000n);
    expect(r.saldoFundoComumCentavos).toBe(0n);
    expect(r.lances[0]?.motivo).toBe(MOTIVO_LANCE.semCaixa);

    const pobre = apurar(entrada({ fundoComumCentavos: "100", contemplacoesPlanejadas: 2 }));
    expect(pobre.contemplacoes).toEqual([]);
    expect(pobre.notas[0]).toMatch(/0 de 2/);
  });

  test("property: cash spent never exceeds FC + FR, and no cota is contemplated twice", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: CREDITO * 5n }),
        fc.bigInt({ min: 0n, max: CREDITO }),
        fc.uniqueArray(fc.integer({ min: 1, max: 500 }), { maxLength: 30 }),
        fc.integer({ min: 0, max: 3 }),
        (fcC, frC, cotas, planejadas) => {
          const r = apurar(
            entrada({
              fundoComumCentavos: fcC.toString(),
              fundoReservaCentavos: frC.toString(),
              contemplacoesPlanejadas: planejadas,
              lances: cotas
                .sort((a, b) => a - b)
                .map((c) => ({
                  cota: c,
                  tipo: "LIVRE" as const,
                  percentual: String(6 + (c % 50)),
                  embutido: "0",
                })),
            }),
          );
          const gasto = r.contemplacoes.reduce((s, c) => s + c.custoCentavos, 0n);
          expect(gasto).toBe(fcC + frC - r.saldoFundoComumCentavos - r.saldoFundoReservaCentavos);
          expect(r.saldoFundoComumCentavos >= 0n && r.saldoFundoReservaCentavos >= 0n).toBe(true);
          expect(new Set(r.contemplacoes.map((c) => c.cota)).size).toBe(r.contemplacoes.length);
        },
      ),
    );
  });

  test("deterministic: the same input gives the same result and hashes", () => {
    const e = entrada({ lances: [{ cota: 7, tipo: "LIVRE", percentual: "12.5", embutido: "0" }] });
    const copia = JSON.parse(JSON.stringify(e)) as EntradaApuracao;
    expect(hashResultado(apurar(copia))).toBe(hashResultado(apurar(e)));
    expect(hashEntrada(copia)).toEqual(hashEntrada(e));
    // Key order does not change the canonical text.
    const reordenada = Object.fromEntries(Object.entries(e).reverse()) as unknown as EntradaApuracao;
    expect(hashEntrada(reordenada).sha256).toBe(hashEntrada(e).sha256);
    expect(hashEntrada({ ...e, fundoComumCentavos: "1" }).sha256).not.toBe(hashEntrada(e).sha256);
  });

  test("compensation: the next lance that lost for want of cash takes a cancelled one's place", () => {
    const e = entrada({
      contemplacoesPlanejadas: 0,
      fundoComumCentavos: "5500000",
      lances: [
        { cota: 10, tipo: "LIVRE", percentual: "50", embutido: "0" },
        { cota: 20, tipo: "LIVRE", percentual: "45", embutido: "0" },
        { cota: 30, tipo: "LIVRE", percentual: "4", embutido: "0" },
      ],
    });
    const r = apurar(e);
    expect(r.contemplacoes.map((c) => c.cota)).toEqual([10]);
    // Cota 10 did not pay: its cost comes back to the cash, and cota 20 is next in rank.
    const proxima = proximoLance(e, r, new Set([10]), r.saldoFundoComumCentavos + 5_000_000n);
    expect([proxima?.cota, proxima?.custoCentavos]).toEqual([20, 5_500_000n]);
    expect(proximoLance(e, r, new Set([10]), 5_499_999n)).toBeUndefined();
    expect(proximoLance(e, r, new Set([10, 20]), CREDITO)).toBeUndefined();
  });
});
