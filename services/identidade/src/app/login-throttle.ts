// Failed logins counted per (username, source) in the database, so the throttle holds when
// Redis is down. Usernames and addresses are kept only as keyed hashes.
import { createHmac, hkdfSync } from "node:crypto";
import type { EntityManager } from "@mikro-orm/postgresql";
import { holdSeconds, type ThrottlePolicy } from "../domain/accounts.ts";
import { sourceOf } from "../domain/source.ts";

export interface ThrottleKeys {
  userKey: string;
  sourceKey: string;
}

export class Throttle {
  readonly policy: ThrottlePolicy;
  private readonly key: Buffer;

  constructor(secretKey: Buffer, policy: ThrottlePolicy) {
    this.policy = policy;
    // A key of its own, derived from the service's: the hashes cannot be recomputed without it.
    this.key = Buffer.from(
      hkdfSync("sha256", secretKey, Buffer.alloc(0), "identidade login throttle v1", 32),
    );
  }

  /** `username` already normalised. */
  keys(username: string, address: string | undefined): ThrottleKeys {
    return { userKey: this.userKey(username), sourceKey: this.hmac(`source:${sourceOf(address)}`) };
  }

  private userKey(username: string): string {
    return this.hmac(`user:${username}`);
  }

  private hmac(value: string): string {
    return createHmac("sha256", this.key).update(value).digest("hex");
  }

  /** The end of the hold on these keys, if one is running; forgets rows that no longer matter first. */
  async heldUntil(
    em: EntityManager,
    { userKey, sourceKey }: ThrottleKeys,
    now: Date,
  ): Promise<Date | undefined> {
    // Skip locked: a cleanup never waits for another login's transaction.
    await em.execute(
      `delete from login_throttle where (user_key, source_key) in (
         select user_key, source_key from login_throttle where forget_at < ?
         limit 100 for update skip locked)`,
      [now],
    );
    const [row] = await em.execute<{ held_until: Date }[]>(
      "select held_until from login_throttle where user_key = ? and source_key = ? and held_until > ?",
      [userKey, sourceKey, now],
    );
    return row ? new Date(row.held_until) : undefined;
  }

  /**
   * Counts a failure. From the policy's limit on, each one holds the source back, for longer each
   * time; failures are forgotten once the longest hold has passed without another.
   */
  async recordFailure(
    em: EntityManager,
    { userKey, sourceKey }: ThrottleKeys,
    usuarioId: string | undefined,
    now: Date,
  ): Promise<{ failures: number; heldUntil: Date | undefined }> {
    const [counted] = await em.execute<{ failures: number }[]>(
      `insert into login_throttle (user_key, source_key, usuario_id, failures, held_until, forget_at)
       values (?, ?, ?, 1, null, ?)
       on conflict (user_key, source_key) do update set
         failures = case when login_throttle.forget_at < ? then 1 else login_throttle.failures + 1 end,
         usuario_id = excluded.usuario_id
       returning failures`,
      [userKey, sourceKey, usuarioId ?? null, now, now],
    );
    const failures = counted?.failures ?? 1;
    const hold = holdSeconds(failures, this.policy);
    const [row] = await em.execute<{ held_until: Date | null }[]>(
      `update login_throttle set
         held_until = case when ?::int > 0 then ?::timestamptz + make_interval(secs => ?::int) end,
         forget_at = ?::timestamptz + make_interval(secs => ?::int + ?::int)
       where user_key = ? and source_key = ? returning held_until`,
      [hold, now, hold, now, hold, this.policy.maxSeconds, userKey, sourceKey],
    );
    return { failures, heldUntil: row?.held_until ? new Date(row.held_until) : undefined };
  }

  /** A success from a source starts it afresh (other sources keep their count). */
  async clear(em: EntityManager, { userKey, sourceKey }: ThrottleKeys): Promise<void> {
    await em.execute("delete from login_throttle where user_key = ? and source_key = ?", [
      userKey,
      sourceKey,
    ]);
  }

  /** An ADMIN's unlock: every source of the account starts afresh. */
  async unlock(em: EntityManager, usuario: { id: string; username: string }): Promise<void> {
    await em.execute("delete from login_throttle where usuario_id = ? or user_key = ?", [
      usuario.id,
      this.userKey(usuario.username),
    ]);
  }
}
