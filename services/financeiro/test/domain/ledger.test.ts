import { Dec } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { splitEncargos } from "../../src/domain/encargos.ts";
import {
  balances,
  buildLancamento,
  CONTAS,
  caixaDisponivel,
  creditoContemplacao,
  devolucaoDesistencia,
  devolucaoValores,
  encargosRecebidos,
  estornoCreditoContemplacao,
  type Lancamento,
  liberacaoCredito,
  loteDeBaixa,
  pagamentoLance,
  pagamentoParcela,
  pagamentoRestituicao,
  recebimentoADevolver,
  recursosNaoProcurados,
  rendimentoFinanceiro,
  repasse,
  restituicaoCalculada,
  somaDosSaldos,
  tarifaBancaria,
  UnbalancedEntryError,
} from "../../src/domain/ledger.ts";

const parcela = {
  fundoComumCentavos: 50_000n,
  taxaAdministracaoCentavos: 7_500n,
  fundoReservaCentavos: 1_000n,
  seguroCentavos: 300n,
};

describe("ledger", () => {
  test("an unbalanced, one-sided or unknown-account entry is refused", () => {
    expect(() =>
      buildLancamento("PAGAMENTO_PARCELA", [
        { conta: "CAIXA", valorCentavos: 100n },
        { conta: "FUNDO_COMUM", valorCentavos: -99n },
      ]),
    ).toThrow(UnbalancedEntryError);
    expect(() => buildLancamento("ESTORNO", [{ conta: "CAIXA", valorCentavos: 0n }])).toThrow(
      UnbalancedEntryError,
    );
    expect(() =>
      buildLancamento("ESTORNO", [
        { conta: "CAIXA", valorCentavos: 1n },
        { conta: "BANCO_X" as never, valorCentavos: -1n },
      ]),
    ).toThrow(/unknown account/);
    expect(() => pagamentoParcela({ ...parcela, fundoComumCentavos: -1n })).toThrow(/fundoComumCentavos/);
  });

  test("a paid parcela goes to the cash and is split into FC, TA, FR and seguro", () => {
    const saldos = balances([pagamentoParcela({ ...parcela, antecipacaoTaxaCentavos: 90_000n })]);
    expect(saldos.CAIXA).toBe(148_800n);
    expect(saldos.FUNDO_COMUM).toBe(-50_000n);
    expect(saldos.TAXA_ADMINISTRACAO).toBe(-97_500n);
    expect(saldos.FUNDO_RESERVA).toBe(-1_000n);
    expect(saldos.SEGURO).toBe(-300n);
    expect(caixaDisponivel(saldos)).toEqual({ fundoComumCentavos: 50_000n, fundoReservaCentavos: 1_000n });
  });

  test("contemplation: the credit leaves the cash available, its reversal brings it back, its release pays it", () => {
    const entries: Lancamento[] = [];
    for (let i = 0; i < 10; i++) entries.push(pagamentoParcela(parcela));
    const booking = creditoContemplacao({
      creditoCentavos: 400_000n,
      lanceEmbutidoCentavos: 100_000n,
      doFundoReservaCentavos: 5_000n,
    });
    entries.push(booking);
    let saldos = balances(entries);
    expect(saldos.CREDITOS_A_PAGAR).toBe(-300_000n);
    expect(caixaDisponivel(saldos)).toEqual({ fundoComumCentavos: 205_000n, fundoReservaCentavos: 5_000n });
    saldos = balances([...entries, estornoCreditoContemplacao(booking)]);
    expect(caixaDisponivel(saldos)).toEqual({ fundoComumCentavos: 500_000n, fundoReservaCentavos: 10_000n });
    expect(saldos.CREDITOS_A_PAGAR).toBe(0n);
    saldos = balances([...entries, liberacaoCredito(300_000n)]);
    expect(saldos.CREDITOS_A_PAGAR).toBe(0n);
    expect(saldos.CAIXA).toBe(10n * 58_800n - 300_000n);
    expect(() => estornoCreditoContemplacao(pagamentoParcela(parcela))).toThrow(UnbalancedEntryError);
    expect(() => creditoContemplacao({ creditoCentavos: 1n, lanceEmbutidoCentavos: 2n })).toThrow(
      /lanceEmbutido/,
    );
  });

  test("encargos split and restitution entries", () => {
    const split = splitEncargos(2_500n, new Dec(60));
    const saldos = balances([
      encargosRecebidos(split),
      pagamentoParcela(parcela),
      restituicaoCalculada(30_000n),
      pagamentoRestituicao(30_000n),
    ]);
    expect(saldos.ENCARGOS_GRUPO).toBe(-1_500n);
    expect(saldos.ENCARGOS_ADMINISTRADORA).toBe(-1_000n);
    expect(saldos.FUNDO_COMUM).toBe(-20_000n);
    expect(saldos.RESTITUICOES_A_PAGAR).toBe(0n);
    expect(saldos.CAIXA).toBe(2_500n + 58_800n - 30_000n);
  });

  test("a bank fee comes out of what is owed to the administradora, never out of the funds", () => {
    const saldos = balances([pagamentoParcela(parcela), tarifaBancaria(150n)]);
    expect(saldos.TAXA_ADMINISTRACAO).toBe(-7_350n);
    expect(saldos.CAIXA).toBe(58_650n);
    expect(caixaDisponivel(saldos)).toEqual({ fundoComumCentavos: 50_000n, fundoReservaCentavos: 1_000n });
  });

  test("a withdrawal within 7 days refunds every fund, TA and seguro included", () => {
    const saldos = balances([pagamentoParcela(parcela), devolucaoDesistencia(parcela)]);
    expect(saldos.RESTITUICOES_A_PAGAR).toBe(-58_800n);
    for (const c of ["FUNDO_COMUM", "TAXA_ADMINISTRACAO", "FUNDO_RESERVA", "SEGURO"] as const)
      expect(saldos[c]).toBe(0n);
  });

  test("property: under random sequences of operations every entry balances and the balances sum to zero", () => {
    const amount = fc.bigInt({ min: 0n, max: 10n ** 9n });
    const positive = fc.bigInt({ min: 1n, max: 10n ** 9n });
    const op = fc.oneof(
      fc.record({ k: fc.constant("parcela" as const), fc: amount, ta: amount, fr: amount, seg: amount }),
      fc.record({
        k: fc.constant("encargos" as const),
        total: positive,
        pct: fc.integer({ min: 50, max: 100 }),
      }),
      fc.record({ k: fc.constant("credito" as const), c: positive, emb: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ k: fc.constant("estorno" as const) }),
      fc.record({ k: fc.constant("lance" as const), fc: positive, ta: amount, fr: amount }),
      fc.record({ k: fc.constant("liberacao" as const), v: positive }),
      fc.record({ k: fc.constant("restituicao" as const), v: positive }),
      fc.record({ k: fc.constant("repasse" as const), v: positive }),
      fc.record({ k: fc.constant("devolver" as const), v: positive }),
      fc.record({ k: fc.constant("rendimento" as const), v: positive }),
      fc.record({ k: fc.constant("rnp" as const), v: positive }),
      fc.record({ k: fc.constant("tarifa" as const), v: positive }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
        const entries: Lancamento[] = [];
        const bookings: Lancamento[] = [];
        for (const o of ops) {
          let e: Lancamento | undefined;
          switch (o.k) {
            case "parcela":
              if (o.fc + o.ta + o.fr + o.seg === 0n) continue;
              e = pagamentoParcela({
                fundoComumCentavos: o.fc,
                taxaAdministracaoCentavos: o.ta,
                fundoReservaCentavos: o.fr,
                seguroCentavos: o.seg,
              });
              break;
            case "encargos":
              e = encargosRecebidos(splitEncargos(o.total, new Dec(o.pct)));
              break;
            case "credito": {
              const emb = (o.c * BigInt(o.emb)) / 100n;
              if (emb === o.c) continue;
              e = creditoContemplacao({ creditoCentavos: o.c, lanceEmbutidoCentavos: emb });
              bookings.push(e);
              break;
            }
            case "estorno": {
              const b = bookings.pop();
              if (!b) continue;
              e = estornoCreditoContemplacao(b);
              break;
            }
            case "lance":
              e = pagamentoLance({
                fundoComumCentavos: o.fc,
                taxaAdministracaoCentavos: o.ta,
                fundoReservaCentavos: o.fr,
              });
              break;
            case "liberacao":
              e = liberacaoCredito(o.v);
              break;
            case "restituicao":
              e = restituicaoCalculada(o.v);
              break;
            case "repasse":
              e = repasse("TAXA_ADMINISTRACAO", o.v);
              break;
            case "devolver":
              entries.push(recebimentoADevolver(o.v));
              e = devolucaoValores(o.v);
              break;
            case "rendimento":
              e = rendimentoFinanceiro("FUNDO_COMUM", o.v);
              break;
            case "rnp":
              e = recursosNaoProcurados("CREDITOS_A_PAGAR", o.v);
              break;
            case "tarifa":
              e = tarifaBancaria(o.v);
              break;
          }
          expect(e.linhas.reduce((s, l) => s + l.valorCentavos, 0n)).toBe(0n);
          entries.push(e);
          expect(somaDosSaldos(balances(entries))).toBe(0n);
        }
        const saldos = balances(entries);
        expect(Object.keys(saldos).sort()).toEqual([...CONTAS].sort());
        expect(somaDosSaldos(saldos)).toBe(0n);
        const disponivel = caixaDisponivel(saldos);
        expect(disponivel.fundoComumCentavos >= 0n && disponivel.fundoReservaCentavos >= 0n).toBe(true);
      }),
    );
  });

  test("property: a lote de baixa is balanced and has, per account, the sum of its payments' legs", () => {
    const amount = fc.bigInt({ min: 0n, max: 10_000_000n });
    const payment = fc.oneof(
      fc
        .record({ fc: amount, ta: amount, fr: amount, sg: amount })
        .filter((c) => c.fc + c.ta + c.fr + c.sg > 0n)
        .map((c) =>
          pagamentoParcela({
            fundoComumCentavos: c.fc,
            taxaAdministracaoCentavos: c.ta,
            fundoReservaCentavos: c.fr,
            seguroCentavos: c.sg,
          }),
        ),
      fc
        .record({ g: amount, a: amount })
        .filter((e) => e.g + e.a > 0n)
        .map((e) => encargosRecebidos({ grupoCentavos: e.g, administradoraCentavos: e.a })),
      amount.filter((v) => v > 0n).map((v) => recebimentoADevolver(v)),
    );
    fc.assert(
      fc.property(fc.array(payment, { minLength: 1, maxLength: 30 }), (entries) => {
        const lote = loteDeBaixa(entries);
        expect(lote.tipo).toBe("LOTE_BAIXA");
        expect(lote.linhas.reduce((s, l) => s + l.valorCentavos, 0n)).toBe(0n);
        expect(balances([lote])).toEqual(balances(entries));
      }),
    );
  });
});
