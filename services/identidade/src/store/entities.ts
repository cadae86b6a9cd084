import { defineEntity, p } from "@mikro-orm/core";
import type { Kind, RoleName } from "../domain/accounts.ts";

export const Usuario = defineEntity({
  name: "Usuario",
  tableName: "usuario",
  properties: {
    id: p.uuid().primary(),
    username: p.string().unique(),
    kind: p.string().$type<Kind>(),
    roles: p.array().$type<RoleName[]>(),
    consorciadoId: p.string().nullable(),
    scopes: p.array().$type<string[]>(),
    /** argon2id of the password (people) or of the client secret (clients). */
    secretHash: p.string(),
    disabled: p.boolean().default(false),
    /** Sealed TOTP secret, once confirmed; the pending one while enrolling. */
    totpSecret: p.string().nullable(),
    totpPending: p.string().nullable(),
    /** The last TOTP time step accepted: a code is good once (RFC 6238 §5.2). */
    totpLastStep: p.integer().nullable(),
    /** SHA-256 of the unused recovery codes. */
    recoveryCodes: p.array().$type<string[]>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    version: p.integer().version(),
  },
});

/**
 * Failed logins by (username, source), whether the username exists or not. Both are keyed
 * hashes: people type their CPF as a username, and neither it nor their address is kept.
 * A row is deleted once it no longer matters (forget_at).
 */
export const LoginThrottle = defineEntity({
  name: "LoginThrottle",
  tableName: "login_throttle",
  properties: {
    userKey: p.string().primary(),
    sourceKey: p.string().primary(),
    /** The account, when the username is one (for its `locked` flag and Unlock). */
    usuarioId: p.uuid().nullable(),
    failures: p.integer(),
    heldUntil: p.datetime().nullable(),
    forgetAt: p.datetime(),
  },
});

export const RefreshToken = defineEntity({
  name: "RefreshToken",
  tableName: "refresh_token",
  properties: {
    id: p.uuid().primary(),
    /** SHA-256 of the opaque token: the token itself is never stored. */
    tokenHash: p.string().unique(),
    familyId: p.uuid().index(),
    usuarioId: p.uuid().index(),
    createdAt: p.datetime().onCreate(() => new Date()),
    expiresAt: p.datetime(),
    usedAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
  },
});

export const SigningKey = defineEntity({
  name: "SigningKey",
  tableName: "signing_key",
  properties: {
    kid: p.string().primary(),
    alg: p.string(),
    publicJwk: p.json<Record<string, unknown>>(),
    /** The private JWK, sealed with the service's secret key. */
    privateJwk: p.text(),
    createdAt: p.datetime().onCreate(() => new Date()),
    /** Set when a newer key takes over; still published until its last token expires. */
    retiredAt: p.datetime().nullable(),
  },
});

export const entities = [Usuario, LoginThrottle, RefreshToken, SigningKey];
