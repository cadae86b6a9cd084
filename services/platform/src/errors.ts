import { Code, ConnectError } from "@connectrpc/connect";

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

export function isConnectError(error: unknown): error is ConnectError {
  return error instanceof ConnectError;
}
