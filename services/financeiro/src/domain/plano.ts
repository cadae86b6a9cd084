// The plan of a cota (DOMAIN.md §1, Lei art. 27): every month is a set of percentages of the
// price of the bem; only the R$ amounts are rounded, half-up to the centavo, per component.
import { Dec, percentOf } from "@consorcio/domain";
import { requireInput } from "./erros.ts";

/** The percentages of the price one parcela charges (each a % of the price: "1.6667" is 1.6667%). */
export interface Percentuais {
  readonly fundoComum: Dec;
  readonly taxaAdministracao: Dec;
  readonly fundoReserva: Dec;
  /** The TA advance charged with this parcela (month 1 only), shown apart from the monthly TA. */
  readonly antecipacaoTaxa?: Dec;
}

/** The R$ amounts of one parcela. `totalCentavos` is the sum of the five components. */
export interface ValoresParcela {
  readonly fundoComumCentavos: bigint;
  readonly taxaAdministracaoCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
  readonly seguroCentavos: bigint;
  /** 0 except on the parcela that carries the TA advance. Not included in taxaAdministracaoCentavos. */
  readonly antecipacaoTaxaCentavos: bigint;
  readonly totalCentavos: bigint;
}

export interface ParcelaPlano extends ValoresParcela {
  /** 1..prazo. */
  readonly mes: number;
  readonly percentuais: Percentuais;
}

export interface PlanoParams {
  readonly precoCentavos: bigint;
  readonly prazoMeses: number;
  /** TA over the whole plan, % of the price ("15"). */
  readonly taxaAdministracao: Dec;
  /** FR over the whole plan, % of the price ("2"). */
  readonly fundoReserva: Dec;
  /** Seguro prestamista, a monthly % of the price. */
  readonly seguroMensal?: Dec | undefined;
  /** Non-linear plan: %FC of each month, `prazoMeses` entries summing to exactly 100. TA and FR follow the same proportions. */
  readonly fundoComumPorMes?: readonly Dec[] | undefined;
  /** TA advance (% of the price), charged with parcela 1 and deducted from the TA spread over the months. */
  readonly antecipacaoTaxa?: Dec | undefined;
}

export const PRAZO_MAXIMO_MESES = 600;
const ZERO = new Dec(0);
const CEM = new Dec(100);

/** One month's amounts from its percentages and the price in force: each component rounded, then summed. */
export function computeParcela(
  percentuais: Percentuais,
  precoCentavos: bigint,
  seguroMensal: Dec = ZERO,
): ValoresParcela {
  const fundoComumCentavos = percentOf(precoCentavos, percentuais.fundoComum);
  const taxaAdministracaoCentavos = percentOf(precoCentavos, percentuais.taxaAdministracao);
  const fundoReservaCentavos = percentOf(precoCentavos, percentuais.fundoReserva);
  const seguroCentavos = percentOf(precoCentavos, seguroMensal);
  const antecipacaoTaxaCentavos = percentOf(precoCentavos, percentuais.antecipacaoTaxa ?? ZERO);
  return {
    fundoComumCentavos,
    taxaAdministracaoCentavos,
    fundoReservaCentavos,
    seguroCentavos,
    antecipacaoTaxaCentavos,
    totalCentavos:
      fundoComumCentavos +
      taxaAdministracaoCentavos +
      fundoReservaCentavos +
      seguroCentavos +
      antecipacaoTaxaCentavos,
  };
}

/** Splits `total` over months by `weights` (summing to 100); the last month takes the remainder, so the parts sum to `total` exactly. */
function spread(total: Dec, weights: readonly Dec[]): Dec[] {
  const parts: Dec[] = [];
  let used = ZERO;
  weights.forEach((w, i) => {
    const part = i === weights.length - 1 ? total.minus(used) : total.times(w).dividedBy(CEM);
    used = used.plus(part);
    parts.push(part);
  });
  return parts;
}

function validatePercent(value: Dec | undefined, field: string): void {
  if (value === undefined) return;
  requireInput(value.isFinite() && !value.isNegative(), field, "percentual.non_negative", "must be ≥ 0");
}

/** Validates the parameters of a plan; throws EngineInputError on the first bad one. */
export function validatePlanoParams(p: PlanoParams): void {
  requireInput(p.precoCentavos > 0n, "precoCentavos", "preco.positive", "must be > 0");
  requireInput(
    Number.isInteger(p.prazoMeses) && p.prazoMeses >= 1 && p.prazoMeses <= PRAZO_MAXIMO_MESES,
    "prazoMeses",
    "prazo.range",
    `must be an integer in 1..${PRAZO_MAXIMO_MESES}`,
  );
  validatePercent(p.taxaAdministracao, "taxaAdministracao");
  validatePercent(p.fundoReserva, "fundoReserva");
  validatePercent(p.seguroMensal, "seguroMensal");
  validatePercent(p.antecipacaoTaxa, "antecipacaoTaxa");
  if (p.antecipacaoTaxa)
    requireInput(
      p.antecipacaoTaxa.lte(p.taxaAdministracao),
      "antecipacaoTaxa",
      "antecipacao.at_most_ta",
      "the TA advance cannot exceed the TA",
    );
  if (p.fundoComumPorMes) {
    requireInput(
      p.fundoComumPorMes.length === p.prazoMeses,
      "fundoComumPorMes",
      "plano.length",
      "needs one percentage per month",
    );
    p.fundoComumPorMes.forEach((v, i) => {
      validatePercent(v, `fundoComumPorMes[${i}]`);
    });
    const sum = p.fundoComumPorMes.reduce((a, b) => a.plus(b), ZERO);
    requireInput(sum.eq(CEM), "fundoComumPorMes", "plano.sum_100", `must sum to exactly 100 (is ${sum})`);
  }
}

/** The monthly percentages of a plan, summing exactly to 100 (FC), TA − advance (TA) and FR. */
export function percentuaisDoPlano(p: PlanoParams): Percentuais[] {
  validatePlanoParams(p);
  const weights =
    p.fundoComumPorMes ?? Array.from({ length: p.prazoMeses }, () => CEM.dividedBy(p.prazoMeses));
  const fundoComum = p.fundoComumPorMes ? [...p.fundoComumPorMes] : spread(CEM, weights);
  const antecipacao = p.antecipacaoTaxa ?? ZERO;
  const taxa = spread(p.taxaAdministracao.minus(antecipacao), weights);
  const reserva = spread(p.fundoReserva, weights);
  return fundoComum.map((fc, i) => ({
    fundoComum: fc,
    taxaAdministracao: taxa[i] ?? ZERO,
    fundoReserva: reserva[i] ?? ZERO,
    ...(i === 0 && !antecipacao.isZero() ? { antecipacaoTaxa: antecipacao } : {}),
  }));
}

/** Every parcela of a plan at today's price. */
export function simulatePlano(p: PlanoParams): ParcelaPlano[] {
  return percentuaisDoPlano(p).map((percentuais, i) => ({
    mes: i + 1,
    percentuais,
    ...computeParcela(percentuais, p.precoCentavos, p.seguroMensal ?? ZERO),
  }));
}

/** The sum of the parcelas of a plan. */
export function totalDoPlano(parcelas: readonly ValoresParcela[]): bigint {
  return parcelas.reduce((sum, p) => sum + p.totalCentavos, 0n);
}
