import { afterAll, expect, test } from "vitest";
import { createMemoryCache } from "../src/cache.ts";
import { createLogger } from "../src/logging.ts";
import { createMemoryBus } from "../src/memory-bus.ts";
import { type RunningService, runService, type ServiceDefinition } from "../src/service.ts";
import { createTestDatabase, type TestDatabase } from "../src/testing.ts";
import { widgetService } from "./widget-service.ts";

const logger = createLogger({ service: "test", level: "silent" });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

// The embedded mode hands every service one in-process cache, as `npm start` does.
test("services sharing the embedded cache each get their own key prefix; the unprefixed namespace stays shared", async () => {
  const bus = createMemoryBus(logger);
  const shared = createMemoryCache();
  cleanups.push(() => bus.close());
  const start = async (name: string): Promise<RunningService> => {
    const db: TestDatabase = await createTestDatabase(widgetService.name);
    cleanups.push(() => db.drop());
    const definition = { ...widgetService, name, consumers: () => [] } as ServiceDefinition<never, unknown>;
    const service = await runService(definition, {
      env: {
        DATABASE_URL: db.url,
        PORT: "0",
        HOST: "127.0.0.1",
        MIGRATE_ON_START: "true",
        LOG_LEVEL: "silent",
      },
      bus,
      cache: shared,
      logger,
    });
    cleanups.push(() => service.stop());
    return service;
  };
  const a = await start("platformtest");
  const b = await start("platformtest-b");

  await a.context.cache.set("rate:login", "1", 60);
  expect(await b.context.cache.get("rate:login")).toBeUndefined();
  expect(await a.context.cache.get("rate:login")).toBe("1");
  expect(await shared.get("platformtest:rate:login")).toBe("1");
  expect(await shared.get("rate:login")).toBeUndefined();
  expect(await b.context.cache.hit("rate:login", 60)).toBe(1);

  // Stopping one service leaves the shared cache working for the others.
  await a.stop();
  await shared.set("revocation:x", "1", 60);
  expect(await shared.get("revocation:x")).toBe("1");
  expect(await b.context.cache.get("rate:login")).toBe("1");
});
