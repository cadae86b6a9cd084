import { defineEntity, p } from "@mikro-orm/core";
import { Migration, Migrator } from "@mikro-orm/migrations";
import { type EntityManager, MikroORM } from "@mikro-orm/postgresql";
import type { Logger } from "./logging.ts";

/** A migration of a service: a stable name and the class that applies it. */
export interface MigrationEntry {
  name: string;
  class: new (...args: ConstructorParameters<typeof Migration>) => Migration;
}

/** Outgoing events, written in the same transaction as the change they report. */
export const OutboxMessage = defineEntity({
  name: "OutboxMessage",
  tableName: "platform_outbox",
  properties: {
    id: p.uuid().primary(),
    eventType: p.string(),
    routingKey: p.string(),
    payload: p.blob(),
    headers: p.json<Record<string, string>>(),
    createdAt: p.datetime().onCreate(() => new Date()),
    publishedAt: p.datetime().nullable(),
    attempts: p.integer().default(0),
    nextAttemptAt: p.datetime().onCreate(() => new Date()),
    lastError: p.text().nullable(),
  },
});

/** Messages a consumer has applied; the key makes redelivery a no-op. */
export const InboxMessage = defineEntity({
  name: "InboxMessage",
  tableName: "platform_inbox",
  properties: {
    consumer: p.string().primary(),
    messageId: p.string().primary(),
    eventType: p.string(),
    processedAt: p.datetime().onCreate(() => new Date()),
  },
});

