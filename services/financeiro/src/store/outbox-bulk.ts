// Many events in one COPY into the platform's outbox (the relay publishes them after commit like
// any other): a 100,000-line CNAB import is not 100,000 ORM inserts. The row is the one
// enqueueEvent writes: the protobuf binary payload, the type as event type and routing key, the
// headers as jsonb, no attempt yet.
import { type DescMessage, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { copyIn, copyText } from "./sql.ts";

export async function enqueueMany<Desc extends DescMessage>(
  em: EntityManager,
  schema: Desc,
  events: readonly MessageShape<Desc>[],
  headers: Record<string, string>,
): Promise<void> {
  if (events.length === 0) return;
  const fixed = `\t${copyText(schema.typeName)}\t${copyText(schema.typeName)}\t`;
  const tail = `\t${copyText(JSON.stringify(headers))}\t0\n`;
  await copyIn(
    em,
    "copy platform_outbox (id, event_type, routing_key, payload, headers, attempts) from stdin",
    async (sink) => {
      let out = "";
      for (const event of events) {
        // bytea in hex; the backslash of \x escaped for COPY's text format.
        out += `${uuidv7()}${fixed}\\\\x${Buffer.from(toBinary(schema, event)).toString("hex")}${tail}`;
        if (out.length > 1 << 20) {
          await sink(out);
          out = "";
        }
      }
      if (out) await sink(out);
    },
  );
}
