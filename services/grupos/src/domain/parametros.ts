// The parameters of a grupo (DOMAIN.md §2) and the rules a valid set follows. The contract
// checks each field's shape; this checks what needs the whole set (bounds that depend on other
// fields, the non-linear plan's sum, a schedule that holds) and fills the defaults.
import { type CivilDate, civilDate, Dec, isoDate, PERCENTUAL_PATTERN } from "@consorcio/domain";
import type { FieldViolation } from "@consorcio/platform";
import { cronogramaViolations } from "./cronograma.ts";

export const SEGMENTOS = [
  "IMOVEL",
  "VEICULO_LEVE",
  "VEICULO_PESADO",
  "MOTOCICLETA",
  "SERVICO",
  "OUTROS_BENS",
] as const;
export type Segmento = (typeof SEGMENTOS)[number];

export const INDICES = ["INCC", "IPCA", "IGPM", "TABELA_PRECO"] as const;
export type Indice = (typeof INDICES)[number];

export const TIPOS_LANCE = ["LIVRE", "FIXO", "EMBUTIDO"] as const;
export type TipoLance = (typeof TIPOS_LANCE)[number];

export const EXTRACOES = ["ULTIMA_ANTES_DA_ASSEMBLEIA", "DA_DATA_DA_ASSEMBLEIA"] as const;
export type Extracao = (typeof EXTRACOES)[number];

/** Every parameter of a grupo, as stored. Percentages are canonical decimal strings. */
export interface Parametros {
  codigo: string;
  nome: string;
  segmento: Segmento;
  bem: { descricao: string; codigo: string; precoCentavos: bigint };
  prazoMeses: number;
  quantidadeCotas: number;
  taxaAdministracao: string;
  fundoReserva: string;
  seguroMensal: string;
  /** Null: no TA advance. */
  taxaAntecipada: string | null;
  indice: Indice;
  diaVencimento: number;
  primeiraAssembleia: CivilDate;
  regrasLance: {
    tipos: TipoLance[];
    minimoLivre: string;
    /** Empty unless FIXO is allowed. */
    fixo: string;
    maximoEmbutido: string;
    prazoPagamentoDiasUteis: number;
  };
  regrasSorteio: {
    extracao: Extracao;
    premios: number;
    candidatosDeslocados: boolean;
    sorteioExcluidos: boolean;
  };
  contemplacoesPorAssembleia: number;
  parcelasAtrasoExclusao: number;
  encargos: { multa: string; jurosMensal: string; grupo: string };
  penalidadeRestituicao: string;
  /** Empty: linear plan. */
  fundoComumMensal: string[];
}

/** What a create or update may leave out; `withDefaults` fills it. */
export type ParametrosEntrada = Omit<
  Parametros,
  "segmento" | "indice" | "primeiraAssembleia" | "regrasSorteio"
> & {
  segmento: Segmento | undefined;
  indice: Indice | undefined;
  primeiraAssembleia: { year: number; month: number; day: number } | undefined;
  regrasSorteio: Omit<Parametros["regrasSorteio"], "extracao"> & { extracao: Extracao | undefined };
};

export const DEFAULTS = {
  contemplacoesPorAssembleia: 1,
  parcelasAtrasoExclusao: 3,
  multa: "2",
  jurosMensal: "1",
  encargosGrupo: "50",
  maximoEmbutido: "30",
  minimoLivre: "0",
  prazoPagamentoDiasUteis: 3,
  premios: 5,
  seguroMensal: "0",
  penalidadeRestituicao: "0",
} as const;

