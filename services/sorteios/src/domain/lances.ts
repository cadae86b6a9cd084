// Lance rules (DOMAIN.md §4): validation against the grupo's rules and the ranking.
import { Dec, parsePercentual } from "@consorcio/domain";

export type TipoLance = "LIVRE" | "FIXO" | "EMBUTIDO";

const CEM = new Dec(100);

/** The grupo's lance rules, percentages of the credit. */
export interface RegrasLance {
  tiposPermitidos: readonly TipoLance[];
  /** Minimum of a lance livre (an embutido is a livre lance): strictly above it. "0": any. */
  minimoLivre: Dec;
  /** The fixed lance, when the grupo has one. */
  fixo?: Dec | undefined;
  /** Cap of the embutido part (default 30). */
  maximoEmbutido: Dec;
}

export interface PropostaLance {
  tipo: TipoLance;
  /** Total lance; for FIXO the grupo's percentage. */
  percentual: Dec;
  /** The part taken from the credit (EMBUTIDO), zero otherwise. */
  embutido: Dec;
}

/** Why a lance is refused under the grupo's rules, or undefined when it stands. */
export function recusaLance(regras: RegrasLance, lance: PropostaLance): string | undefined {
  if (!regras.tiposPermitidos.includes(lance.tipo)) return `lance ${lance.tipo} não permitido no grupo`;
  if (lance.percentual.gt(CEM)) return "lance acima de 100% do crédito";
  if (lance.tipo === "FIXO") {
    if (!regras.fixo) return "o grupo não tem lance fixo";
    if (!lance.percentual.eq(regras.fixo)) return `o lance fixo do grupo é ${regras.fixo.toFixed()}%`;
    if (!lance.embutido.isZero()) return "lance fixo sem parte embutida";
    return undefined;
  }
  if (lance.tipo === "LIVRE" && !lance.embutido.isZero()) return "lance livre sem parte embutida";
  if (lance.tipo === "EMBUTIDO") {
    if (lance.embutido.isZero()) return "lance embutido sem parte embutida";
    if (lance.embutido.gt(regras.maximoEmbutido))
      return `parte embutida acima do limite de ${regras.maximoEmbutido.toFixed()}% do crédito`;
    if (lance.embutido.gt(lance.percentual)) return "parte embutida acima do lance";
  }
  if (lance.percentual.isZero() || !lance.percentual.gt(regras.minimoLivre))
    return `lance abaixo do mínimo de ${regras.minimoLivre.toFixed()}% do crédito`;
  return undefined;
}

/** Parses a lance's percentage text ("" counts as 0). */
export function percentualDe(texto: string): Dec {
  return parsePercentual(texto === "" ? "0" : texto);
}

export interface LanceOfertado {
  cota: number;
  tipo: TipoLance;
  percentual: Dec;
  embutido: Dec;
}

/** Distance of a cota to the base number; with no base (0), to 0. */
export function distancia(cota: number, base: number): number {
  return Math.abs(cota - base);
}

/** Tie-break: nearer the base first; at equal distance, the higher cota number. */
export function porProximidade(base: number) {
  return (a: { cota: number }, b: { cota: number }) =>
    distancia(a.cota, base) - distancia(b.cota, base) || b.cota - a.cota;
}

/**
 * The order lances are contemplated in: every lance fixo (ties by proximity to the base),
 * then livre and embutido lances by percentage, highest first, ties by proximity.
 */
export function classificarLances<L extends LanceOfertado>(lances: readonly L[], base: number): L[] {
  const proximidade = porProximidade(base);
  const fixos = lances.filter((l) => l.tipo === "FIXO").sort(proximidade);
  // Exact fixed-point keys (percentages have at most 10 decimals): one conversion per lance
  // instead of a Decimal built in every comparison.
  const livres = lances
    .filter((l) => l.tipo !== "FIXO")
    .map((l) => ({ l, chave: BigInt(l.percentual.toFixed(10).replace(".", "")) }))
    .sort((a, b) => (a.chave === b.chave ? proximidade(a.l, b.l) : a.chave > b.chave ? -1 : 1))
    .map(({ l }) => l);
  return [...fixos, ...livres];
}
