// The bank business-day calendar (DOMAIN.md §2–3): assembleias and due dates never fall on a
// day without banking, and a due date on such a day may be paid on the next business day
// without charges. Days without banking: weekends, the national holidays, Carnival Monday and
// Tuesday, Good Friday and Corpus Christi, as the date-holidays library lists them for Brazil.
import Holidays from "date-holidays";

/** A calendar date without time or zone. Months are 1..12. */
export interface CivilDate {
  readonly year: number;
  readonly month: number;
  readonly day: number;
}

const holidays = new Holidays("BR");
// "public" are the national holidays; "bank" are Carnival Monday/Tuesday and Corpus Christi.
// Partial days ("optional", from 14:00) and observances keep the banks open.
const CLOSED_TYPES = new Set(["public", "bank"]);
const closedByYear = new Map<number, Set<string>>();

function closedDaysOf(year: number): Set<string> {
  let days = closedByYear.get(year);
  if (!days) {
    days = new Set(
      holidays
        .getHolidays(year)
        .filter((h) => CLOSED_TYPES.has(h.type) && h.date.endsWith("00:00:00"))
        .map((h) => h.date.slice(0, 10)),
    );
    closedByYear.set(year, days);
  }
  return days;
}

export function civilDate(year: number, month: number, day: number): CivilDate {
  const d = new Date(Date.UTC(year, month - 1, day));
  if (
    !Number.isInteger(year) ||
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day
  )
    throw new RangeError(`not a calendar date: ${year}-${month}-${day}`);
  return { year, month, day };
}

/** Parses `YYYY-MM-DD`. */
export function parseIsoDate(text: string): CivilDate {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!match) throw new RangeError(`not an ISO date: ${text}`);
  return civilDate(Number(match[1]), Number(match[2]), Number(match[3]));
}

export function isoDate(date: CivilDate): string {
  return `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}-${String(date.day).padStart(2, "0")}`;
}

function toUtc(date: CivilDate): Date {
  return new Date(Date.UTC(date.year, date.month - 1, date.day));
}

function fromUtc(d: Date): CivilDate {
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

export function addDays(date: CivilDate, days: number): CivilDate {
  const d = toUtc(date);
  d.setUTCDate(d.getUTCDate() + days);
  return fromUtc(d);
}

/** Whole days from `from` to `to` (negative when `to` is earlier). */
export function daysBetween(from: CivilDate, to: CivilDate): number {
  return Math.round((toUtc(to).getTime() - toUtc(from).getTime()) / 86_400_000);
}

export function compareDates(a: CivilDate, b: CivilDate): number {
  return daysBetween(b, a);
}

/** The same day `months` later, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb). */
export function addMonths(date: CivilDate, months: number): CivilDate {
  const index = date.year * 12 + (date.month - 1) + months;
  const year = Math.floor(index / 12);
  const month = (index % 12) + 1;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return { year, month, day: Math.min(date.day, last) };
}

export function isWeekend(date: CivilDate): boolean {
  const weekday = toUtc(date).getUTCDay();
  return weekday === 0 || weekday === 6;
}

export function isBankHoliday(date: CivilDate): boolean {
  return closedDaysOf(date.year).has(isoDate(date));
}

export function isBusinessDay(date: CivilDate): boolean {
  return !isWeekend(date) && !isBankHoliday(date);
}

/** The date itself if it is a business day, else the next one. */
export function nextBusinessDay(date: CivilDate): CivilDate {
  let d = date;
  while (!isBusinessDay(d)) d = addDays(d, 1);
  return d;
}

/** The `count`-th business day after `date` (count ≥ 0; 0 is `nextBusinessDay(date)`). */
export function addBusinessDays(date: CivilDate, count: number): CivilDate {
  let d = nextBusinessDay(date);
  for (let i = 0; i < count; i++) d = nextBusinessDay(addDays(d, 1));
  return d;
}