/** First response of a mutating RPC per request id, replayed on retries. */
export const IdempotencyRecord = defineEntity({
  name: "IdempotencyRecord",
  tableName: "platform_idempotency",
  properties: {
    method: p.string().primary(),
    scope: p.string().primary(),
    requestId: p.string().primary(),
    requestHash: p.blob(),
    response: p.blob(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

export const platformEntities = [OutboxMessage, InboxMessage, IdempotencyRecord];

class PlatformTables extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table platform_outbox (
      id uuid primary key,
      event_type text not null,
      routing_key text not null,
      payload bytea not null,
      headers jsonb not null,
      created_at timestamptz not null default now(),
      published_at timestamptz null,
      attempts int not null default 0,
      next_attempt_at timestamptz not null default now(),
      last_error text null)`);
    this.addSql(
      "create index platform_outbox_pending on platform_outbox (next_attempt_at) where published_at is null",
    );
    this.addSql(`create table platform_inbox (
      consumer text not null,
      message_id text not null,
      event_type text not null,
      processed_at timestamptz not null default now(),
      primary key (consumer, message_id))`);
    this.addSql(`create table platform_idempotency (
      method text not null,
      scope text not null,
      request_id text not null,
      request_hash bytea not null,
      response bytea not null,
      created_at timestamptz not null default now(),
      primary key (method, scope, request_id))`);
  }
}

/** Every service's first migration: the outbox, inbox and idempotency tables. */
export const platformMigration: MigrationEntry = { name: "0000_platform", class: PlatformTables };

class PlatformJobRuns extends Migration {
  override async up(): Promise<void> {
    // One row per run; a scheduled slot is claimed by its unique (job, scheduled_for).
    this.addSql(`create table platform_job_run (
      id uuid primary key,
      job text not null,
      scheduled_for timestamptz not null,
      manual boolean not null default false,
      started_at timestamptz not null default now(),
      finished_at timestamptz null,
      outcome text not null check (outcome in ('running', 'succeeded', 'failed')),
      error text null,
      duration_ms integer null)`);
    this.addSql(
      "create unique index platform_job_run_slot on platform_job_run (job, scheduled_for) where not manual",
    );
    this.addSql("create index platform_job_run_latest on platform_job_run (job, started_at desc)");
  }
}

/** Every service's second migration: the record of scheduled job runs. */
export const platformJobsMigration: MigrationEntry = { name: "0000_platform_jobs", class: PlatformJobRuns };

export interface DatabaseOptions {
  url: string;
  entities: readonly unknown[];
  migrations: readonly MigrationEntry[];
  logger: Logger;
  pool?: PoolSettings;
}

/** How the connection pool behaves when the server is slow, gone or saturated. */
export interface PoolSettings {
  max: number;
  /** Waiting for a free connection (or a new one) longer than this fails, and the call is Unavailable. */
  acquireTimeoutMs: number;
  /** The server cancels a statement running longer than this. */
  statementTimeoutMs: number;
}

const DEFAULT_POOL: PoolSettings = { max: 10, acquireTimeoutMs: 5_000, statementTimeoutMs: 30_000 };

export interface Database {
  orm: MikroORM;
  /** A fresh EntityManager: one per RPC and per message. */
  fork(): EntityManager;
  migrate(): Promise<string[]>;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

/** Opens (and checks) the service's database. Fails at start when unreachable. */
export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const pool = { ...DEFAULT_POOL, ...options.pool };
  const orm = await MikroORM.init({
    clientUrl: options.url,
    entities: [...platformEntities, ...(options.entities as typeof platformEntities)],
    extensions: [Migrator],
    migrations: {
      migrationsList: [platformMigration, platformJobsMigration, ...options.migrations],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      tableName: "platform_migrations",
      silent: true,
    },
    pool: { min: 0, max: pool.max, idleTimeoutMillis: 30_000 },
    // Passed to pg's Pool: bounded waits, dead peers noticed by TCP keepalive, and a transaction
    // left idle by a crashed handler ended by the server rather than holding locks.
    driverOptions: {
      connectionTimeoutMillis: pool.acquireTimeoutMs,
      keepAlive: true,
      statement_timeout: pool.statementTimeoutMs,
      idle_in_transaction_session_timeout: Math.max(60_000, pool.statementTimeoutMs * 2),
      application_name: "consorcio",
    },
    allowGlobalContext: false,
    debug: false,
    ensureDatabase: false,
  });
  await orm.connect();
  const check = await orm.checkConnection();
  if (!check.ok) {
    await orm.close(true);
    throw new Error(`database unreachable: ${check.reason}`);
  }
  return {
    orm,
    fork: () => orm.em.fork(),
    async migrate() {
      const applied = await orm.migrator.up();
      const names = applied.map((m) => m.name);
      if (names.length > 0) options.logger.info({ migrations: names }, "migrations applied");
      return names;
    },
    async ping() {
      return (await orm.checkConnection()).ok;
    },
    close: () => orm.close(true),
  };
}

/** A privilege the service role may hold on a table. */
export type TablePrivilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE";

/** The service role's privileges on named tables, instead of the default DML. */
export type TableGrants = Readonly<Record<string, readonly TablePrivilege[]>>;

const DEFAULT_PRIVILEGES = "select, insert, update, delete";
/** The migrator's bookkeeping: the service may read its schema version, never change it. */
const platformGrants: TableGrants = { platform_migrations: ["SELECT"] };

export interface MigrateOptions extends DatabaseOptions {
  /** The role the service connects as; nothing is granted when it is the migration role itself. */
  serviceRole?: string | undefined;
  grants?: TableGrants | undefined;
}

/**
 * Applies pending migrations (connected as the migration role, which owns the tables), then
 * grants the service role DML on every table and sequence, restricted where `grants` says.
 */
export async function migrateDatabase(options: MigrateOptions): Promise<string[]> {
  const db = await openDatabase(options);
  try {
    const applied = await db.migrate();
    if (options.serviceRole)
      await grantServiceRole(
        db,
        options.serviceRole,
        { ...platformGrants, ...options.grants },
        options.logger,
      );
    return applied;
  } finally {
    await db.close();
  }
}

const ident = (name: string) => `"${name.replaceAll('"', '""')}"`;

/** Idempotent: revokes everything the role holds here, then grants exactly its privileges. */
async function grantServiceRole(db: Database, role: string, grants: TableGrants, logger: Logger) {
  await db.fork().transactional(async (em) => {
    const [me] = await em.execute<{ user: string; schema: string }[]>(
      "select current_user as user, current_schema() as schema",
    );
    if (!me || me.user === role) {
      logger.debug({ role }, "service role is the migration role: no grants");
      return;
    }
    const r = ident(role);
    const schema = ident(me.schema);
    const statements = [
      `grant usage on schema ${schema} to ${r}`,
      `revoke all on all tables in schema ${schema} from ${r}`,
      `revoke all on all sequences in schema ${schema} from ${r}`,
      `grant ${DEFAULT_PRIVILEGES} on all tables in schema ${schema} to ${r}`,
      `grant usage, select on all sequences in schema ${schema} to ${r}`,
      // Tables a later migration creates start with the same privileges.
      `alter default privileges in schema ${schema} grant ${DEFAULT_PRIVILEGES} on tables to ${r}`,
      `alter default privileges in schema ${schema} grant usage, select on sequences to ${r}`,
    ];
    for (const [table, privileges] of Object.entries(grants)) {
      statements.push(`revoke all on table ${schema}.${ident(table)} from ${r}`);
      if (privileges.length > 0)
        statements.push(`grant ${privileges.join(", ")} on table ${schema}.${ident(table)} to ${r}`);
    }
    for (const sql of statements) await em.execute(sql);
    logger.info({ role, restricted: Object.keys(grants) }, "service role granted");
  });
}
