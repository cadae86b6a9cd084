import { Redis } from "ioredis";
import type { Logger } from "./logging.ts";

/**
 * A cache the service can live without: every operation degrades to a miss or a
 * no-op when the backend is down, so calls still succeed (only slower).
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  /** TTL always set: after an outage a missed invalidation heals by itself. */
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  del(...keys: string[]): Promise<void>;
  /**
   * Increments a counter that expires `windowSeconds` after its first hit.
   * Returns undefined when the backend is down: the caller decides whether to fail open.
   */
  hit(key: string, windowSeconds: number): Promise<number | undefined>;
  healthy(): Promise<boolean>;
  close(): Promise<void>;
}

export function createRedisCache(options: { url: string; logger: Logger; prefix?: string }): Cache {
  const redis = new Redis(options.url, {
    keyPrefix: options.prefix ?? "",
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 500,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
    lazyConnect: false,
  });
  let lastWarning = 0;
  redis.on("error", (error) => {
    // One line a minute, not one per reconnect attempt.
    if (Date.now() - lastWarning > 60_000) {
      lastWarning = Date.now();
      options.logger.warn({ err: error }, "cache unavailable, continuing without it");
    }
  });
  const degrade = async <T>(operation: () => Promise<T>, fallback: T): Promise<T> => {
    if (redis.status !== "ready") return fallback;
    try {
      return await operation();
    } catch {
      return fallback;
    }
  };
  return {
    get: (key) => degrade(async () => (await redis.get(key)) ?? undefined, undefined),
    set: (key, value, ttl) => degrade(async () => void (await redis.set(key, value, "EX", ttl)), undefined),
    del: (...keys) => degrade(async () => void (keys.length > 0 && (await redis.del(...keys))), undefined),
    hit: (key, window) =>
      degrade(async () => {
        const [[, count]] = (await redis.multi().incr(key).expire(key, window, "NX").exec()) as [
          [null, number],
        ];
        return count;
      }, undefined),
    healthy: () => degrade(async () => (await redis.ping()) === "PONG", false),
    async close() {
      redis.disconnect();
    },
  };
}

/** In-process cache for the embedded mode, with the same semantics. */
export function createMemoryCache(): Cache {
  const entries = new Map<string, { value: string; expiresAt: number }>();
  const live = (key: string) => {
    const entry = entries.get(key);
    if (entry && entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  };
  return {
    async get(key) {
      return live(key)?.value;
    },
    async set(key, value, ttl) {
      entries.set(key, { value, expiresAt: Date.now() + ttl * 1000 });
    },
    async del(...keys) {
      for (const key of keys) entries.delete(key);
    },
    async hit(key, window) {
      const entry = live(key);
      const count = Number(entry?.value ?? 0) + 1;
      entries.set(key, { value: String(count), expiresAt: entry?.expiresAt ?? Date.now() + window * 1000 });
      return count;
    },
    healthy: async () => true,
    async close() {
      entries.clear();
    },
  };
}

/**
 * A service's view of a cache shared by several (the embedded mode's one in-process cache):
 * its keys get the service's prefix, like the Redis cache's `keyPrefix`, so two services never
 * read each other's entries. The cache itself stays the shared, unprefixed namespace
 * (revocations); closing the view leaves it open for the others.
 */
export function prefixedCache(cache: Cache, prefix: string): Cache {
  return {
    get: (key) => cache.get(prefix + key),
    set: (key, value, ttl) => cache.set(prefix + key, value, ttl),
    del: (...keys) => cache.del(...keys.map((key) => prefix + key)),
    hit: (key, window) => cache.hit(prefix + key, window),
    healthy: () => cache.healthy(),
    close: async () => {},
  };
}

/** Read-through: the cached value, or the loaded one (cached for next time). */
export async function readThrough<T>(
  cache: Cache,
  key: string,
  ttlSeconds: number,
  load: () => Promise<T | undefined>,
  codec: { encode(value: T): string; decode(text: string): T },
): Promise<T | undefined> {
  const cached = await cache.get(key);
  if (cached !== undefined) return codec.decode(cached);
  const value = await load();
  if (value !== undefined) await cache.set(key, codec.encode(value), ttlSeconds);
  return value;
}
