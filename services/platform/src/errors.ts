import { Code } from "@connectrpc/connect";

/**
 * Errors the domain and store layers throw. The error-mapping interceptor turns
 * them into gRPC statuses; anything else becomes Internal with no detail.
 */
export class DomainError extends Error {
  readonly code: Code;
  constructor(code: Code, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

export class NotFoundError extends DomainError {
  constructor(message: string) {
    super(Code.NotFound, message);
  }
}

export class AlreadyExistsError extends DomainError {
  constructor(message: string) {
    super(Code.AlreadyExists, message);
  }
}

export class FailedPreconditionError extends DomainError {
  constructor(message: string) {
    super(Code.FailedPrecondition, message);
  }
}

/** A competing change won (optimistic lock): the client may retry. */
export class ConflictError extends DomainError {
  constructor(message: string) {
    super(Code.Aborted, message);
  }
}

export class PermissionDeniedError extends DomainError {
  constructor(message = "permission denied") {
    super(Code.PermissionDenied, message);
  }
}

export class UnauthenticatedError extends DomainError {
  constructor(message = "authentication required") {
    super(Code.Unauthenticated, message);
  }
}

export class ResourceExhaustedError extends DomainError {
  constructor(message: string) {
    super(Code.ResourceExhausted, message);
  }
}

export interface FieldViolation {
  /** Proto field path, e.g. `endereco.cep`. */
  field: string;
  message: string;
  /** Stable rule id, e.g. `cpf.check_digits`. */
  ruleId?: string;
}

/** Input that passed the contract's static rules but breaks a domain rule. */
export class InvalidArgumentError extends DomainError {
  readonly violations: FieldViolation[];
  constructor(violations: FieldViolation[]) {
    super(Code.InvalidArgument, violations.map((v) => `${v.field}: ${v.message}`).join("; "));
    this.violations = violations;
  }
}

/** SQLSTATEs of a lost or refused database connection (classes 08, 53 and the 57P0x shutdowns). */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0[1-4])/;
/** How `pg`, `pg-pool` and sockets report a dead or unreachable server. */
const UNAVAILABLE_MESSAGE =
  /connection terminated|not queryable|timeout exceeded when trying to connect|terminating connection|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN/i;
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/**
 * True when the error says a dependency could not be reached or dropped the
 * connection (as opposed to refusing what we asked): a retry may succeed, so the
 * caller gets Unavailable. Walks the `cause` chain, where drivers keep the original.
 */
export function isUnavailableError(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    if (typeof current !== "object") return false;
    const { code, sqlState, message, severity } = current as Record<string, unknown>;
    // A FATAL error ends the server session itself (refused or dropped connection), whatever its code.
    if (severity === "FATAL" || severity === "PANIC") return true;
    const state = typeof sqlState === "string" ? sqlState : typeof code === "string" ? code : "";
    if (UNAVAILABLE_SQLSTATE.test(state) && state.length === 5) return true;
    if (typeof code === "string" && SOCKET_CODES.has(code)) return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGE.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}
