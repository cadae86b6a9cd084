// Late charges (DOMAIN.md §3, CDC art. 52 §1): multa flat once, juros de mora simple pro rata die,
// and no charge at all when a due date without banking is paid on the next business day.
import {
  type CivilDate,
  compareDates,
  Dec,
  daysBetween,
  nextBusinessDay,
  percentOf,
  roundCentavos,
} from "@consorcio/domain";
import { requireInput } from "./erros.ts";

export const MULTA_PADRAO = new Dec(2);
export const JUROS_MENSAL_PADRAO = new Dec(1);
/** At least this share of the late charges goes to the grupo (ENCARGOS_GRUPO). */
export const PERCENTUAL_GRUPO_MINIMO = new Dec(50);

export interface EncargosInput {
  readonly valorCentavos: bigint;
  readonly vencimento: CivilDate;
  readonly pagamento: CivilDate;
  /** % of the parcela, flat (default 2). */
  readonly multa?: Dec | undefined;
  /** % per 30 days, simple, pro rata die (default 1). */
  readonly jurosMensal?: Dec | undefined;
}

export interface Encargos {
  /** Days from the due date to the payment; 0 when paid in time or within the grace. */
  readonly diasAtraso: number;
  readonly multaCentavos: bigint;
  readonly jurosCentavos: bigint;
  /** multa + juros. */
  readonly encargosCentavos: bigint;
  /** What the payer owes: valor + multa + juros. */
  readonly totalCentavos: bigint;
}

/** The last day a parcela can be paid without charges: the due date, or the next business day after a day without banking. */
export function vencimentoEfetivo(vencimento: CivilDate): CivilDate {
  return nextBusinessDay(vencimento);
}

export function diasDeAtraso(vencimento: CivilDate, pagamento: CivilDate): number {
  if (compareDates(pagamento, vencimentoEfetivo(vencimento)) <= 0) return 0;
  // Out of the grace, the delay counts from the contractual due date.
  return daysBetween(vencimento, pagamento);
}

export function calculateEncargos(input: EncargosInput): Encargos {
  requireInput(input.valorCentavos >= 0n, "valorCentavos", "valor.non_negative", "must be ≥ 0");
  const multa = input.multa ?? MULTA_PADRAO;
  const jurosMensal = input.jurosMensal ?? JUROS_MENSAL_PADRAO;
  requireInput(multa.isFinite() && !multa.isNegative(), "multa", "percentual.non_negative", "must be ≥ 0");
  requireInput(
    jurosMensal.isFinite() && !jurosMensal.isNegative(),
    "jurosMensal",
    "percentual.non_negative",
    "must be ≥ 0",
  );
  const diasAtraso = diasDeAtraso(input.vencimento, input.pagamento);
  if (diasAtraso === 0)
    return {
      diasAtraso,
      multaCentavos: 0n,
      jurosCentavos: 0n,
      encargosCentavos: 0n,
      totalCentavos: input.valorCentavos,
    };
  const multaCentavos = percentOf(input.valorCentavos, multa);
  const jurosCentavos = roundCentavos(
    new Dec(input.valorCentavos.toString())
      .times(jurosMensal)
      .times(diasAtraso)
      .dividedBy(100 * 30),
  );
  return {
    diasAtraso,
    multaCentavos,
    jurosCentavos,
    encargosCentavos: multaCentavos + jurosCentavos,
    totalCentavos: input.valorCentavos + multaCentavos + jurosCentavos,
  };
}

export interface EncargosSplit {
  readonly grupoCentavos: bigint;
  readonly administradoraCentavos: bigint;
}

/** Splits late charges: the grupo's share rounded half-up, the administradora gets the rest (they sum exactly). */
export function splitEncargos(encargosCentavos: bigint, percentualGrupo: Dec): EncargosSplit {
  requireInput(encargosCentavos >= 0n, "encargosCentavos", "valor.non_negative", "must be ≥ 0");
  requireInput(
    percentualGrupo.gte(PERCENTUAL_GRUPO_MINIMO) && percentualGrupo.lte(100),
    "percentualGrupo",
    "encargos.grupo_share",
    "the grupo's share must be between 50 and 100",
  );
  const grupoCentavos = percentOf(encargosCentavos, percentualGrupo);
  return { grupoCentavos, administradoraCentavos: encargosCentavos - grupoCentavos };
}
