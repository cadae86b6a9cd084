// schemaDrift can fail: an entity whose column the migrations forgot, or whose nullability differs.
import { defineEntity, p } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
import { expect, test } from "vitest";
import { openDatabase } from "../src/db.ts";
import { createLogger } from "../src/logging.ts";
import { schemaDrift } from "../src/schema-check.ts";
import { createTestDatabase } from "../src/testing.ts";

const Drifted = defineEntity({
  name: "Drifted",
  tableName: "drifted",
  properties: {
    id: p.uuid().primary(),
    name: p.string(),
    note: p.string().nullable(),
    forgotten: p.integer(),
  },
});

class CreateDrifted extends Migration {
  override async up(): Promise<void> {
    this.addSql("create table drifted (id uuid primary key, name text null, note text null)");
  }
}

test("a column the migrations forgot and a nullability that differs are reported", async () => {
  const database = await createTestDatabase("schema");
  const db = await openDatabase({
    url: database.url,
    entities: [Drifted],
    migrations: [{ name: "0001_drifted", class: CreateDrifted }],
    logger: createLogger({ service: "t", level: "silent" }),
  });
  try {
    await db.migrate();
    expect((await schemaDrift(db)).sort()).toEqual([
      "Drifted.forgotten: column drifted.forgotten does not exist",
      "Drifted.name: column drifted.name is nullable, the entity says not null",
    ]);
  } finally {
    await db.close();
    await database.drop();
  }
});