/** The paths a field-mask update names, and the part of Parametros each one is. */
export const PATHS = {
  codigo: "codigo",
  nome: "nome",
  segmento: "segmento",
  bem: "bem",
  "bem.descricao": "bem",
  "bem.codigo": "bem",
  "bem.preco_centavos": "bem",
  prazo_meses: "prazoMeses",
  quantidade_cotas: "quantidadeCotas",
  percentual_taxa_administracao: "taxaAdministracao",
  percentual_fundo_reserva: "fundoReserva",
  percentual_seguro_mensal: "seguroMensal",
  percentual_taxa_antecipada: "taxaAntecipada",
  indice: "indice",
  dia_vencimento: "diaVencimento",
  primeira_assembleia: "primeiraAssembleia",
  regras_lance: "regrasLance",
  regras_sorteio: "regrasSorteio",
  contemplacoes_por_assembleia: "contemplacoesPorAssembleia",
  parcelas_atraso_exclusao: "parcelasAtrasoExclusao",
  encargos: "encargos",
  percentual_penalidade_restituicao: "penalidadeRestituicao",
  percentuais_fundo_comum: "fundoComumMensal",
} as const satisfies Record<string, keyof Parametros>;

/** What may still change once the grupo is ATIVO: nothing the contract fixes. */
export const MUTAVEIS_APOS_ATIVACAO: ReadonlySet<string> = new Set(["nome"]);

/** The canonical text of a percentage ("15.00" → "15"), or the input when it is not one. */
export function canonical(text: string): string {
  return PERCENTUAL_PATTERN.test(text) ? new Dec(text).toFixed() : text;
}

/** Fills defaults and canonicalises percentages; the result is what validation checks. */
export function withDefaults(input: ParametrosEntrada): Parametros {
  const lance = input.regrasLance;
  return {
    codigo: input.codigo,
    nome: input.nome,
    segmento: input.segmento as Segmento,
    bem: { ...input.bem },
    prazoMeses: input.prazoMeses,
    quantidadeCotas: input.quantidadeCotas,
    taxaAdministracao: canonical(input.taxaAdministracao),
    fundoReserva: canonical(input.fundoReserva),
    seguroMensal: canonical(input.seguroMensal || DEFAULTS.seguroMensal),
    taxaAntecipada: input.taxaAntecipada === null ? null : canonical(input.taxaAntecipada),
    indice: input.indice as Indice,
    diaVencimento: input.diaVencimento,
    primeiraAssembleia: input.primeiraAssembleia as CivilDate,
    regrasLance: {
      tipos: [...lance.tipos],
      minimoLivre: canonical(lance.minimoLivre || DEFAULTS.minimoLivre),
      fixo: lance.fixo ? canonical(lance.fixo) : "",
      maximoEmbutido: canonical(lance.maximoEmbutido || DEFAULTS.maximoEmbutido),
      prazoPagamentoDiasUteis: lance.prazoPagamentoDiasUteis || DEFAULTS.prazoPagamentoDiasUteis,
    },
    regrasSorteio: {
      extracao: input.regrasSorteio.extracao ?? "ULTIMA_ANTES_DA_ASSEMBLEIA",
      premios: input.regrasSorteio.premios || DEFAULTS.premios,
      candidatosDeslocados: input.regrasSorteio.candidatosDeslocados,
      sorteioExcluidos: input.regrasSorteio.sorteioExcluidos,
    },
    contemplacoesPorAssembleia: input.contemplacoesPorAssembleia || DEFAULTS.contemplacoesPorAssembleia,
    parcelasAtrasoExclusao: input.parcelasAtrasoExclusao || DEFAULTS.parcelasAtrasoExclusao,
    encargos: {
      multa: canonical(input.encargos.multa || DEFAULTS.multa),
      jurosMensal: canonical(input.encargos.jurosMensal || DEFAULTS.jurosMensal),
      grupo: canonical(input.encargos.grupo || DEFAULTS.encargosGrupo),
    },
    penalidadeRestituicao: canonical(input.penalidadeRestituicao || DEFAULTS.penalidadeRestituicao),
    fundoComumMensal: input.fundoComumMensal.map(canonical),
  };
}

type Bound = { min: string; max: string; minExclusive?: boolean };

