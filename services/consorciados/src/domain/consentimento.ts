// Consents (LGPD art. 7 I, 8): an append-only history per purpose. Giving or withdrawing is
// always legal while the person's data exists (art. 8 §5: withdrawal at any time), and every
// record is evidence, so each emits ConsentimentoAlterado, a repeated one included.
import type { Status } from "./consorciado.ts";
import type { ConsorciadoEvent } from "./status.ts";

export type Finalidade = "MARKETING" | "COMPARTILHAMENTO_PARCEIROS" | "PESQUISA_SATISFACAO";
export type Canal = "PORTAL" | "APP" | "TELEFONE" | "PRESENCIAL" | "PARCEIRO";
/** Where a purpose stands: never asked, given, withdrawn. */
export type EstadoConsentimento = "SEM_REGISTRO" | "CONCEDIDO" | "REVOGADO";

export interface Consentimento {
  id: string;
  consorciadoId: string;
  finalidade: Finalidade;
  concedido: boolean;
  canal: Canal;
  registradoPor: string;
  createdAt: Date;
}

export interface ConsentimentoInput {
  finalidade: Finalidade;
  concedido: boolean;
  canal: Canal;
}

export type ConsentimentoTransition =
  | { estado: EstadoConsentimento; emits: ConsorciadoEvent[] }
  | { refused: string };

export function recordConsentimento(titular: Status, input: ConsentimentoInput): ConsentimentoTransition {
  if (titular === "ANONIMIZADO") return { refused: "this consorciado's data was anonymised" };
  return {
    estado: input.concedido ? "CONCEDIDO" : "REVOGADO",
    emits: [{ type: "ConsentimentoAlterado", ...input }],
  };
}

/** Where each purpose stands after a history, oldest first: the last record wins. */
export function estadoDe(
  history: readonly Pick<Consentimento, "finalidade" | "concedido">[],
  finalidade: Finalidade,
): EstadoConsentimento {
  const last = history.findLast((c) => c.finalidade === finalidade);
  return last === undefined ? "SEM_REGISTRO" : last.concedido ? "CONCEDIDO" : "REVOGADO";
}
