import { defineEntity, p } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";
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

class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table usuario (
      id uuid primary key,
      username text not null unique,
      kind text not null check (kind in ('STAFF', 'CONSORCIADO', 'PARCEIRO', 'SERVICE')),
      roles text[] not null,
      consorciado_id text null,
      scopes text[] not null default '{}',
      secret_hash text not null,
      disabled boolean not null default false,
      totp_secret text null,
      totp_pending text null,
      recovery_codes text[] not null default '{}',
      created_at timestamptz not null,
      updated_at timestamptz not null,
      version int not null default 1)`);
    this.addSql(`create table login_attempt (
      username text primary key,
      failures int not null,
      last_failure_at timestamptz not null)`);
    this.addSql(`create table refresh_token (
      id uuid primary key,
      token_hash text not null unique,
      family_id uuid not null,
      usuario_id uuid not null references usuario (id),
      created_at timestamptz not null,
      expires_at timestamptz not null,
      used_at timestamptz null,
      revoked_at timestamptz null)`);
    this.addSql("create index refresh_token_family on refresh_token (family_id)");
    this.addSql("create index refresh_token_usuario on refresh_token (usuario_id)");
    this.addSql(`create table signing_key (
      kid text primary key,
      alg text not null,
      public_jwk jsonb not null,
      private_jwk text not null,
      created_at timestamptz not null,
      retired_at timestamptz null)`);
  }
}

class TotpLastStep extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table usuario add column totp_last_step int null");
  }
}

/** Throttle by keyed hashes of (username, source); the plaintext usernames go with the old table. */
class LoginThrottleSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table login_throttle (
      user_key text not null,
      source_key text not null,
      usuario_id uuid null,
      failures int not null,
      held_until timestamptz null,
      forget_at timestamptz not null,
      primary key (user_key, source_key))`);
    this.addSql("create index login_throttle_usuario on login_throttle (usuario_id)");
    this.addSql("create index login_throttle_forget on login_throttle (forget_at)");
    this.addSql("drop table login_attempt");
  }
}

export const migrations = [
  { name: "0001_identidade", class: InitialSchema },
  { name: "0002_totp_last_step", class: TotpLastStep },
  { name: "0003_login_throttle", class: LoginThrottleSchema },
];
