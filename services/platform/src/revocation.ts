// Refusal of a disabled user's access tokens before they expire, in every service.
//
// Primary: identidade writes `revocation:<subject>` = disable time (ms) to the cache's
// shared namespace (every service reads it); verifiers memo each lookup for a second,
// so a hot caller costs one cache read a second. Fallback, for the cache being down:
// every process also hears `UsuarioDesativado` on a queue of its own and keeps the
// subjects in a bounded in-memory deny map. Either source is enough to refuse.
import { randomUUID } from "node:crypto";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { UsuarioDesativadoSchema } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import { LRUCache } from "lru-cache";
import type { TokenVerifier } from "./auth.ts";
import type { SubscriptionOptions } from "./bus.ts";
import type { Cache } from "./cache.ts";
import type { Principal } from "./context.ts";
import type { Logger } from "./logging.ts";

/** Longest access-token life identidade can be configured with (1 h), plus clock tolerance. */
export const REVOCATION_TTL_SECONDS = 3600 + 60;
/** How long a verifier trusts its last look at the shared cache for one subject. */
export const REVOCATION_MEMO_MS = 1_000;
/** A per-process queue outlives its process by this long (then the broker deletes it). */
const QUEUE_EXPIRY_MS = 10 * 60_000;

export interface Revocations {
  /** From now on, every access token of `subject` issued up to `at` is refused. */
  revoke(subject: string, at?: Date): Promise<void>;
  /** Whether the principal's token was issued no later than its subject's revocation. */
  isRevoked(principal: Principal): Promise<boolean>;
  /** This process's subscription to `UsuarioDesativado`, feeding the in-memory deny map. */
  subscription(): SubscriptionOptions;
}

export function revocationKey(subject: string): string {
  return `revocation:${subject}`;
}

/**
 * `shared` must be the cache's unprefixed namespace (the same keys in every service).
 * `service` names the per-process queue, `<service>.revocations.<random>`.
 */
export function createRevocations(options: { shared: Cache; service: string; logger: Logger }): Revocations {
  const { shared, logger } = options;
  // Subject -> revocation time (ms). Bounded: a flood of disables evicts the oldest first.
  const denied = new LRUCache<string, number>({ max: 100_000, ttl: REVOCATION_TTL_SECONDS * 1000 });
  // Subject -> pending or settled lookup in the shared cache (undefined: not revoked).
  const memo = new LRUCache<string, { at: Promise<number | undefined> }>({
    max: 10_000,
    ttl: REVOCATION_MEMO_MS,
  });
  const remember = (subject: string, at: number) => {
    if (at > (denied.get(subject) ?? 0)) denied.set(subject, at);
  };
  const lookUp = (subject: string): Promise<number | undefined> => {
    let entry = memo.get(subject);
    if (!entry) {
      // A cache that is down answers undefined at once (no wait): the deny map decides then.
      entry = { at: shared.get(revocationKey(subject)).then((text) => (text ? Number(text) : undefined)) };
      memo.set(subject, entry);
    }
    return entry.at;
  };
  const queue = `${options.service}.revocations.${randomUUID().slice(0, 8)}`;

  return {
    async revoke(subject, at = new Date()) {
      remember(subject, at.getTime());
      memo.delete(subject);
      await shared.set(revocationKey(subject), String(at.getTime()), REVOCATION_TTL_SECONDS);
    },
    async isRevoked(principal) {
      const remote = await lookUp(principal.subject);
      // Kept locally too: still refused if the cache goes down later.
      if (remote !== undefined) remember(principal.subject, remote);
      const at = denied.get(principal.subject) ?? 0;
      if (at === 0) return false;
      // `iat` has whole seconds: a token of the revocation's second is refused too.
      return principal.issuedAt === undefined || principal.issuedAt * 1000 <= at;
    },
    subscription: () => ({
      queue,
      bindings: [UsuarioDesativadoSchema.typeName],
      // Setting a map entry cannot fail for a passing reason: no retries, a bad body is dead-lettered.
      maxAttempts: 1,
      retryDelayMs: 1_000,
      expiresAfterMs: QUEUE_EXPIRY_MS,
      async handler(message) {
        const { usuarioId } = fromBinary(UsuarioDesativadoSchema, message.body);
        if (!usuarioId) return;
        // The event's time is when identidade disabled the user (RabbitMQ keeps whole seconds).
        remember(usuarioId, message.timestamp.getTime() || Date.now());
        memo.delete(usuarioId);
        logger.info({ subject: usuarioId }, "access tokens of a disabled user refused from now on");
      },
    }),
  };
}

/** Wraps a verifier: a valid token of a revoked subject is Unauthenticated. */
export function refusingRevoked(verify: TokenVerifier, revocations: Revocations): TokenVerifier {
  return async (token) => {
    const principal = await verify(token);
    if (await revocations.isRevoked(principal)) {
      throw new ConnectError("token revoked", Code.Unauthenticated);
    }
    return principal;
  };
}
