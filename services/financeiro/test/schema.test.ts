// The schema the migrations build holds every column the entities map, with the same nullability.
import { migratedSchemaDrift } from "@consorcio/platform/schema-check.ts";
import { expect, test } from "vitest";
import { migrations } from "../migrations/index.ts";
import { entities } from "../src/store/entities.ts";

test("the migrated schema matches the entities", async () => {
  expect(await migratedSchemaDrift(entities, migrations)).toEqual([]);
});
