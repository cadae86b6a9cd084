// Per-process limit of unauthenticated calls per client address: it needs nothing outside the
// process, so it holds when Redis is down (each replica limits on its own).
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { LRUCache } from "lru-cache";
import { loggable } from "./audit.ts";
import { requestContextKey } from "./context.ts";

export interface RateLimiter {
  /** Takes one call from the key's allowance; false when there is none left. */
  take(key: string): boolean;
}

interface Bucket {
  tokens: number;
  updated: number;
}

/**
 * Token buckets: `perMinute` calls a minute per key, in bursts of up to as many. At most
 * `maxKeys` buckets are kept; the least recently used goes first (most likely a full one).
 */
export function createRateLimiter(options: {
  perMinute: number;
  maxKeys?: number;
  now?: () => number;
}): RateLimiter {
  const now = options.now ?? Date.now;
  const perMs = options.perMinute / 60_000;
  const buckets = new LRUCache<string, Bucket>({ max: options.maxKeys ?? 10_000 });
  return {
    take(key) {
      const time = now();
      const bucket = buckets.get(key) ?? { tokens: options.perMinute, updated: time };
      bucket.tokens = Math.min(options.perMinute, bucket.tokens + (time - bucket.updated) * perMs);
      bucket.updated = time;
      const allowed = bucket.tokens >= 1;
      if (allowed) bucket.tokens -= 1;
      buckets.set(key, bucket);
      return allowed;
    },
  };
}

const exhausted = () =>
  new ConnectError("too many unauthenticated calls from this address, retry later", Code.ResourceExhausted);

/**
 * Placed before authentication. A call without credentials takes from its address's allowance
 * first; a call with credentials is never held back (a user behind the same address as a flood
 * keeps working), but one refused as Unauthenticated takes from it too, and past the limit is
 * answered ResourceExhausted. Health and reflection are left alone.
 */
export function createAnonymousRateLimitInterceptor(limiter: RateLimiter): Interceptor {
  return (next) => async (req) => {
    if (req.service.typeName.startsWith("grpc.")) return next(req);
    const source = loggable(req.contextValues.get(requestContextKey)?.clientIp ?? "") || "unknown";
    if (!req.header.has("authorization")) {
      if (!limiter.take(source)) throw exhausted();
      return next(req);
    }
    try {
      return await next(req);
    } catch (error) {
      if (ConnectError.from(error).code === Code.Unauthenticated && !limiter.take(source)) throw exhausted();
      throw error;
    }
  };
}
