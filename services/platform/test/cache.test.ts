import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type Cache, createMemoryCache, createRedisCache, readThrough } from "../src/cache.ts";
import { createLogger } from "../src/logging.ts";
import { eventually, testServers } from "../src/testing.ts";

const logger = createLogger({ service: "test", level: "silent" });

function cacheConformance(name: string, open: () => Cache) {
  describe(`${name} cache conformance`, () => {
    let cache: Cache;
    beforeAll(async () => {
      cache = open();
      await eventually(() => cache.healthy());
    });
    afterAll(() => cache.close());
    const key = () => `conformance:${randomUUID()}`;

    test("stores, reads and deletes", async () => {
      const k = key();
      expect(await cache.get(k)).toBeUndefined();
      await cache.set(k, "valor", 60);
      expect(await cache.get(k)).toBe("valor");
      await cache.del(k);
      expect(await cache.get(k)).toBeUndefined();
    });

    test("expires entries after their TTL", async () => {
      const k = key();
      await cache.set(k, "v", 1);
      expect(await cache.get(k)).toBe("v");
      await eventually(async () => (await cache.get(k)) === undefined, 3_000);
    });

    test("counts hits in a window that starts at the first hit", async () => {
      const k = key();
      expect(await cache.hit(k, 1)).toBe(1);
      expect(await cache.hit(k, 1)).toBe(2);
      expect(await cache.hit(k, 1)).toBe(3);
      await eventually(
        async () => (await cache.hit(`${k}:probe`, 1)) === 1 && (await cache.get(k)) === undefined,
        3_000,
      );
      expect(await cache.hit(k, 1)).toBe(1);
    });

    test("reads through: loads once, then serves from the cache", async () => {
      const k = key();
      let loads = 0;
      const codec = { encode: (v: number) => String(v), decode: (t: string) => Number(t) };
      const load = async () => {
        loads++;
        return 42;
      };
      expect(await readThrough(cache, k, 60, load, codec)).toBe(42);
      expect(await readThrough(cache, k, 60, load, codec)).toBe(42);
      expect(loads).toBe(1);
    });
  });
}

cacheConformance("in-process", () => createMemoryCache());
cacheConformance("Redis", () => createRedisCache({ url: testServers.redisUrl, logger, prefix: "test:" }));

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("Redis cache with the server stopped", () => {
  // A private redis-server, so stopping it does not disturb other tests.
  let redis: ChildProcess;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    redis = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
  });
  afterAll(() => {
    redis.kill("SIGKILL");
  });

  test("degrades to misses and no-ops, then recovers", async () => {
    const cache = createRedisCache({ url: `redis://127.0.0.1:${port}`, logger });
    await eventually(() => cache.healthy());
    await cache.set("k", "v", 60);
    expect(await cache.get("k")).toBe("v");

    redis.kill("SIGKILL");
    await eventually(async () => !(await cache.healthy()));
    expect(await cache.get("k")).toBeUndefined();
    await expect(cache.set("k2", "v", 60)).resolves.toBeUndefined();
    await expect(cache.del("k")).resolves.toBeUndefined();
    expect(await cache.hit("h", 60)).toBeUndefined();

    redis = spawn(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      {
        stdio: "ignore",
      },
    );
    await eventually(() => cache.healthy(), 15_000);
    await cache.set("k3", "back", 60);
    expect(await cache.get("k3")).toBe("back");
    await cache.close();
  });
});
