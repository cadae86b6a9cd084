// Bulk statements with real bind parameters. MikroORM's `execute` inlines parameters into the SQL
// text, which for a multi-megabyte JSON batch costs more than the insert itself; this sends them
// as $1, $2… on the same connection and transaction as `em`.
import type { EntityManager } from "@mikro-orm/postgresql";
import { CompiledQuery, type Kysely } from "kysely";

export async function bulk<Row = Record<string, unknown>>(
  em: EntityManager,
  query: string,
  params: readonly unknown[] = [],
): Promise<Row[]> {
  const ctx = (em.getTransactionContext() ?? em.getConnection().getClient()) as Kysely<unknown>;
  let n = 0;
  const numbered = query.replace(/\?/g, () => `$${++n}`);
  const result = await ctx.executeQuery(CompiledQuery.raw(numbered, [...params]));
  return result.rows as Row[];
}
