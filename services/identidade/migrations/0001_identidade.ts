import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
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
