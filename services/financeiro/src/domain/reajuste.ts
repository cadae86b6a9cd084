// Reajuste (DOMAIN.md §1): the price of the bem follows the grupo's index on the grupo's
// anniversary; open parcelas are recomputed from their percentages; the difference between the
// price a bill used and the price at that month's assembleia goes on the next bill (Res. 285 art. 25-A).
import { type CivilDate, Dec, roundCentavos } from "@consorcio/domain";
import { requireInput } from "./erros.ts";
import { computeParcela, type Percentuais, type ValoresParcela } from "./plano.ts";

export interface MesReferencia {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
}

/** Accumulated % of monthly index values in % (["0.5", "0.4"] → 0.902): Π(1 + v/100) − 1, exact. */
export function indiceAcumulado(valoresMensais: readonly Dec[]): Dec {
  let fator = new Dec(1);
  valoresMensais.forEach((v, i) => {
    requireInput(v.isFinite() && v.gt(-100), `valoresMensais[${i}]`, "indice.range", "must be > −100");
    fator = fator.times(v.dividedBy(100).plus(1));
  });
  return fator.minus(1).times(100);
}

export interface PrecoReajustado {
  readonly precoCentavos: bigint;
  /** The accumulated variation applied, in %. */
  readonly percentualAcumulado: Dec;
}

/** The new price: old × (1 + accumulated), rounded half-up to the centavo. A negative index lowers it. */
export function reajustarPreco(precoCentavos: bigint, valoresMensais: readonly Dec[]): PrecoReajustado {
  requireInput(precoCentavos > 0n, "precoCentavos", "preco.positive", "must be > 0");
  const percentualAcumulado = indiceAcumulado(valoresMensais);
  const novo = roundCentavos(
    new Dec(precoCentavos.toString()).times(percentualAcumulado.dividedBy(100).plus(1)),
  );
  return { precoCentavos: novo, percentualAcumulado };
}

/** Whether `data` falls in an anniversary month of a grupo constituted on `constituicao` (12, 24, … months on). */
export function isAniversario(constituicao: CivilDate, data: CivilDate): boolean {
  return data.month === constituicao.month && data.year > constituicao.year;
}

/**
 * The 12 reference months whose index values make the reajuste of an anniversary: the 12 months
 * ending `defasagemMeses` before it (indices are published late; with the default 1, an
 * anniversary in March 2026 uses March 2025 … February 2026).
 */
export function mesesDoReajuste(aniversario: MesReferencia, defasagemMeses = 1): MesReferencia[] {
  requireInput(
    Number.isInteger(defasagemMeses) && defasagemMeses >= 0,
    "defasagemMeses",
    "defasagem.range",
    "must be an integer ≥ 0",
  );
  const last = aniversario.year * 12 + (aniversario.month - 1) - defasagemMeses;
  return Array.from({ length: 12 }, (_, i) => {
    const index = last - 11 + i;
    return { year: Math.floor(index / 12), month: (index % 12) + 1 };
  });
}

/** "2026-03": the key of an index value's reference month. */
export function chaveMes(m: MesReferencia): string {
  return `${String(m.year).padStart(4, "0")}-${String(m.month).padStart(2, "0")}`;
}

export interface ReajusteDoAniversario extends PrecoReajustado {
  /** The reference months used, oldest first. */
  readonly meses: readonly MesReferencia[];
}

/**
 * The anniversary's reajuste from the index values published by configuracao (keyed "YYYY-MM",
 * monthly variation in %): the 12 months of mesesDoReajuste, all required (a missing month is an
 * EngineInputError naming it, never a silent zero).
 */
export function reajusteDoAniversario(input: {
  readonly precoCentavos: bigint;
  readonly aniversario: MesReferencia;
  readonly valores: ReadonlyMap<string, Dec>;
  readonly defasagemMeses?: number;
}): ReajusteDoAniversario {
  const meses = mesesDoReajuste(input.aniversario, input.defasagemMeses ?? 1);
  const valores = meses.map((m) => {
    const v = input.valores.get(chaveMes(m));
    requireInput(v !== undefined, "valores", "indice.missing", `no index value for ${chaveMes(m)}`);
    return v as Dec;
  });
  return { ...reajustarPreco(input.precoCentavos, valores), meses };
}

export interface ParcelaAberta {
  readonly percentuais: Percentuais;
  readonly seguroMensal?: Dec | undefined;
}

