// The default Loteria Federal rule (DOMAIN.md §4), step by step. The same function serves
// the public SimulateSorteio and the real apuração, so anyone can recompute a draw.

/** Why a candidate did not win; the winner's motivo is empty. */
export const MOTIVO = {
  descartado: (numero: number, span: number) => `descartado: ${numero} >= span ${span}`,
  inelegivel: "cota inelegível",
  jaSorteada: "cota já sorteada",
  concluido: "sorteio já concluído",
} as const;

export interface Candidato {
  /** 1..10 in reading order. */
  ordem: number;
  /** The w digits as read from the ticket. */
  numero: number;
  /** 1..N, or 0 when discarded. */
  cota: number;
  motivo: string;
}

/** Variants the grupo may set (grupos' RegrasSorteio); the defaults are DOMAIN.md's rule. */
export interface RegraSorteio {
  /** Prizes that give candidates, 1..5 (default 5). */
  premiosConsiderados: number;
  /** Also the w digits ending one position earlier (default true: ten candidates). */
  deslocados: boolean;
}

export const REGRA_PADRAO: RegraSorteio = { premiosConsiderados: 5, deslocados: true };

/** Step 1: w, the number of digits of N (500 → 3, 80 → 2, 2000 → 4). */
export function digitos(quantidadeCotas: number): number {
  if (!Number.isSafeInteger(quantidadeCotas) || quantidadeCotas < 1)
    throw new RangeError(`quantidade de cotas must be a positive integer: ${quantidadeCotas}`);
  return String(quantidadeCotas).length;
}

/** Step 3's limit: floor(10^w / N) × N; candidates at or above it are discarded. */
export function span(quantidadeCotas: number): number {
  const limite = 10 ** digitos(quantidadeCotas);
  return Math.floor(limite / quantidadeCotas) * quantidadeCotas;
}

/** Step 3: a candidate's cota (equivalence mod N, 0 meaning N), or 0 when discarded. */
export function cotaDoCandidato(numero: number, quantidadeCotas: number): number {
  if (numero >= span(quantidadeCotas)) return 0;
  const resto = numero % quantidadeCotas;
  return resto === 0 ? quantidadeCotas : resto;
}

const PREMIO = /^[0-9]{5}$/;

/**
 * Step 2: for prize 1..5, its last w digits, then the w digits ending one position earlier.
 * A ticket reads as its number, so for w = 5 the shifted candidate starts with a 0.
 */
export function numerosCandidatos(
  premios: readonly string[],
  quantidadeCotas: number,
  regra: RegraSorteio = REGRA_PADRAO,
): number[] {
  if (premios.length !== 5 || !premios.every((p) => PREMIO.test(p)))
    throw new RangeError("premios must be the 5 Loteria Federal tickets, 5 digits each");
  const modulo = 10 ** digitos(quantidadeCotas);
  const numeros: number[] = [];
  for (const premio of premios.slice(0, regra.premiosConsiderados)) {
    const valor = Number(premio);
    numeros.push(valor % modulo);
    if (regra.deslocados) numeros.push(Math.floor(valor / 10) % modulo);
  }
  return numeros;
}

export interface Sorteio {
  candidatos: Candidato[];
  /** The first valid candidate's cota; 0 when all were discarded. */
  numeroBase: number;
  /** Winners in order (at most `quantidade`). */
  sorteadas: number[];
}

/**
 * Steps 3 to 5: draws up to `quantidade` cotas among those `elegivel` accepts. The first
 * candidates whose cota is eligible win, in order; if too few are, the next eligible cotas
 * above the base win, wrapping past N to 1. With no valid candidate there is no base and no draw.
 */
export function sortear(
  quantidadeCotas: number,
  premios: readonly string[],
  elegivel: (cota: number) => boolean,
  quantidade = 1,
  regra: RegraSorteio = REGRA_PADRAO,
): Sorteio {
  const limite = span(quantidadeCotas);
  const sorteadas: number[] = [];
  const ganhou = new Set<number>();
  let numeroBase = 0;
  const candidatos = numerosCandidatos(premios, quantidadeCotas, regra).map((numero, i): Candidato => {
    const cota = cotaDoCandidato(numero, quantidadeCotas);
    const candidato = { ordem: i + 1, numero, cota, motivo: "" };
    if (cota === 0) return { ...candidato, motivo: MOTIVO.descartado(numero, limite) };
    if (numeroBase === 0) numeroBase = cota;
    if (sorteadas.length >= quantidade) return { ...candidato, motivo: MOTIVO.concluido };
    if (ganhou.has(cota)) return { ...candidato, motivo: MOTIVO.jaSorteada };
    if (!elegivel(cota)) return { ...candidato, motivo: MOTIVO.inelegivel };
    sorteadas.push(cota);
    ganhou.add(cota);
    return candidato;
  });
  if (numeroBase !== 0) {
    // Step 4's fallback: the next eligible cotas strictly above the base, wrapping past N.
    for (let passo = 1; passo < quantidadeCotas && sorteadas.length < quantidade; passo++) {
      const cota = ((numeroBase - 1 + passo) % quantidadeCotas) + 1;
      if (!ganhou.has(cota) && elegivel(cota)) {
        sorteadas.push(cota);
        ganhou.add(cota);
      }
    }
  }
  return { candidatos, numeroBase, sorteadas };
}
