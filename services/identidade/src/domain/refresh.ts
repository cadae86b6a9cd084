// Refresh-token rotation with reuse detection (OAuth 2.0 Security BCP §4.14).

export interface RefreshTokenState {
  expiresAt: Date;
  usedAt: Date | null;
  revokedAt: Date | null;
}

export type RefreshDecision =
  /** Spend it and issue the next token of the family. */
  | "rotate"
  /** Already spent: somebody replayed it. Revoke the whole family. */
  | "reuse"
  | "revoked"
  | "expired";

export function decideRefresh(token: RefreshTokenState, now: Date): RefreshDecision {
  if (token.revokedAt) return "revoked";
  if (token.usedAt) return "reuse";
  if (token.expiresAt.getTime() <= now.getTime()) return "expired";
  return "rotate";
}
