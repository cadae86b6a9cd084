// Feature-flag evaluation, shared by configuracao (EvaluateFeatureFlag) and the services that
// keep a live copy of the flags (platform config-watch), so both give the same answer.
import { createHash } from "node:crypto";

export interface FlagRule<Role = number> {
  key: string;
  enabled: boolean;
  /** 0..100. */
  rolloutPercent: number;
  /** Empty: every role. */
  roles: readonly Role[];
}

export type FlagReason = "DISABLED" | "ROLE_EXCLUDED" | "ROLLOUT_IN" | "ROLLOUT_OUT";

export interface FlagAnswer {
  enabled: boolean;
  reason: FlagReason;
  /** The subject's bucket for this flag, 0..99. */
  bucket: number;
}

/**
 * The subject's bucket: the first 4 bytes of SHA-256(key NUL subject) mod 100. The key is in
 * the hash so one subject is not first in every rollout; NUL keeps ("a", "bc") apart from ("ab", "c").
 */
export function flagBucket(key: string, subject: string): number {
  const digest = createHash("sha256").update(key).update("\0").update(subject).digest();
  return digest.readUInt32BE(0) % 100;
}

/** On, off, role restriction, then rollout: a subject in at p% is in at every q >= p. */
export function evaluateFlag<Role>(
  flag: FlagRule<Role>,
  subject: string,
  roles: readonly Role[],
): FlagAnswer {
  const bucket = flagBucket(flag.key, subject);
  if (!flag.enabled) return { enabled: false, reason: "DISABLED", bucket };
  if (flag.roles.length > 0 && !roles.some((role) => flag.roles.includes(role)))
    return { enabled: false, reason: "ROLE_EXCLUDED", bucket };
  const inside = bucket < flag.rolloutPercent;
  return { enabled: inside, reason: inside ? "ROLLOUT_IN" : "ROLLOUT_OUT", bucket };
}
