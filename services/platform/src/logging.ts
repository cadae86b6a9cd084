import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";
import { traceFields } from "./tracing.ts";

export type { Logger };

/**
 * Keys redacted in every log, whatever the contracts say: what no contract describes (HTTP
 * headers, the platform's own credentials and configuration) and so carries no debug_redact.
 * The fields of messages are redacted by their contracts' mark (`redact` below, from
 * sensitiveKeys in redaction.ts), not by guessing from names.
 */
const PLATFORM_SECRET_KEYS = [
  "authorization",
  "cookie",
  "password",
  "secret",
  "clientSecret",
  "token",
  "accessToken",
  "refreshToken",
];

/** A key at any of the first four levels of a logged object, plus the request headers. */
function redactPaths(keys: readonly string[]): string[] {
  const paths: string[] = [];
  for (const key of new Set([...PLATFORM_SECRET_KEYS, ...keys])) {
    if (!/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) continue;
    paths.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  paths.push('req.headers["authorization"]', 'headers["authorization"]');
  return paths;
}

/** pino's redaction of these keys (and the platform's), censored the same way everywhere. */
export function redactOptions(keys: readonly string[] = []): { paths: string[]; censor: string } {
  return { paths: redactPaths(keys), censor: "[redacted]" };
}

export function createLogger(options: {
  service: string;
  level?: string;
  /** Keys of sensitive fields (sensitiveKeys of the services the logger serves). */
  redact?: readonly string[];
  /** Where lines go (stdout by default; tests read them). */
  destination?: DestinationStream;
}): Logger {
  const settings = {
    level: options.level ?? "info",
    base: { service: options.service },
    redact: redactOptions(options.redact),
    timestamp: pino.stdTimeFunctions.isoTime,
    // trace_id and span_id of the active span, when tracing is on (nothing otherwise).
    mixin: traceFields,
  } satisfies LoggerOptions;
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
