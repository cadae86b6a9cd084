// The state machine of a cota. Each transition is owned by exactly one cause (a custom method
// or a consumed event); the pair (situacao, contemplada) is the state, since a contemplated cota
// may fall into arrears (INADIMPLENTE and contemplated) and is then never excluded.
import { type CivilDate, daysBetween } from "@consorcio/domain";

export const SITUACOES = [
  "ATIVA",
  "INADIMPLENTE",
  "CONTEMPLADA",
  "EXCLUIDA",
  "QUITADA",
  "CANCELADA",
] as const;
export type Situacao = (typeof SITUACOES)[number];

export const CAUSAS = [
  "ADESAO",
  "DESISTENCIA",
  "INADIMPLENCIA",
  "REGULARIZACAO",
  "EXCLUSAO",
  "CONTEMPLACAO",
  "CONTEMPLACAO_CANCELADA",
  "QUITACAO",
  "CESSAO",
] as const;
export type Causa = (typeof CAUSAS)[number];

/** Who owns each cause: the RPC or the event that alone may apply it. */
export const DONO: Record<Causa, string> = {
  ADESAO: "CotaService.AderirGrupo",
  DESISTENCIA: "CotaService.DesistirCota",
  INADIMPLENCIA: "consorcio.financeiro.v1.InadimplenciaDetectada",
  REGULARIZACAO: "consorcio.financeiro.v1.InadimplenciaRegularizada",
  EXCLUSAO: "consorcio.financeiro.v1.CotaExcluida",
  CONTEMPLACAO: "consorcio.sorteios.v1.ContemplacaoProcessada",
  CONTEMPLACAO_CANCELADA: "consorcio.sorteios.v1.ContemplacaoCancelada",
  QUITACAO: "financeiro (quitação of a contemplated cota)",
  CESSAO: "CotaService.TransferCota",
};

/** Days after adesão within which a withdrawal is refunded in full (CDC art. 49). */
export const PRAZO_DESISTENCIA_DIAS = 7;

export interface EstadoCota {
  situacao: Situacao;
  contemplada: boolean;
  /** The contemplação in force (credit, or restitution of an excluded cota). */
  contemplacaoId: string | null;
}

export type Comando =
  | { causa: "DESISTENCIA"; dataAdesao: CivilDate; hoje: CivilDate }
  | { causa: "INADIMPLENCIA" }
  | { causa: "REGULARIZACAO" }
  | { causa: "EXCLUSAO" }
  | { causa: "CONTEMPLACAO"; contemplacaoId: string; restituicao: boolean }
  | { causa: "CONTEMPLACAO_CANCELADA"; contemplacaoId: string }
  | { causa: "QUITACAO" };

export type Resultado =
  | { tipo: "alterada"; estado: EstadoCota }
  /** Already so (a redelivered or repeated fact): nothing to do. */
  | { tipo: "inalterada" }
  | { tipo: "ilegal"; motivo: string };

export const ADERIDA: EstadoCota = { situacao: "ATIVA", contemplada: false, contemplacaoId: null };

const alterada = (estado: EstadoCota): Resultado => ({ tipo: "alterada", estado });
const inalterada: Resultado = { tipo: "inalterada" };
const ilegal = (estado: EstadoCota, comando: Comando, why?: string): Resultado => ({
  tipo: "ilegal",
  motivo: `${comando.causa} is not allowed for a cota ${estado.situacao}${estado.contemplada && estado.situacao !== "CONTEMPLADA" ? " (contemplated)" : ""}${why ? `: ${why}` : ""}`,
});

/** The state after `comando`, or that nothing changes, or why it is illegal (FailedPrecondition). */
export function aplicar(estado: EstadoCota, comando: Comando): Resultado {
  const { situacao, contemplada } = estado;
  switch (comando.causa) {
    case "DESISTENCIA": {
      if (situacao !== "ATIVA" || contemplada) return ilegal(estado, comando);
      const dias = daysBetween(comando.dataAdesao, comando.hoje);
      if (dias > PRAZO_DESISTENCIA_DIAS)
        return ilegal(estado, comando, `more than ${PRAZO_DESISTENCIA_DIAS} days after adesão`);
      return alterada({ situacao: "CANCELADA", contemplada: false, contemplacaoId: null });
    }
    case "INADIMPLENCIA":
      if (situacao === "INADIMPLENTE") return inalterada;
      if (situacao === "ATIVA" || situacao === "CONTEMPLADA")
        return alterada({ ...estado, situacao: "INADIMPLENTE" });
      return ilegal(estado, comando);
    case "REGULARIZACAO":
      if (situacao === "INADIMPLENTE")
        return alterada({ ...estado, situacao: contemplada ? "CONTEMPLADA" : "ATIVA" });
      if (situacao === "ATIVA" || situacao === "CONTEMPLADA") return inalterada;
      return ilegal(estado, comando);
    case "EXCLUSAO":
      if (situacao === "EXCLUIDA") return inalterada;
      if (contemplada) return ilegal(estado, comando, "a contemplated cota is never excluded");
      // ATIVA too: financeiro owns the count of unpaid due dates, and its events may cross.
      if (situacao === "INADIMPLENTE" || situacao === "ATIVA")
        return alterada({ situacao: "EXCLUIDA", contemplada: false, contemplacaoId: null });
      return ilegal(estado, comando);
    case "CONTEMPLACAO":
      if (estado.contemplacaoId === comando.contemplacaoId) return inalterada;
      if (comando.restituicao) {
        if (situacao !== "EXCLUIDA" || estado.contemplacaoId)
          return ilegal(estado, comando, "only an excluded cota is drawn for restitution, once");
        return alterada({ ...estado, contemplacaoId: comando.contemplacaoId });
      }
      if (situacao !== "ATIVA" || contemplada) return ilegal(estado, comando);
      return alterada({ situacao: "CONTEMPLADA", contemplada: true, contemplacaoId: comando.contemplacaoId });
    case "CONTEMPLACAO_CANCELADA":
      // Another contemplação, or one already reverted: nothing to undo.
      if (estado.contemplacaoId !== comando.contemplacaoId) return inalterada;
      if (situacao === "CONTEMPLADA")
        return alterada({ situacao: "ATIVA", contemplada: false, contemplacaoId: null });
      if (situacao === "INADIMPLENTE" || situacao === "EXCLUIDA")
        return alterada({ situacao, contemplada: false, contemplacaoId: null });
      return ilegal(estado, comando);
    case "QUITACAO":
      if (situacao === "QUITADA") return inalterada;
      if (situacao === "CONTEMPLADA") return alterada({ ...estado, situacao: "QUITADA" });
      return ilegal(estado, comando, "only a contemplated cota up to date is paid off");
  }
}

/** Why a cessão is refused, or undefined: only a cota in good standing changes hands. */
export function cessaoRecusa(estado: EstadoCota): string | undefined {
  return estado.situacao === "ATIVA" || estado.situacao === "CONTEMPLADA"
    ? undefined
    : `a cota ${estado.situacao} cannot be transferred`;
}

/** Whether the cota holds its number (a cancelled one frees it). */
export function ocupaNumero(situacao: Situacao): boolean {
  return situacao !== "CANCELADA";
}
