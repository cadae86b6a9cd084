// Helpers for the services' own tests: real servers, fresh databases, test tokens.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import amqp from "amqplib";
import { exportJWK, generateKeyPair, type JSONWebKeySet, SignJWT } from "jose";
import pg from "pg";
import type { z } from "zod";
import { roleName } from "./auth.ts";
import type { Clock } from "./clock.ts";
import { startLocalS3 } from "./local-s3.ts";
import type { Logger } from "./logging.ts";
import { type RunningService, runService, type ServiceDefinition } from "./service.ts";
import type { TracingOptions } from "./tracing.ts";

/** Where the tests find the real servers; `.ci/run` and `npm run infra:up` start them. */
export const testServers = {
  adminDatabaseUrl: process.env.TEST_DATABASE_ADMIN_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
  amqpUrl: process.env.TEST_AMQP_URL ?? "amqp://guest:guest@127.0.0.1:5672",
  redisUrl: process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
};

export interface TestDatabase {
  /** What the service connects with: the service role's URL with `roles`, else the superuser's. */
  url: string;
  /** What migrations connect with: the owner role's URL with `roles`, else the same as `url`. */
  migrationUrl: string;
  name: string;
  /** Runs SQL as the superuser against the test database (tampering, inspection). */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/**
 * A fresh, empty database per test file. With `roles`, as deployed: `<name>_migrator` owns it
 * (migrations) and `<name>` may only connect (the service, granted DML after migrating).
 */
export async function createTestDatabase(
  prefix = "test",
  options: { roles?: boolean } = {},
): Promise<TestDatabase> {
  const name = `${prefix}_${randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const migrator = `${name}_migrator`;
  const admin = new pg.Client({ connectionString: testServers.adminDatabaseUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  if (options.roles) {
    await admin.query(`create role "${migrator}" login`);
    await admin.query(`create role "${name}" login`);
    await admin.query(`alter database "${name}" owner to "${migrator}"`);
    await admin.query(`revoke connect, temporary on database "${name}" from public`);
    await admin.query(`grant connect on database "${name}" to "${name}"`);
  }
  await admin.end();
  const urlAs = (user?: string) => {
    const url = new URL(testServers.adminDatabaseUrl);
    url.pathname = `/${name}`;
    if (user) {
      url.username = user;
      url.password = "";
    }
    return url.toString();
  };
  const pool = new pg.Pool({ connectionString: urlAs(), max: 2 });
  // Tests terminate backends on purpose: an idle client dropped by the server is not an error here.
  pool.on("error", () => undefined);
  return {
    url: urlAs(options.roles ? name : undefined),
    migrationUrl: urlAs(options.roles ? migrator : undefined),
    name,
    async query(sql, params) {
      return (await pool.query(sql, params)).rows;
    },
    async drop() {
      await pool.end();
      const client = new pg.Client({ connectionString: testServers.adminDatabaseUrl });
      await client.connect();
      await client.query(`drop database if exists "${name}" with (force)`);
      if (options.roles) await client.query(`drop role if exists "${name}", "${migrator}"`);
      await client.end();
    },
  };
}

export interface TestTokenOptions {
  subject?: string;
  roles: readonly Role[];
  consorciadoId?: string;
  issuer?: string;
  audience?: string;
  expiresIn?: string;
}

/**
 * A signing key and its JWKS, issuing tokens in identidade's claim format, for
 * tests of services other than identidade (whose own tests use its real tokens).
 */
export async function createTestIssuer(defaults = { issuer: "consorcio-identidade", audience: "consorcio" }) {
  const { privateKey, publicKey } = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  const kid = randomUUID();
  const jwks: JSONWebKeySet = { keys: [{ ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" }] };
  return {
    jwks,
    issuer: defaults.issuer,
    audience: defaults.audience,
    async token(options: TestTokenOptions): Promise<string> {
      const claims: Record<string, unknown> = { roles: options.roles.map(roleName) };
      if (options.consorciadoId) claims.cid = options.consorciadoId;
      return new SignJWT(claims)
        .setProtectedHeader({ alg: "EdDSA", kid })
        .setSubject(options.subject ?? randomUUID())
        .setIssuer(options.issuer ?? defaults.issuer)
        .setAudience(options.audience ?? defaults.audience)
        .setIssuedAt()
        .setJti(randomUUID())
        .setExpirationTime(options.expiresIn ?? "5m")
        .sign(privateKey);
    },
  };
}

/** Polls until `check` returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Test queues are durable like real ones: removes them with their retry and dead-letter queues. */
export async function deleteQueues(prefixes: readonly string[]): Promise<void> {
  const listing = await promisify(execFile)("rabbitmqctl", [
    "list_queues",
    "-q",
    "--no-table-headers",
    "name",
  ]);
  const names = listing.stdout.split("\n").map((line) => line.trim());
  const connection = await amqp.connect(testServers.amqpUrl);
  const channel = await connection.createChannel();
  for (const name of names) {
    if (prefixes.some((prefix) => name === prefix || name.startsWith(`${prefix}.`)))
      await channel.deleteQueue(name);
  }
  await connection.close();
}

export interface TestService {
  service: RunningService;
  db: TestDatabase;
  stop(): Promise<void>;
}

/** Starts a service on a random port against a fresh database and the real broker and cache. */
export async function startTestService<Env extends z.ZodObject, Deps>(
  definition: ServiceDefinition<Env, Deps>,
  env: Record<string, string> = {},
  options: { db?: TestDatabase; logger?: Logger; clock?: Clock; tracing?: TracingOptions } = {},
): Promise<TestService> {
  const db = options.db ?? (await createTestDatabase(definition.name));
  const service = await runService(definition, {
    env: {
      DATABASE_URL: db.url,
      MIGRATION_DATABASE_URL: db.migrationUrl,
      AMQP_URL: testServers.amqpUrl,
      REDIS_URL: testServers.redisUrl,
      PORT: "0",
      HOST: "127.0.0.1",
      MIGRATE_ON_START: "true",
      LOG_LEVEL: "silent",
      EVENTS_MAX_ATTEMPTS: "3",
      EVENTS_RETRY_DELAY_MS: "50",
      // Tests make many anonymous calls from 127.0.0.1; the limit's own tests set it lower.
      ANONYMOUS_CALLS_PER_MINUTE: "100000",
      ...env,
    },
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
  });
  return {
    service,
    db,
    async stop() {
      await service.stop();
      if (!options.db) await db.drop();
    },
  };
}

/** Serves a key set over HTTP, as identidade's JWKS endpoint does. */
export async function serveJwks(
  jwks: JSONWebKeySet,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An S3-compatible server (s3rver) on a random port over a temporary folder, removed by close(). */
export async function startTestS3(): Promise<{ env: Record<string, string>; close(): Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), "consorcio-s3-"));
  const server = await startLocalS3({ directory, port: 0 });
  return {
    env: server.env,
    async close() {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
