// An account as the use cases see it, and its lifecycle as a pure state machine: which commands
// move it where and the domain events each emits. Disabling a disabled account is legal and
// emits nothing (retries are harmless); only provisioning a service account enables one again.
import type { Kind, RoleName } from "./accounts.ts";

export type UsuarioStatus = "ATIVO" | "DESATIVADO";
export type UsuarioCommand = "DISABLE" | "ENABLE";

export interface Usuario {
  id: string;
  username: string;
  kind: Kind;
  roles: RoleName[];
  consorciadoId: string | null;
  scopes: string[];
  status: UsuarioStatus;
  /** Logins from some source are held back now. */
  locked: boolean;
  mfaEnabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

/** What the application publishes, as domain values (events/published.ts makes them messages). */
export type UsuarioEvent =
  | { type: "UsuarioCriado"; kind: Kind; roles: RoleName[]; consorciadoId: string }
  /** Its refresh tokens are revoked with it, and its access tokens refused everywhere. */
  | { type: "UsuarioDesativado" };

export const USUARIO_STATUSES: readonly UsuarioStatus[] = ["ATIVO", "DESATIVADO"];
export const USUARIO_COMMANDS: readonly UsuarioCommand[] = ["DISABLE", "ENABLE"];

export const statusOf = (account: { disabled: boolean }): UsuarioStatus =>
  account.disabled ? "DESATIVADO" : "ATIVO";

export function transition(
  from: UsuarioStatus,
  command: UsuarioCommand,
): { to: UsuarioStatus; emits: UsuarioEvent[] } {
  switch (command) {
    case "DISABLE":
      return from === "ATIVO"
        ? { to: "DESATIVADO", emits: [{ type: "UsuarioDesativado" }] }
        : { to: from, emits: [] };
    case "ENABLE":
      return { to: "ATIVO", emits: [] };
  }
}

/** Why a login failed, for operators (LoginFalhou); the caller hears less. */
export type LoginFailureReason =
  | "BAD_CREDENTIALS"
  | "LOCKED"
  | "DISABLED"
  | "MFA_REQUIRED"
  | "MFA_INVALID"
  | "RATE_LIMITED";

/** Whether an account in this status may obtain tokens at all (credentials aside). */
export const mayObtainTokens = (status: UsuarioStatus): boolean => status === "ATIVO";
