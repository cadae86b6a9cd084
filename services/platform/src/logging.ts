import { type Logger, pino } from "pino";

export type { Logger };

/**
 * Keys that hold personal data or secrets. They are censored wherever they
 * appear in a logged object, at any of the first levels of nesting.
 */
const SENSITIVE_KEYS = [
  "cpf",
  "cnpj",
  "documento",
  "nome",
  "name",
  "razaoSocial",
  "email",
  "telefone",
  "phone",
  "endereco",
  "address",
  "password",
  "senha",
  "newPassword",
  "token",
  "accessToken",
  "refreshToken",
  "clientSecret",
  "secret",
  "totpCode",
  "authorization",
  "cookie",
  "pixKey",
  "chavePix",
  "contaBancaria",
];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const key of SENSITIVE_KEYS) {
    paths.push(key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`);
  }
  paths.push('req.headers["authorization"]', 'headers["authorization"]');
  return paths;
}

export function createLogger(options: { service: string; level?: string }): Logger {
  return pino({
    level: options.level ?? "info",
    base: { service: options.service },
    redact: { paths: redactPaths(), censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
