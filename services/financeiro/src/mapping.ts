// Conversions between the contract's messages and the engine's values, and the error mapping of
// engine input errors to InvalidArgument with the request's field names.
import { create } from "@bufbuild/protobuf";
import { type CivilDate, civilDate, Dec, isoDate, PERCENTUAL_PATTERN } from "@consorcio/domain";
import { DateSchema, type Date as ProtoDate } from "@consorcio/gen/google/type/date_pb.js";
import { InvalidArgumentError } from "@consorcio/platform";
import { EngineInputError } from "./domain/erros.ts";

/** A google.type.Date as a civil date; a missing or impossible date is InvalidArgument on `field`. */
export function civilFromProto(date: ProtoDate | undefined, field: string): CivilDate {
  if (!date) throw new InvalidArgumentError([{ field, ruleId: "required", message: "required" }]);
  try {
    return civilDate(date.year, date.month, date.day);
  } catch {
    throw new InvalidArgumentError([
      { field, ruleId: "date.valid", message: `not a calendar date: ${date.year}-${date.month}-${date.day}` },
    ]);
  }
}

export function protoFromCivil(date: CivilDate): ProtoDate {
  return create(DateSchema, { year: date.year, month: date.month, day: date.day });
}

/** A `date` column (pg returns a JS Date at local midnight or a string, depending on parsers). */
export function civilFromDb(value: Date | string): CivilDate {
  if (typeof value === "string") {
    const [y, m, d] = value.slice(0, 10).split("-").map(Number);
    return civilDate(y as number, m as number, d as number);
  }
  return civilDate(value.getFullYear(), value.getMonth() + 1, value.getDate());
}

export function protoFromDb(value: Date | string): ProtoDate {
  return protoFromCivil(civilFromDb(value));
}

export const isoFromDb = (value: Date | string): string => isoDate(civilFromDb(value));

/** A percentage field: empty means `fallback`, anything else must match the pattern. */
export function percentual(text: string, field: string, fallback?: Dec): Dec {
  if (text === "" && fallback) return fallback;
  if (!PERCENTUAL_PATTERN.test(text))
    throw new InvalidArgumentError([{ field, ruleId: "percentual.pattern", message: "not a percentage" }]);
  return new Dec(text);
}

/** Runs engine code, turning its input errors into InvalidArgument on the request's fields. */
export function engine<T>(work: () => T, fields: Record<string, string> = {}): T {
  try {
    return work();
  } catch (error) {
    if (error instanceof EngineInputError) {
      const base = error.field.split("[")[0] ?? error.field;
      throw new InvalidArgumentError([
        {
          field: fields[base] ?? snake(error.field),
          ruleId: error.ruleId,
          message: error.message,
        },
      ]);
    }
    throw error;
  }
}

const snake = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** "YYYY-MM" of a civil date. */
export const competenciaOf = (date: CivilDate): string =>
  `${String(date.year).padStart(4, "0")}-${String(date.month).padStart(2, "0")}`;

export function parseCompetencia(text: string): { year: number; month: number } {
  const match = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(text);
  if (!match)
    throw new InvalidArgumentError([
      { field: "competencia", ruleId: "competencia.pattern", message: "YYYY-MM" },
    ]);
  return { year: Number(match[1]), month: Number(match[2]) };
}

/** Months from competência a to b (b − a). */
export const monthsBetween = (a: { year: number; month: number }, b: { year: number; month: number }) =>
  (b.year - a.year) * 12 + (b.month - a.month);
