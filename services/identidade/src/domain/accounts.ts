// Pure rules of accounts: which roles each kind may hold, password policy, login throttling.
import type { FieldViolation } from "@consorcio/platform";

export type Kind = "STAFF" | "CONSORCIADO" | "PARCEIRO" | "SERVICE";
export type RoleName =
  | "ADMIN"
  | "GERENTE"
  | "OPERADOR"
  | "FINANCEIRO"
  | "AUDITOR"
  | "CONSORCIADO"
  | "PARCEIRO"
  | "SERVICE";

const ROLES_BY_KIND: Record<Kind, readonly RoleName[]> = {
  STAFF: ["ADMIN", "GERENTE", "OPERADOR", "FINANCEIRO", "AUDITOR"],
  CONSORCIADO: ["CONSORCIADO"],
  PARCEIRO: ["PARCEIRO"],
  SERVICE: ["SERVICE"],
};

/** People log in with a password; clients use the client-credentials grant with a secret. */
export function isClient(kind: Kind): boolean {
  return kind === "PARCEIRO" || kind === "SERVICE";
}

export const PASSWORD_MIN_LENGTH = 12;

export function passwordViolations(password: string, username: string, field = "password"): FieldViolation[] {
  if (password.length < PASSWORD_MIN_LENGTH) {
    return [
      { field, ruleId: "password.min_len", message: `must have at least ${PASSWORD_MIN_LENGTH} characters` },
    ];
  }
  if (password.toLowerCase().includes(username.toLowerCase())) {
    return [{ field, ruleId: "password.username", message: "must not contain the username" }];
  }
  if (new Set(password).size < 5) {
    return [{ field, ruleId: "password.variety", message: "must use at least 5 different characters" }];
  }
  return [];
}

export interface AccountInput {
  username: string;
  kind: Kind;
  roles: readonly RoleName[];
  password: string;
  consorciadoId: string;
  scopes: readonly string[];
}

/** Rules of a new account beyond the contract's field rules. */
export function accountViolations(input: AccountInput): FieldViolation[] {
  const violations: FieldViolation[] = [...rolesViolations(input.kind, input.roles)];
  if (isClient(input.kind)) {
    if (input.password)
      violations.push({
        field: "password",
        ruleId: "password.client",
        message: "clients get a generated secret",
      });
  } else {
    violations.push(...passwordViolations(input.password, input.username));
  }
  if (input.kind === "CONSORCIADO" && !input.consorciadoId) {
    violations.push({
      field: "consorciado_id",
      ruleId: "consorciado_id.required",
      message: "required for CONSORCIADO accounts",
    });
  }
  if (input.kind !== "CONSORCIADO" && input.consorciadoId) {
    violations.push({
      field: "consorciado_id",
      ruleId: "consorciado_id.forbidden",
      message: "only CONSORCIADO accounts have one",
    });
  }
  if (input.kind !== "PARCEIRO" && input.scopes.length > 0) {
    violations.push({
      field: "scopes",
      ruleId: "scopes.forbidden",
      message: "only partner clients have scopes",
    });
  }
  return violations;
}

export function rolesViolations(kind: Kind, roles: readonly RoleName[]): FieldViolation[] {
  const allowed = ROLES_BY_KIND[kind];
  const wrong = roles.filter((role) => !allowed.includes(role));
  return wrong.length > 0
    ? [
        {
          field: "roles",
          ruleId: "roles.kind",
          message: `${kind} accounts may hold only ${allowed.join(", ")}`,
        },
      ]
    : [];
}

/**
 * How logins to one username from one source are held back after failures (OWASP credential
 * stuffing: per user and source, growing delays, ending by themselves). Other sources are
 * never held back by it, so nobody can lock an account out from elsewhere.
 */
export interface ThrottlePolicy {
  /** Consecutive failures from a source before it is held back. */
  maxFailures: number;
  /** The first hold; each further failure doubles it, up to maxSeconds. */
  holdSeconds: number;
  maxSeconds: number;
}

/** Seconds a source is held back after its `failures`-th consecutive failure (0: not held). */
export function holdSeconds(failures: number, policy: ThrottlePolicy): number {
  if (failures < policy.maxFailures) return 0;
  const doublings = Math.min(failures - policy.maxFailures, 30);
  return Math.min(policy.holdSeconds * 2 ** doublings, policy.maxSeconds);
}

/** Scopes a client asked for, checked against what it was granted (OAuth `invalid_scope`). */
export function grantedScopes(
  requested: string,
  granted: readonly string[],
): { scopes: string[] } | { invalid: string[] } {
  const asked = requested.split(" ").filter(Boolean);
  if (asked.length === 0) return { scopes: [...granted] };
  const invalid = asked.filter((scope) => !granted.includes(scope));
  return invalid.length > 0 ? { invalid } : { scopes: [...new Set(asked)] };
}
