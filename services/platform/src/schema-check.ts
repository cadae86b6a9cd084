// Test support: does the schema the migrations build hold what the entities map? A property
// without its column, or with the other nullability, fails at the first query that touches it;
// this finds it when the migrations are written.
import { type Database, type DatabaseOptions, openDatabase } from "./db.ts";
import { createLogger } from "./logging.ts";
import { createTestDatabase } from "./testing.ts";

export async function schemaDrift(db: Database): Promise<string[]> {
  const em = db.fork();
  const columns = await em.execute<{ table_name: string; column_name: string; is_nullable: "YES" | "NO" }[]>(
    "select table_name, column_name, is_nullable from information_schema.columns where table_schema = current_schema()",
  );
  const byTable = new Map<string, Map<string, boolean>>();
  for (const column of columns) {
    const table = byTable.get(column.table_name) ?? new Map<string, boolean>();
    table.set(column.column_name, column.is_nullable === "YES");
    byTable.set(column.table_name, table);
  }
  const problems: string[] = [];
  for (const meta of db.orm.getMetadata().getAll().values()) {
    if (meta.embeddable || meta.virtual) continue;
    const table = byTable.get(meta.tableName);
    if (!table) {
      problems.push(`${meta.className}: table ${meta.tableName} does not exist`);
      continue;
    }
    for (const prop of Object.values(meta.properties)) {
      if (prop.persist === false) continue;
      for (const field of prop.fieldNames ?? []) {
        const nullable = table.get(field);
        if (nullable === undefined) {
          problems.push(`${meta.className}.${prop.name}: column ${meta.tableName}.${field} does not exist`);
        } else if (nullable !== Boolean(prop.nullable) && !prop.primary) {
          problems.push(
            `${meta.className}.${prop.name}: column ${meta.tableName}.${field} is ${nullable ? "" : "not "}nullable, the entity says ${prop.nullable ? "nullable" : "not null"}`,
          );
        }
      }
    }
  }
  return problems;
}

/** Migrates a fresh database with `migrations` and reports its drift from `entities`. */
export async function migratedSchemaDrift(
  entities: DatabaseOptions["entities"],
  migrations: DatabaseOptions["migrations"],
): Promise<string[]> {
  const database = await createTestDatabase("schema");
  const db = await openDatabase({
    url: database.url,
    entities,
    migrations,
    logger: createLogger({ service: "schema", level: "silent" }),
  });
  try {
    await db.migrate();
    return await schemaDrift(db);
  } finally {
    await db.close();
    await database.drop();
  }
}
