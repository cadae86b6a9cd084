// What the commands print: tables for people, proto3 JSON with --json for scripts.
import { type DescEnum, type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import Table from "cli-table3";

export interface Output {
  json: boolean;
}

/** Prints a response as proto3 JSON (what `buf curl` and the REST gateway print). */
export function printJson<Desc extends DescMessage>(schema: Desc, message: MessageShape<Desc>): void {
  process.stdout.write(
    `${JSON.stringify(toJson(schema, message, { alwaysEmitImplicit: false }), null, 2)}\n`,
  );
}

export function printValue(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_key, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
  );
}

export function table(head: string[], rows: (string | number)[][]): string {
  const t = new Table({ head, style: { head: [], border: [] } });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

/** Label/value pairs, one a row. */
export function details(rows: [string, string | number | undefined][]): string {
  const t = new Table({ style: { head: [], border: [] } });
  for (const [label, value] of rows) t.push({ [label]: String(value ?? "") });
  return t.toString();
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

/** Centavos as reais, Brazilian style (R$ 1.234,56); bigint all the way, never a float. */
export function reais(centavos: bigint): string {
  const negative = centavos < 0n;
  const abs = negative ? -centavos : centavos;
  const inteiro = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  const cents = (abs % 100n).toString().padStart(2, "0");
  return `${negative ? "-" : ""}R$ ${inteiro},${cents}`;
}

/** A percentage as the services send it (a decimal string), with the sign. */
export function percent(value: string): string {
  return value ? `${value}%` : "";
}

export function date(value: { year: number; month: number; day: number } | undefined): string {
  if (!value || value.year === 0) return "";
  return `${String(value.year).padStart(4, "0")}-${String(value.month).padStart(2, "0")}-${String(value.day).padStart(2, "0")}`;
}

export function time(value: Timestamp | undefined): string {
  return value ? timestampDate(value).toISOString() : "";
}

/** An enum value's name without its prefix: GRUPO_STATUS_ATIVO → ATIVO. */
export function enumName(schema: DescEnum, value: number): string {
  const found = schema.values.find((v) => v.number === value);
  return found ? found.localName : String(value);
}