function percentViolation(value: string, field: string, bound: Bound, what: string): FieldViolation[] {
  if (!PERCENTUAL_PATTERN.test(value))
    return [{ field, ruleId: "percentual.pattern", message: `${what}: not a decimal percentage` }];
  const v = new Dec(value);
  const low = bound.minExclusive ? v.lte(bound.min) : v.lt(bound.min);
  if (low || v.gt(bound.max)) {
    const range = `${bound.minExclusive ? "above" : "at least"} ${bound.min} and at most ${bound.max}`;
    return [{ field, ruleId: "percentual.range", message: `${what} must be ${range}` }];
  }
  return [];
}

function intViolation(value: number, field: string, min: number, max: number, what: string) {
  return Number.isInteger(value) && value >= min && value <= max
    ? []
    : [{ field, ruleId: "range", message: `${what} must be ${min}..${max}` }];
}

/**
 * Every rule a parameter set breaks, with its request path (prefix `grupo`). `hoje` is today's
 * civil date: a new schedule cannot start in the past. Empty: valid.
 */
export function parametrosViolations(
  p: Parametros,
  hoje: CivilDate | undefined,
  prefix = "grupo",
): FieldViolation[] {
  const v: FieldViolation[] = [];
  const f = (path: string) => `${prefix}.${path}`;
  const required = (ok: boolean, path: string, what: string) => {
    if (!ok) v.push({ field: f(path), ruleId: "required", message: `${what} is required` });
  };
  required(/^[A-Z0-9][A-Z0-9-]{0,19}$/.test(p.codigo), "codigo", "codigo (A-Z, 0-9, -; up to 20)");
  required(p.segmento !== undefined, "segmento", "segmento");
  required(p.indice !== undefined, "indice", "indice");
  required(p.bem.descricao.trim().length >= 3, "bem.descricao", "bem.descricao (3+ characters)");
  if (p.bem.precoCentavos < 100_000n || p.bem.precoCentavos > 10_000_000_000n)
    v.push({
      field: f("bem.preco_centavos"),
      ruleId: "range",
      message: "preço must be R$ 1.000,00 to R$ 100.000.000,00",
    });
  v.push(...intViolation(p.prazoMeses, f("prazo_meses"), 1, 240, "prazo_meses"));
  v.push(...intViolation(p.quantidadeCotas, f("quantidade_cotas"), 2, 10_000, "quantidade_cotas"));
  v.push(...intViolation(p.diaVencimento, f("dia_vencimento"), 1, 28, "dia_vencimento"));
  v.push(
    ...percentViolation(
      p.taxaAdministracao,
      f("percentual_taxa_administracao"),
      { min: "0", max: "50", minExclusive: true },
      "taxa de administração",
    ),
    ...percentViolation(
      p.fundoReserva,
      f("percentual_fundo_reserva"),
      { min: "0", max: "20" },
      "fundo de reserva",
    ),
    ...percentViolation(
      p.seguroMensal,
      f("percentual_seguro_mensal"),
      { min: "0", max: "1" },
      "seguro mensal",
    ),
    ...percentViolation(
      p.penalidadeRestituicao,
      f("percentual_penalidade_restituicao"),
      { min: "0", max: "20" },
      "penalidade de restituição",
    ),
    ...percentViolation(p.encargos.multa, f("encargos.percentual_multa"), { min: "0", max: "2" }, "multa"),
    ...percentViolation(
      p.encargos.jurosMensal,
      f("encargos.percentual_juros_mensal"),
      { min: "0", max: "1" },
      "juros de mora",
    ),
    ...percentViolation(
      p.encargos.grupo,
      f("encargos.percentual_grupo"),
      { min: "50", max: "100" },
      "share of late charges to the grupo",
    ),
  );
  if (p.taxaAntecipada !== null) {
    const ta = PERCENTUAL_PATTERN.test(p.taxaAdministracao) ? p.taxaAdministracao : "0";
    v.push(
      ...percentViolation(
        p.taxaAntecipada,
        f("percentual_taxa_antecipada"),
        { min: "0", max: ta, minExclusive: true },
        "TA advance (part of the TA total)",
      ),
    );
  }
  // Lance rules.
  const lance = p.regrasLance;
  if (lance.tipos.length === 0)
    v.push({ field: f("regras_lance.tipos_permitidos"), ruleId: "required", message: "at least one type" });
  if (new Set(lance.tipos).size !== lance.tipos.length)
    v.push({ field: f("regras_lance.tipos_permitidos"), ruleId: "unique", message: "repeated type" });
  v.push(
    ...percentViolation(
      lance.minimoLivre,
      f("regras_lance.percentual_minimo_livre"),
      { min: "0", max: "99" },
      "minimum lance livre",
    ),
    ...percentViolation(
      lance.maximoEmbutido,
      f("regras_lance.percentual_maximo_embutido"),
      { min: "0", max: "50" },
      "embutido cap",
    ),
  );
  if (lance.tipos.includes("FIXO")) {
    if (!lance.fixo)
      v.push({
        field: f("regras_lance.percentual_fixo"),
        ruleId: "required",
        message: "required when TIPO_LANCE_FIXO is allowed",
      });
    else
      v.push(
        ...percentViolation(
          lance.fixo,
          f("regras_lance.percentual_fixo"),
          { min: "0", max: "99", minExclusive: true },
          "lance fixo",
        ),
      );
  } else if (lance.fixo)
    v.push({
      field: f("regras_lance.percentual_fixo"),
      ruleId: "unused",
      message: "only with TIPO_LANCE_FIXO allowed",
    });
  v.push(
    ...intViolation(
      lance.prazoPagamentoDiasUteis,
      f("regras_lance.prazo_pagamento_dias_uteis"),
      1,
      30,
      "lance payment deadline (business days)",
    ),
    ...intViolation(p.regrasSorteio.premios, f("regras_sorteio.premios_considerados"), 1, 5, "prizes"),
    ...intViolation(
      p.parcelasAtrasoExclusao,
      f("parcelas_atraso_exclusao"),
      1,
      12,
      "unpaid due dates before exclusion",
    ),
  );
  if (
    Number.isInteger(p.quantidadeCotas) &&
    (p.contemplacoesPorAssembleia < 1 ||
      p.contemplacoesPorAssembleia > Math.min(100, Math.max(1, p.quantidadeCotas)))
  )
    v.push({
      field: f("contemplacoes_por_assembleia"),
      ruleId: "range",
      message: "contemplations per assembleia must be 1..min(100, quantidade_cotas)",
    });
  // Non-linear plan: exactly one value per month, summing to exactly 100.
  if (p.fundoComumMensal.length > 0) {
    const path = f("percentuais_fundo_comum");
    if (p.fundoComumMensal.length !== p.prazoMeses)
      v.push({ field: path, ruleId: "plano.length", message: "one value per month of prazo" });
    else if (!p.fundoComumMensal.every((x) => PERCENTUAL_PATTERN.test(x)))
      v.push({ field: path, ruleId: "percentual.pattern", message: "not decimal percentages" });
    else if (!p.fundoComumMensal.reduce((sum, x) => sum.plus(x), new Dec(0)).eq(100))
      v.push({ field: path, ruleId: "plano.sum", message: "monthly fundo comum must sum to exactly 100" });
  }
  // The schedule.
  const primeira = p.primeiraAssembleia;
  let inicio: CivilDate | undefined;
  try {
    if (primeira) inicio = civilDate(primeira.year, primeira.month, primeira.day);
  } catch {
    // reported below
  }
  if (!inicio)
    v.push({ field: f("primeira_assembleia"), ruleId: "date", message: "a valid calendar date is required" });
  else if (inicio.day > 28)
    v.push({
      field: f("primeira_assembleia"),
      ruleId: "day",
      message: "day 1..28, so that every month has it",
    });
  else if (hoje && isoDate(inicio) <= isoDate(hoje))
    v.push({ field: f("primeira_assembleia"), ruleId: "future", message: "must be after today" });
  else if (inicio.year > 2200)
    v.push({ field: f("primeira_assembleia"), ruleId: "range", message: "too far away" });
  else if (v.every((x) => x.field !== f("dia_vencimento") && x.field !== f("prazo_meses")))
    v.push(...cronogramaViolations(p, prefix));
  return v;
}
