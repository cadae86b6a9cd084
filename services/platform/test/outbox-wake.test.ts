import { afterAll, expect, test } from "vitest";
import type { EventBus } from "../src/bus.ts";
import { type Database, OutboxMessage, openDatabase } from "../src/db.ts";
import { createLogger } from "../src/logging.ts";
import { createMemoryBus } from "../src/memory-bus.ts";
import { startOutboxRelay } from "../src/outbox.ts";
import { createTestDatabase, eventually } from "../src/testing.ts";

const logger = createLogger({ service: "test", level: "silent" });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function commitRow(db: Database, id: string) {
  const em = db.fork();
  em.create(OutboxMessage, {
    id,
    eventType: "test.Evento",
    routingKey: "test.Evento",
    payload: Buffer.alloc(0),
    headers: {},
    attempts: 0,
    publishedAt: null,
    lastError: null,
  });
  await em.flush();
}

test("a wake during a drain makes the relay drain again instead of sleeping until the next poll", async () => {
  const testDb = await createTestDatabase("outboxwake");
  cleanups.push(() => testDb.drop());
  const db = await openDatabase({ url: testDb.url, entities: [], migrations: [], logger });
  cleanups.push(() => db.close());
  await db.migrate();

  // The first publish waits until released, so a commit and its wake land in the middle of a drain.
  const inner = createMemoryBus(logger);
  cleanups.push(() => inner.close());
  const published: string[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let inPublish: () => void = () => {};
  const publishing = new Promise<void>((resolve) => {
    inPublish = resolve;
  });
  const bus: EventBus = {
    ...inner,
    healthy: () => true,
    async publish(messages) {
      inPublish();
      await gate;
      published.push(...messages.map((message) => message.id));
    },
  };

  await commitRow(db, "0190a000-0000-7000-8000-000000000001");
  // A poll far longer than the test: only a wake can publish the second row in time.
  const relay = startOutboxRelay({ db, bus, logger, pollMs: 600_000 });
  cleanups.push(() => relay.stop());
  await publishing;
  await commitRow(db, "0190a000-0000-7000-8000-000000000002");
  relay.wake();
  release();

  await eventually(async () => published.length === 2, 5_000);
  expect(published).toEqual(["0190a000-0000-7000-8000-000000000001", "0190a000-0000-7000-8000-000000000002"]);
});
