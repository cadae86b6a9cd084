// Many events in one statement into the platform's outbox (the relay publishes them after
// commit like any other): a 100,000-line CNAB import is not 100,000 ORM inserts.
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { bulk } from "./sql.ts";

export async function enqueueMany<Desc extends DescMessage>(
  em: EntityManager,
  schema: Desc,
  events: readonly MessageShape<Desc>[],
  headers: Record<string, string>,
): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((event) => ({
    id: uuidv7(),
    p: Buffer.from(toBinary(schema, event)).toString("base64"),
  }));
  await bulk(
    em,
    `insert into platform_outbox (id, event_type, routing_key, payload, headers, attempts)
     select id, ?, ?, decode(p, 'base64'), ?::jsonb, 0 from json_to_recordset(?::json) as t(id uuid, p text)`,
    [schema.typeName, schema.typeName, JSON.stringify(headers), JSON.stringify(rows)],
  );
}
