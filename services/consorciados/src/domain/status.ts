// The consorciado's lifecycle as a pure state machine: which commands move it where, and the
// domain events each move emits. A command that changes nothing (disabling an INATIVO one,
// a second erasure request) is legal and emits nothing, so retries and replicas are harmless.
import type { Status } from "./consorciado.ts";

export type StatusCommand = "DISABLE" | "REQUEST_ERASURE" | "ANONYMIZE";

/** What the application publishes, as domain values (events/published.ts makes them messages). */
export type ConsorciadoEvent =
  | { type: "ConsorciadoCriado"; tipo: "FISICA" | "JURIDICA" }
  | { type: "ConsorciadoAtualizado"; campos: string[]; status?: Status }
  | { type: "DadosAnonimizados" }
  | {
      type: "ConsentimentoAlterado";
      finalidade: string;
      concedido: boolean;
      canal: string;
    };

export type Transition = { to: Status; emits: ConsorciadoEvent[] } | { refused: string };

export const STATUSES: readonly Status[] = ["ATIVO", "INATIVO", "RESTRITO", "ANONIMIZADO"];
export const COMMANDS: readonly StatusCommand[] = ["DISABLE", "REQUEST_ERASURE", "ANONYMIZE"];

const stay = (status: Status): Transition => ({ to: status, emits: [] });
const move = (to: Status): Transition => ({
  to,
  emits: [{ type: "ConsorciadoAtualizado", campos: ["status"], status: to }],
});

export function transition(from: Status, command: StatusCommand): Transition {
  switch (command) {
    case "DISABLE":
      // Kept for the legal retention; a restricted or anonymised record stays as it is.
      return from === "ATIVO" ? move("INATIVO") : stay(from);
    case "REQUEST_ERASURE":
      // Processing is restricted at once (LGPD art. 18); the shredding waits for the retention.
      return from === "ATIVO" || from === "INATIVO" ? move("RESTRITO") : stay(from);
    case "ANONYMIZE":
      if (from === "RESTRITO") return { to: "ANONIMIZADO", emits: [{ type: "DadosAnonimizados" }] };
      if (from === "ANONIMIZADO") return stay(from);
      return { refused: "anonymisation follows an erasure request" };
  }
}

/** Why the personal data of a consorciado in this status cannot change, if it cannot. */
export function dataChangeRefusal(status: Status): string | undefined {
  if (status === "RESTRITO" || status === "ANONIMIZADO")
    return `processing of this consorciado is ${status.toLowerCase()}`;
  return undefined;
}
