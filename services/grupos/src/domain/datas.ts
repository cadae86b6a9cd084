// Civil dates of business decisions: the administradora's calendar day, in Brasília time.
import { type CivilDate, parseIsoDate } from "@consorcio/domain";

const BRASILIA = new Intl.DateTimeFormat("en-CA", {
  timeZone: "America/Sao_Paulo",
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
});

/** The calendar day in America/Sao_Paulo at `instante`. */
export function dataCivil(instante: Date): CivilDate {
  return parseIsoDate(BRASILIA.format(instante));
}
