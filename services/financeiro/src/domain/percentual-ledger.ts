// The percentage ledger of a cota (DOMAIN.md §1): what it paid and still owes of FC, TA and FR, as
// percentages of the bem. Payments, lances and refunds all work in %; R$ only at the price in force.
import { Dec, percentOf } from "@consorcio/domain";
import { EngineInputError } from "./erros.ts";
import type { Percentuais } from "./plano.ts";

export interface Fundos {
  readonly fundoComum: Dec;
  readonly taxaAdministracao: Dec;
  readonly fundoReserva: Dec;
}

export interface MesPercentual {
  readonly mes: number;
  /** Still owed for this month. */
  readonly devido: Fundos;
  /** Already paid for this month (by its parcela or by a lance). */
  readonly pago: Fundos;
}

export interface PercentualLedger {
  readonly meses: readonly MesPercentual[];
}

const ZERO = new Dec(0);
const ZERO_FUNDOS: Fundos = { fundoComum: ZERO, taxaAdministracao: ZERO, fundoReserva: ZERO };
const KEYS = ["fundoComum", "taxaAdministracao", "fundoReserva"] as const;

const plus = (a: Fundos, b: Fundos): Fundos => ({
  fundoComum: a.fundoComum.plus(b.fundoComum),
  taxaAdministracao: a.taxaAdministracao.plus(b.taxaAdministracao),
  fundoReserva: a.fundoReserva.plus(b.fundoReserva),
});
const minus = (a: Fundos, b: Fundos): Fundos => ({
  fundoComum: a.fundoComum.minus(b.fundoComum),
  taxaAdministracao: a.taxaAdministracao.minus(b.taxaAdministracao),
  fundoReserva: a.fundoReserva.minus(b.fundoReserva),
});
const scale = (a: Fundos, k: Dec): Fundos => ({
  fundoComum: a.fundoComum.times(k),
  taxaAdministracao: a.taxaAdministracao.times(k),
  fundoReserva: a.fundoReserva.times(k),
});
const totalOf = (a: Fundos): Dec => a.fundoComum.plus(a.taxaAdministracao).plus(a.fundoReserva);

/** A new cota's ledger from its plan (percentuaisDoPlano). The TA advance counts as TA of month 1. */
export function openLedger(plano: readonly Percentuais[]): PercentualLedger {
  return {
    meses: plano.map((p, i) => ({
      mes: i + 1,
      devido: {
        fundoComum: p.fundoComum,
        taxaAdministracao: p.taxaAdministracao.plus(p.antecipacaoTaxa ?? ZERO),
        fundoReserva: p.fundoReserva,
      },
      pago: ZERO_FUNDOS,
    })),
  };
}

function mesOf(ledger: PercentualLedger, mes: number): MesPercentual {
  const m = ledger.meses.find((x) => x.mes === mes);
  if (!m) throw new EngineInputError("mes", "mes.unknown", `no month ${mes} in the plan`);
  return m;
}

/** Whether anything of this month is still owed. */
export function mesEmAberto(ledger: PercentualLedger, mes: number): boolean {
  return !totalOf(mesOf(ledger, mes).devido).isZero();
}

/**
 * A parcela paid: what the month still owes moves to paid. `fracao` (0 < f ≤ 1) is the share paid,
 * for an underpayment accepted as partial: each fund gets the same share.
 */
export function applyParcelaPaga(
  ledger: PercentualLedger,
  mes: number,
  fracao: Dec = new Dec(1),
): PercentualLedger {
  if (!fracao.gt(0) || fracao.gt(1))
    throw new EngineInputError("fracao", "fracao.range", "must be in (0, 1]");
  const m = mesOf(ledger, mes);
  if (totalOf(m.devido).isZero())
    throw new EngineInputError("mes", "mes.already_paid", `month ${mes} is paid`);
  const paid = scale(m.devido, fracao);
  return {
    meses: ledger.meses.map((x) =>
      x.mes === mes ? { mes, devido: minus(x.devido, paid), pago: plus(x.pago, paid) } : x,
    ),
  };
}

export type OrdemAmortizacao = "ULTIMAS" | "PROPORCIONAL";

export interface LanceAmortizado {
  readonly ledger: PercentualLedger;
  /** Percentages of the bem the lance paid, per fund. */
  readonly amortizado: Fundos;
  /** The lance in R$ per fund, summing to the lance exactly (largest-remainder rounding). */
  readonly fundoComumCentavos: bigint;
  readonly taxaAdministracaoCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
  /** Months the lance paid off completely. */
  readonly mesesQuitados: readonly number[];
}

/**
 * A lance of `lanceCentavos` at the price `precoCentavos` amortises what the cota owes: by default
 * the last parcelas first (each month in its own FC/TA/FR proportion); PROPORCIONAL lowers every
 * open month by the same share. A lance above what is owed is refused.
 */
