// Baseline for event ingestion: a bare amqplib consumer on its own durable queue bound to every
// event (`#`, like auditoria's), prefetch 16 and a pool of 10 connections (the platform's
// defaults), doing one plain INSERT per message into a scratch table and acking after it committed.
import { randomUUID } from "node:crypto";
import amqp from "amqplib";
import pg from "pg";
import { EVENTS_EXCHANGE } from "../../services/platform/src/bus.ts";
import { createTestDatabase, deleteQueues, testServers } from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";
import type { IngestInfo } from "./auditoria.ts";

const queue = `bench.amqp-insert.${randomUUID().slice(0, 8)}`;
const db = await createTestDatabase("bench_ingest");
const pool = new pg.Pool({ connectionString: db.url, max: 10 });
let connection: amqp.ChannelModel | undefined;
const stop = async () => {
  await connection?.close().catch(() => undefined);
  await pool.end();
  await db.drop();
  await deleteQueues([queue]);
};
try {
  await pool.query(`create table event (
    message_id text primary key,
    type text not null,
    body bytea not null,
    received_at timestamptz not null default now())`);
  connection = await amqp.connect(testServers.amqpUrl);
  const channel = await connection.createChannel();
  await channel.prefetch(16);
  await channel.assertExchange(EVENTS_EXCHANGE, "topic", { durable: true });
  await channel.assertQueue(queue, { durable: true });
  await channel.bindQueue(queue, EVENTS_EXCHANGE, "#");
  await channel.consume(queue, (msg) => {
    if (!msg) return;
    pool
      .query("insert into event (message_id, type, body) values ($1, $2, $3)", [
        String(msg.properties.messageId),
        String(msg.properties.type ?? msg.fields.routingKey),
        msg.content,
      ])
      .then(
        () => channel.ack(msg),
        (error: unknown) => {
          console.error("insert failed, message dropped:", error);
          channel.nack(msg, false, false);
        },
      );
  });
  const info: IngestInfo = { databaseUrl: db.url, table: "event", idColumn: "message_id", queue };
  serveChild(info, stop);
} catch (error) {
  await stop();
  throw error;
}
