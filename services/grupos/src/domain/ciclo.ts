// The lifecycle of a grupo: EM_FORMACAO → ATIVO (first assembleia held) → EM_ENCERRAMENTO (after
// the last assembleia) → ENCERRADO. Each step is one custom method; anything else is refused.
import { type CivilDate, compareDates, isoDate } from "@consorcio/domain";
import type { DataCronograma } from "./cronograma.ts";
import { MUTAVEIS_APOS_ATIVACAO } from "./parametros.ts";

export const GRUPO_STATUS = ["EM_FORMACAO", "ATIVO", "EM_ENCERRAMENTO", "ENCERRADO"] as const;
export type GrupoStatus = (typeof GRUPO_STATUS)[number];

export type PassoCiclo = "ATIVAR" | "INICIAR_ENCERRAMENTO" | "ENCERRAR";

export interface SituacaoGrupo {
  status: GrupoStatus;
  datas: readonly DataCronograma[];
  /** Cotas taken and not cancelled. */
  cotasOcupadas: number;
}

export type Resultado = { status: GrupoStatus } | { recusa: string };

const ORIGEM: Record<PassoCiclo, GrupoStatus> = {
  ATIVAR: "EM_FORMACAO",
  INICIAR_ENCERRAMENTO: "ATIVO",
  ENCERRAR: "EM_ENCERRAMENTO",
};
const DESTINO: Record<PassoCiclo, GrupoStatus> = {
  ATIVAR: "ATIVO",
  INICIAR_ENCERRAMENTO: "EM_ENCERRAMENTO",
  ENCERRAR: "ENCERRADO",
};

/** The status after `passo`, or why it is refused (the caller answers FailedPrecondition). */
export function passoCiclo(grupo: SituacaoGrupo, passo: PassoCiclo, hoje: CivilDate): Resultado {
  if (grupo.status !== ORIGEM[passo])
    return { recusa: `a grupo ${grupo.status} cannot ${passo.toLowerCase().replaceAll("_", " ")}` };
  if (passo === "ATIVAR") {
    const primeira = grupo.datas[0];
    if (primeira && compareDates(hoje, primeira.assembleia) < 0)
      return { recusa: `the first assembleia is on ${isoDate(primeira.assembleia)}` };
    if (grupo.cotasOcupadas < 1) return { recusa: "a grupo without cotas cannot be constituted" };
  }
  if (passo === "INICIAR_ENCERRAMENTO") {
    const ultima = grupo.datas.at(-1);
    if (ultima && compareDates(hoje, ultima.assembleia) < 0)
      return { recusa: `the last assembleia is on ${isoDate(ultima.assembleia)}` };
  }
  return { status: DESTINO[passo] };
}

/** Why an update of these paths is refused in this status, or undefined when it is allowed. */
export function updateRecusa(status: GrupoStatus, paths: readonly string[]): string | undefined {
  if (status === "EM_FORMACAO") return undefined;
  if (status === "ENCERRADO") return "a grupo ENCERRADO cannot change";
  const fixed = paths.filter((path) => !MUTAVEIS_APOS_ATIVACAO.has(path));
  return fixed.length > 0
    ? `parameters fixed by the contract cannot change once the grupo is ${status}: ${fixed.join(", ")}`
    : undefined;
}

/**
 * Why an adesão is refused, or undefined: a grupo takes members while forming, and once ATIVO
 * while an assembleia is still ahead (a vaga left by a withdrawal).
 */
export function adesaoRecusa(
  status: GrupoStatus,
  mesPrimeiraParcela: number,
  prazo: number,
): string | undefined {
  if (status === "EM_FORMACAO") return undefined;
  if (status === "ATIVO") return mesPrimeiraParcela <= prazo ? undefined : "the grupo has no assembleia left";
  return `a grupo ${status} takes no adesão`;
}