export function amortizeLance(
  ledger: PercentualLedger,
  lanceCentavos: bigint,
  precoCentavos: bigint,
  ordem: OrdemAmortizacao = "ULTIMAS",
): LanceAmortizado {
  if (lanceCentavos <= 0n) throw new EngineInputError("lanceCentavos", "valor.positive", "must be > 0");
  if (precoCentavos <= 0n) throw new EngineInputError("precoCentavos", "preco.positive", "must be > 0");
  let restante = new Dec(lanceCentavos.toString()).times(100).dividedBy(precoCentavos.toString());
  const owed = totalOf(resumoPercentual(ledger).devido);
  if (lanceCentavos > saldoDevedor(ledger, precoCentavos).totalCentavos)
    throw new EngineInputError(
      "lanceCentavos",
      "lance.exceeds_saldo",
      "the lance exceeds what the cota owes",
    );
  // A lance of the whole balance in R$ may differ from the % owed by the per-fund rounding.
  if (restante.gt(owed)) restante = owed;
  let amortizado = ZERO_FUNDOS;
  const mesesQuitados: number[] = [];
  let meses: MesPercentual[];
  if (ordem === "PROPORCIONAL") {
    const k = restante.dividedBy(owed);
    meses = ledger.meses.map((m) => {
      const paid = scale(m.devido, k);
      amortizado = plus(amortizado, paid);
      if (!totalOf(m.devido).isZero() && k.eq(1)) mesesQuitados.push(m.mes);
      return { mes: m.mes, devido: minus(m.devido, paid), pago: plus(m.pago, paid) };
    });
  } else {
    meses = [...ledger.meses];
    for (let i = meses.length - 1; i >= 0 && restante.gt(0); i--) {
      const m = meses[i] as MesPercentual;
      const owedHere = totalOf(m.devido);
      if (owedHere.isZero()) continue;
      const share = restante.gte(owedHere) ? new Dec(1) : restante.dividedBy(owedHere);
      const paid = share.eq(1) ? m.devido : scale(m.devido, share);
      if (share.eq(1)) mesesQuitados.push(m.mes);
      restante = restante.minus(totalOf(paid));
      amortizado = plus(amortizado, paid);
      meses[i] = {
        mes: m.mes,
        devido: share.eq(1) ? ZERO_FUNDOS : minus(m.devido, paid),
        pago: plus(m.pago, paid),
      };
    }
  }
  const preco = new Dec(precoCentavos.toString());
  const [fundoComumCentavos, taxaAdministracaoCentavos, fundoReservaCentavos] = allocate(
    lanceCentavos,
    KEYS.map((k) => preco.times(amortizado[k]).dividedBy(100)),
  ) as [bigint, bigint, bigint];
  return {
    ledger: { meses },
    amortizado,
    fundoComumCentavos,
    taxaAdministracaoCentavos,
    fundoReservaCentavos,
    mesesQuitados: mesesQuitados.sort((a, b) => a - b),
  };
}

/** Whole centavos summing to `total` exactly, nearest to the exact parts (largest remainder). */
export function allocate(total: bigint, exact: readonly Dec[]): bigint[] {
  if (total < 0n || exact.length === 0) throw new RangeError("allocate: needs total ≥ 0 and some parts");
  const floors = exact.map((x) => BigInt(x.floor().toFixed(0)));
  let left = total - floors.reduce((a, b) => a + b, 0n);
  const order = exact
    .map((x, i) => ({ i, frac: x.minus(x.floor()) }))
    .sort((a, b) => b.frac.comparedTo(a.frac) || a.i - b.i);
  const out = [...floors];
  for (let j = 0; left !== 0n; j = (j + 1) % order.length) {
    const i = (order[j] as { i: number }).i;
    const step = left > 0n ? 1n : -1n;
    if (step < 0n && (out[i] as bigint) <= 0n) continue;
    out[i] = (out[i] as bigint) + step;
    left -= step;
  }
  return out;
}

export interface ResumoPercentual {
  readonly pago: Fundos;
  readonly devido: Fundos;
  /** pago ÷ (pago + devido) × 100, per fund (0 for a fund the plan does not charge). */
  readonly amortizado: Fundos;
  /** Months with nothing owed. */
  readonly mesesQuitados: number;
}

export function resumoPercentual(ledger: PercentualLedger): ResumoPercentual {
  let pago = ZERO_FUNDOS;
  let devido = ZERO_FUNDOS;
  let mesesQuitados = 0;
  for (const m of ledger.meses) {
    pago = plus(pago, m.pago);
    devido = plus(devido, m.devido);
    if (totalOf(m.devido).isZero()) mesesQuitados++;
  }
  const share = (k: (typeof KEYS)[number]) => {
    const total = pago[k].plus(devido[k]);
    return total.isZero() ? ZERO : pago[k].times(100).dividedBy(total);
  };
  return {
    pago,
    devido,
    amortizado: {
      fundoComum: share("fundoComum"),
      taxaAdministracao: share("taxaAdministracao"),
      fundoReserva: share("fundoReserva"),
    },
    mesesQuitados,
  };
}

/** What the cota still owes in R$ at a price (payoff, quitação), per fund and in total. */
export function saldoDevedor(
  ledger: PercentualLedger,
  precoCentavos: bigint,
): {
  fundoComumCentavos: bigint;
  taxaAdministracaoCentavos: bigint;
  fundoReservaCentavos: bigint;
  totalCentavos: bigint;
} {
  const { devido } = resumoPercentual(ledger);
  const fundoComumCentavos = percentOf(precoCentavos, devido.fundoComum);
  const taxaAdministracaoCentavos = percentOf(precoCentavos, devido.taxaAdministracao);
  const fundoReservaCentavos = percentOf(precoCentavos, devido.fundoReserva);
  return {
    fundoComumCentavos,
    taxaAdministracaoCentavos,
    fundoReservaCentavos,
    totalCentavos: fundoComumCentavos + taxaAdministracaoCentavos + fundoReservaCentavos,
  };
}
