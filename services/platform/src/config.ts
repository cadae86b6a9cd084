import { z } from "zod";
import { SERVICE_PORTS, type ServiceName } from "./catalog.ts";
import { parseAllowedOrigins } from "./cors.ts";
import { DEFAULT_LIMITS } from "./server.ts";

/** Settings every service reads from its environment. */
export const platformEnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  // Loopback unless told otherwise: containers and pods set HOST=0.0.0.0 explicitly.
  HOST: z.string().default("127.0.0.1"),
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  /** Where migrations run: a role owning the tables. Defaults to DATABASE_URL (one role, local modes). */
  MIGRATION_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  /** The role granted the service's privileges after migrating; defaults to DATABASE_URL's user. */
  DATABASE_SERVICE_ROLE: z.string().min(1).optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(10),
  /** A call waiting longer than this for a database connection fails as Unavailable. */
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).default(5_000),
  DATABASE_STATEMENT_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  /** Health answers within this, whatever its dependencies do. */
  HEALTH_PROBE_TIMEOUT_MS: z.coerce.number().int().min(50).default(1_000),
  /** The service account this service calls others as (client-credentials grant at identidade). */
  SERVICE_CLIENT_ID: z.string().min(1).max(128).optional(),
  // Empty is unset: compose passes `${SERVICE_SECRET_<NAME>:-}` for services that call nobody.
  SERVICE_CLIENT_SECRET: z.preprocess(
    (value) => (value === "" ? undefined : value),
    z.string().min(1).max(256).optional(),
  ),
  /** Deadline of a call to another service made outside any incoming call (jobs, consumers). */
  SERVICE_CALL_TIMEOUT_MS: z.coerce.number().int().min(1).default(5_000),
  AMQP_URL: z.url({ protocol: /^amqps?$/ }).optional(),
  REDIS_URL: z.url({ protocol: /^rediss?$/ }).optional(),
  /** Object storage (any S3-compatible server); without it the service has no `storage`. */
  S3_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  /** The address clients outside reach the server at, for presigned URLs; defaults to S3_ENDPOINT. */
  S3_PUBLIC_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  S3_ACCESS_KEY: z.string().min(1).optional(),
  S3_SECRET_KEY: z.string().min(1).optional(),
  /** Defaults to `consorcio-<service>`. */
  S3_BUCKET: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "an S3 bucket name (3-63 of a-z, 0-9, '.', '-')")
    .optional(),
  S3_REGION: z.string().min(1).default("us-east-1"),
  JWKS_URL: z.url().default("http://127.0.0.1:7001/.well-known/jwks.json"),
  JWT_ISSUER: z.string().min(1).default("consorcio-identidade"),
  JWT_AUDIENCE: z.string().min(1).default("consorcio"),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  /**
   * Proxies in front of the service that append to x-forwarded-for (the Envoy edge: 1). The
   * client address is the entry this many from the right; 0 believes no header.
   */
  TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(1),
  /** Apply pending migrations at start (local modes); in Kubernetes a hook Job runs `migrate`. */
  MIGRATE_ON_START: z.stringbool().default(false),
  EVENTS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  EVENTS_RETRY_DELAY_MS: z.coerce.number().int().min(1).default(1000),
  /** Slow clients: see ServerLimits in server.ts (headers must not exceed the request timeout). */
  SERVER_HEADERS_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.headersTimeoutMs),
  SERVER_REQUEST_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.requestTimeoutMs),
  SERVER_IDLE_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.idleTimeoutMs),
  SERVER_MAX_CONCURRENT_STREAMS: z.coerce
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.maxConcurrentStreams),
  SERVER_MAX_CONNECTIONS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.maxConnections),
  /**
   * Browser origins allowed to call (CORS), comma-separated: `https://app.example.com.br`,
   * `http://localhost:*`. None by default: a page on another origin is refused by its browser.
   */
  CORS_ALLOWED_ORIGINS: z
    .string()
    .default("")
    .superRefine((value, context) => {
      try {
        parseAllowedOrigins(value);
      } catch (error) {
        context.addIssue({ code: "custom", message: (error as Error).message });
      }
    }),
  /** Calls without a valid token allowed per client address and minute, per process (then ResourceExhausted). */
  ANONYMOUS_CALLS_PER_MINUTE: z.coerce.number().int().min(1).default(300),
  /** Refusals before authentication are audited summed over this interval (per address and RPC). */
  AUDIT_REFUSALS_INTERVAL_SECONDS: z.coerce.number().int().min(1).default(60),
});

export type PlatformConfig = z.infer<typeof platformEnvSchema> & { service: string; port: number };

export class ConfigError extends Error {}

/** Parses the environment; a bad value stops start-up with every problem listed. */
export function loadConfig<S extends z.ZodObject>(
  service: string,
  env: Record<string, string | undefined>,
  extra?: S,
): PlatformConfig & (S extends z.ZodObject ? z.infer<S> : object) {
  const schema = extra ? platformEnvSchema.extend(extra.shape) : platformEnvSchema;
  const result = schema.safeParse(env);
  if (!result.success) {
    const lines = result.error.issues.map(
      (issue) => `  ${issue.path.join(".") || "(env)"}: ${issue.message}`,
    );
    throw new ConfigError(`invalid configuration for ${service}:\n${lines.join("\n")}`);
  }
  const parsed = result.data as z.infer<typeof platformEnvSchema>;
  const port = parsed.PORT ?? SERVICE_PORTS[service as ServiceName];
  if (port === undefined) throw new ConfigError(`invalid configuration for ${service}:\n  PORT: required`);
  return {
    ...result.data,
    service,
    port,
  } as PlatformConfig & (S extends z.ZodObject ? z.infer<S> : object);
}

/** Entry points call this first: type stripping and the APIs we use need Node 24. */
export function requireNode24(): void {
  const major = Number(process.versions.node.split(".")[0]);
  if (major < 24) {
    console.error(
      `consorcio: Node.js 24 or newer is required, this is ${process.versions.node}. Use "npm start".`,
    );
    process.exit(1);
  }
}
