// Restituição to an excluded cota (DOMAIN.md §3, Lei art. 30) and the refund of a withdrawal
// within 7 days of adesão (CDC art. 49).
import { type CivilDate, Dec, daysBetween, restituicaoBruta } from "@consorcio/domain";
import { requireInput } from "./erros.ts";

export const PRAZO_DESISTENCIA_DIAS = 7;

export interface RestituicaoInput {
  /** % of the FC the cota paid (resumoPercentual(ledger).pago.fundoComum). */
  readonly fundoComumPagoPercentual: Dec;
  /** Price of the bem at the assembleia in which the cota is contemplated for restitution. */
  readonly precoAssembleiaCentavos: bigint;
  /** Contractual penalty, % of the gross amount (default 0); it stays in the grupo. */
  readonly penalidadePercentual?: Dec | undefined;
  /** Financial yield earned on the amount, added to it. */
  readonly rendimentoCentavos?: bigint | undefined;
}

export interface Restituicao {
  readonly brutoCentavos: bigint;
  readonly penalidadeCentavos: bigint;
  readonly rendimentoCentavos: bigint;
  /** bruto − penalidade + rendimento: what is paid. TA and seguro are never refunded. */
  readonly liquidoCentavos: bigint;
}

export function calculateRestituicao(input: RestituicaoInput): Restituicao {
  const fc = input.fundoComumPagoPercentual;
  const penalidade = input.penalidadePercentual ?? new Dec(0);
  const rendimentoCentavos = input.rendimentoCentavos ?? 0n;
  requireInput(
    fc.isFinite() && !fc.isNegative() && fc.lte(100),
    "fundoComumPagoPercentual",
    "percentual.range",
    "must be in 0..100",
  );
  requireInput(
    input.precoAssembleiaCentavos > 0n,
    "precoAssembleiaCentavos",
    "preco.positive",
    "must be > 0",
  );
  requireInput(
    penalidade.isFinite() && !penalidade.isNegative() && penalidade.lte(100),
    "penalidadePercentual",
    "percentual.range",
    "must be in 0..100",
  );
  requireInput(rendimentoCentavos >= 0n, "rendimentoCentavos", "valor.non_negative", "must be ≥ 0");
  const { brutoCentavos, penalidadeCentavos } = restituicaoBruta(
    input.precoAssembleiaCentavos,
    fc,
    penalidade,
  );
  return {
    brutoCentavos,
    penalidadeCentavos,
    rendimentoCentavos,
    liquidoCentavos: brutoCentavos - penalidadeCentavos + rendimentoCentavos,
  };
}

/** Whether a withdrawal asked on `pedido` is within the 7 days after `adesao` (refunded in full). */
export function dentroDoPrazoDeDesistencia(adesao: CivilDate, pedido: CivilDate): boolean {
  const dias = daysBetween(adesao, pedido);
  return dias >= 0 && dias <= PRAZO_DESISTENCIA_DIAS;
}

export interface ValoresPagos {
  readonly fundoComumCentavos: bigint;
  readonly taxaAdministracaoCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
  readonly seguroCentavos: bigint;
  readonly antecipacaoTaxaCentavos: bigint;
}

export interface DevolucaoIntegral extends ValoresPagos {
  readonly totalCentavos: bigint;
}

/** The full refund of a withdrawal within 7 days: everything paid, TA, advance and seguro included. */
export function devolucaoIntegral(pagos: readonly ValoresPagos[]): DevolucaoIntegral {
  const sum = (f: (p: ValoresPagos) => bigint) => pagos.reduce((s, p) => s + f(p), 0n);
  const fundoComumCentavos = sum((p) => p.fundoComumCentavos);
  const taxaAdministracaoCentavos = sum((p) => p.taxaAdministracaoCentavos);
  const fundoReservaCentavos = sum((p) => p.fundoReservaCentavos);
  const seguroCentavos = sum((p) => p.seguroCentavos);
  const antecipacaoTaxaCentavos = sum((p) => p.antecipacaoTaxaCentavos);
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