/** Open parcelas at the new price, each from its own percentages. */
export function recomputeParcelas(
  abertas: readonly ParcelaAberta[],
  novoPrecoCentavos: bigint,
): ValoresParcela[] {
  requireInput(novoPrecoCentavos > 0n, "novoPrecoCentavos", "preco.positive", "must be > 0");
  return abertas.map((p) => computeParcela(p.percentuais, novoPrecoCentavos, p.seguroMensal ?? new Dec(0)));
}

export interface DiferencaPreco {
  /** Signed, per component: + is charged on the next bill, − credited. */
  readonly fundoComumCentavos: bigint;
  readonly taxaAdministracaoCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
  readonly seguroCentavos: bigint;
  readonly antecipacaoTaxaCentavos: bigint;
  readonly totalCentavos: bigint;
}

/**
 * Res. 285 art. 25-A: a bill charged at `precoCobradoCentavos`, while the price at that month's
 * assembleia was `precoAssembleiaCentavos`. The difference, per component, goes on the next bill.
 */
export function diferencaPreco(
  parcela: ParcelaAberta,
  precoCobradoCentavos: bigint,
  precoAssembleiaCentavos: bigint,
): DiferencaPreco {
  requireInput(precoCobradoCentavos > 0n, "precoCobradoCentavos", "preco.positive", "must be > 0");
  requireInput(precoAssembleiaCentavos > 0n, "precoAssembleiaCentavos", "preco.positive", "must be > 0");
  const seguro = parcela.seguroMensal ?? new Dec(0);
  const cobrado = computeParcela(parcela.percentuais, precoCobradoCentavos, seguro);
  const devido = computeParcela(parcela.percentuais, precoAssembleiaCentavos, seguro);
  return {
    fundoComumCentavos: devido.fundoComumCentavos - cobrado.fundoComumCentavos,
    taxaAdministracaoCentavos: devido.taxaAdministracaoCentavos - cobrado.taxaAdministracaoCentavos,
    fundoReservaCentavos: devido.fundoReservaCentavos - cobrado.fundoReservaCentavos,
    seguroCentavos: devido.seguroCentavos - cobrado.seguroCentavos,
    antecipacaoTaxaCentavos: devido.antecipacaoTaxaCentavos - cobrado.antecipacaoTaxaCentavos,
    totalCentavos: devido.totalCentavos - cobrado.totalCentavos,
  };
}

/** The next bill with a 25-A difference carried into it (a credit may lower a component, never below 0 in total). */
export function aplicarDiferenca(proxima: ValoresParcela, diferenca: DiferencaPreco): ValoresParcela {
  const r = {
    fundoComumCentavos: proxima.fundoComumCentavos + diferenca.fundoComumCentavos,
    taxaAdministracaoCentavos: proxima.taxaAdministracaoCentavos + diferenca.taxaAdministracaoCentavos,
    fundoReservaCentavos: proxima.fundoReservaCentavos + diferenca.fundoReservaCentavos,
    seguroCentavos: proxima.seguroCentavos + diferenca.seguroCentavos,
    antecipacaoTaxaCentavos: proxima.antecipacaoTaxaCentavos + diferenca.antecipacaoTaxaCentavos,
    totalCentavos: proxima.totalCentavos + diferenca.totalCentavos,
  };
  requireInput(
    r.fundoComumCentavos >= 0n &&
      r.taxaAdministracaoCentavos >= 0n &&
      r.fundoReservaCentavos >= 0n &&
      r.seguroCentavos >= 0n &&
      r.antecipacaoTaxaCentavos >= 0n,
    "diferenca",
    "diferenca.exceeds_bill",
    "the credit exceeds the next bill",
  );
  return r;
}

export interface ValorComRendimento {
  readonly valorCentavos: bigint;
  readonly rendimentoCentavos: bigint;
}

/**
 * Financial yield on money the grupo holds for a cota (a credit not yet used, Lei art. 24 §1; a
 * restitution): compounded monthly rates in % (e.g. the savings or CDI rate of each month).
 */
export function aplicarRendimento(valorCentavos: bigint, taxasMensais: readonly Dec[]): ValorComRendimento {
  requireInput(valorCentavos >= 0n, "valorCentavos", "valor.non_negative", "must be ≥ 0");
  const fator = indiceAcumulado(taxasMensais).dividedBy(100).plus(1);
  const novo = roundCentavos(new Dec(valorCentavos.toString()).times(fator));
  return { valorCentavos: novo, rendimentoCentavos: novo - valorCentavos };
}
