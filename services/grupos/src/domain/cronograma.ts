// The cronograma: one assembleia and one due date per month of prazo, on bank business days.
// The schedule names a day of the month for each; a date on a weekend or a day without banking
// (national holidays, Carnival, Good Friday, Corpus Christi: @consorcio/domain's calendar) moves
// to the next business day. The parcela of a month falls due before that month's assembleia, so
// the money and the eligibility of its cotas are known when it meets.
import { addMonths, type CivilDate, compareDates, nextBusinessDay } from "@consorcio/domain";
import type { FieldViolation } from "@consorcio/platform";

export interface DataCronograma {
  mes: number;
  assembleia: CivilDate;
  vencimento: CivilDate;
  assembleiaPrevista: CivilDate;
  vencimentoPrevisto: CivilDate;
}

export interface Agenda {
  prazoMeses: number;
  diaVencimento: number;
  primeiraAssembleia: CivilDate;
}

export function cronograma(agenda: Agenda): DataCronograma[] {
  const datas: DataCronograma[] = [];
  for (let mes = 1; mes <= agenda.prazoMeses; mes++) {
    const assembleiaPrevista = addMonths(agenda.primeiraAssembleia, mes - 1);
    const vencimentoPrevisto = { ...assembleiaPrevista, day: agenda.diaVencimento };
    datas.push({
      mes,
      assembleia: nextBusinessDay(assembleiaPrevista),
      vencimento: nextBusinessDay(vencimentoPrevisto),
      assembleiaPrevista,
      vencimentoPrevisto,
    });
  }
  return datas;
}

/** A schedule holds when every month's due date, moved, still comes before its assembleia. */
export function cronogramaViolations(agenda: Agenda, prefix = "grupo"): FieldViolation[] {
  if (agenda.diaVencimento >= agenda.primeiraAssembleia.day)
    return [
      {
        field: `${prefix}.dia_vencimento`,
        ruleId: "cronograma.vencimento_antes",
        message: "the due day must come before the assembleia's day of the month",
      },
    ];
  const clash = cronograma(agenda).find((d) => compareDates(d.vencimento, d.assembleia) >= 0);
  return clash
    ? [
        {
          field: `${prefix}.dia_vencimento`,
          ruleId: "cronograma.vencimento_antes",
          message: `in month ${clash.mes} the due date, moved to a business day, is not before the assembleia`,
        },
      ]
    : [];
}

/**
 * The first month whose assembleia is still to come after `hoje` (prazo + 1 when none is): what a
 * cota joining an ATIVO grupo today pays first. The assembleia of today is held already or being held.
 */
export function proximoMes(datas: readonly DataCronograma[], hoje: CivilDate): number {
  const next = datas.find((d) => compareDates(d.assembleia, hoje) > 0);
  return next ? next.mes : datas.length + 1;
}
