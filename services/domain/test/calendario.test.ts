import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  addBusinessDays,
  addMonths,
  civilDate,
  daysBetween,
  isBusinessDay,
  isoDate,
  nextBusinessDay,
  parseIsoDate,
} from "../src/calendario.ts";

const d = (text: string) => parseIsoDate(text);

describe("bank business days", () => {
  test.each([
    ["2026-02-16", "Carnival Monday"],
    ["2026-02-17", "Carnival Tuesday"],
    ["2026-04-03", "Good Friday"],
    ["2026-06-04", "Corpus Christi"],
    ["2026-01-01", "Ano Novo"],
    ["2026-04-21", "Tiradentes"],
    ["2026-05-01", "Dia do Trabalhador"],
    ["2026-09-07", "Independência"],
    ["2026-10-12", "Nossa Senhora Aparecida"],
    ["2026-11-02", "Finados"],
    ["2026-11-20", "Consciência Negra"],
    ["2026-12-25", "Natal"],
    ["2027-02-08", "Carnival Monday 2027"],
    ["2026-03-07", "a Saturday"],
    ["2026-03-08", "a Sunday"],
  ])("%s (%s) has no banking", (date) => {
    expect(isBusinessDay(d(date))).toBe(false);
  });

  test.each([
    ["2026-02-18", "Ash Wednesday (banks open at noon)"],
    ["2026-12-24", "Christmas Eve"],
    ["2026-03-10", "an ordinary Tuesday"],
  ])("%s (%s) is a business day", (date) => {
    expect(isBusinessDay(d(date))).toBe(true);
  });

  test("the next business day skips Carnival and the weekend before it", () => {
    expect(isoDate(nextBusinessDay(d("2026-02-14")))).toBe("2026-02-18");
    expect(isoDate(nextBusinessDay(d("2026-03-10")))).toBe("2026-03-10");
  });

  test("business days are counted past holidays", () => {
    // Thursday 2 Apr 2026 + 1 business day: Good Friday and the weekend are skipped.
    expect(isoDate(addBusinessDays(d("2026-04-02"), 1))).toBe("2026-04-06");
    expect(isoDate(addBusinessDays(d("2026-04-02"), 3))).toBe("2026-04-08");
  });

  test("adding months clamps to the month's last day", () => {
    expect(isoDate(addMonths(d("2026-01-31"), 1))).toBe("2026-02-28");
    expect(isoDate(addMonths(d("2028-01-31"), 1))).toBe("2028-02-29");
    expect(isoDate(addMonths(d("2026-11-15"), 3))).toBe("2027-02-15");
  });

  test("invalid dates are refused", () => {
    expect(() => civilDate(2026, 2, 30)).toThrow(RangeError);
    expect(() => parseIsoDate("2026-13-01")).toThrow(RangeError);
    expect(() => parseIsoDate("26-1-1")).toThrow(RangeError);
  });

  test("property: the next business day is a business day, never earlier, at most 6 days later", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01"), max: new Date("2099-12-31"), noInvalidDate: true }),
        (t) => {
          const date = civilDate(t.getUTCFullYear(), t.getUTCMonth() + 1, t.getUTCDate());
          const next = nextBusinessDay(date);
          const gap = daysBetween(date, next);
          return isBusinessDay(next) && gap >= 0 && gap <= 6 && (gap === 0) === isBusinessDay(date);
        },
      ),
    );
  });
});
