// The schema the migrations build holds every column the entities map, with the same nullability.
import { createLogger, openDatabase } from "@consorcio/platform";
import { schemaDrift } from "@consorcio/platform/schema-check.ts";
import { createTestDatabase } from "@consorcio/platform/testing.ts";
import { expect, test } from "vitest";
import { migrations } from "../migrations/index.ts";
import { entities } from "../src/store/entities.ts";

test("the migrated schema matches the entities", async () => {
  const database = await createTestDatabase("schema");
  const db = await openDatabase({
    url: database.url,
    entities,
    migrations,
    logger: createLogger({ service: "auditoria", level: "silent" }),
  });
  try {
    await db.migrate();
    expect(await schemaDrift(db)).toEqual([]);
  } finally {
    await db.close();
    await database.drop();
  }
});
