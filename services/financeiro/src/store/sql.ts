// Bulk statements with real bind parameters. MikroORM's `execute` inlines parameters into the SQL
// text, which for a multi-megabyte JSON batch costs more than the insert itself; this sends them
// as $1, $2… on the same connection and transaction as `em`.
import type { EntityManager } from "@mikro-orm/postgresql";
import { CompiledQuery, type Kysely } from "kysely";
import { from as copyFrom } from "pg-copy-streams";

const contextOf = (em: EntityManager) =>
  (em.getTransactionContext() ?? em.getConnection().getClient()) as Kysely<unknown>;

export async function bulk<Row = Record<string, unknown>>(
  em: EntityManager,
  query: string,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  let n = 0;
  const numbered = query.replace(/\?/g, () => `$${++n}`);
  const result = await contextOf(em).executeQuery(CompiledQuery.raw(numbered, [...params]));
  return result.rows as Row[];
}

/**
 * `COPY … FROM STDIN` on the connection and transaction of `em`: `write` is called with a sink
 * taking text-format lines (see copyText) and may await between writes (backpressure). Kysely
 * hands the query to pg's `client.query`, which accepts pg-copy-streams' submittable in place of
 * SQL text and queues it on that very client. Returns the rows copied.
 */
export async function copyIn(
  em: EntityManager,
  statement: string,
  write: (sink: (chunk: string) => Promise<void> | undefined) => Promise<void> | void,
): Promise<number> {
  const stream = copyFrom(statement);
  const finished = new Promise<void>((resolve, reject) => {
    stream.on("finish", resolve);
    stream.on("error", reject);
  });
  finished.catch(() => {});
  const submitted = contextOf(em).executeQuery({
    sql: stream as unknown as string,
    parameters: [],
    query: CompiledQuery.raw("copy").query,
    queryId: CompiledQuery.raw("copy").queryId,
  });
  await submitted;
  const sink = (chunk: string) =>
    stream.write(chunk) ? undefined : new Promise<void>((resolve) => stream.once("drain", resolve));
  try {
    await write(sink);
  } finally {
    stream.end();
  }
  await finished;
  return Number(stream.rowCount);
}

/** A value in COPY's text format (null as \N; backslash, tab, newline and CR escaped). */
export function copyText(value: string | number | bigint | null | undefined): string {
  if (value === null || value === undefined) return "\\N";
  const text = typeof value === "string" ? value : value.toString();
  return /[\\\t\n\r]/.test(text)
    ? text.replace(/\\/g, "\\\\").replace(/\t/g, "\\t").replace(/\n/g, "\\n").replace(/\r/g, "\\r")
    : text;
}
