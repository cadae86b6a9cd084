import { createContextKey } from "@connectrpc/connect";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";

/** Who is calling, as proven by a verified access token. */
export interface Principal {
  /** Token subject: a user, partner client or service account id. */
  subject: string;
  roles: readonly Role[];
  /** For CONSORCIADO tokens: the consorciado the account belongs to. */
  consorciadoId?: string;
  /** Token id (`jti`), for audit trails. */
  tokenId?: string;
  username?: string;
  /** When the token was issued (`iat`, seconds): a revocation refuses tokens issued before it. */
  issuedAt?: number;
}

/** Set when the caller was allowed only as owner: handlers must scope reads and writes to it. */
export interface OwnerScope {
  consorciadoId: string;
}

export interface RequestContext {
  requestId: string;
  correlationId: string;
  /** W3C trace context, propagated as-is. */
  traceparent?: string;
  /** Client IP as seen by this process (the edge sets x-forwarded-for). */
  clientIp?: string;
}

export const requestContextKey = createContextKey<RequestContext | undefined>(undefined, {
  description: "request context",
});
export const principalKey = createContextKey<Principal | undefined>(undefined, { description: "principal" });
export const ownerScopeKey = createContextKey<OwnerScope | undefined>(undefined, {
  description: "owner scope",
});
/** Address of the TCP peer (the edge proxy, in a deployment). */
export const peerAddressKey = createContextKey<string | undefined>(undefined, {
  description: "peer address",
});
