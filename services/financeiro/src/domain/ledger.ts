// The per-grupo double-entry ledger (DOMAIN.md §3, Lei art. 3): a grupo's money never mixes with
// another grupo's or the administradora's. Each line is a signed amount: + debit, − credit; every
// entry sums to zero, so the balances of a grupo always sum to zero.
//
// Signs of the balances: CAIXA (the grupo's bank account) is an asset, a debit (positive) balance;
// the funds and the amounts owed (FUNDO_COMUM, TAXA_ADMINISTRACAO, CREDITOS_A_PAGAR, …) have credit
// (negative) balances. What the funds hold is −balance.
import { EngineInputError } from "./erros.ts";

export const CONTAS = [
  "CAIXA",
  "FUNDO_COMUM",
  "FUNDO_RESERVA",
  /** Due to the administradora, until passed on (repasse). */
  "TAXA_ADMINISTRACAO",
  /** Due to the insurer, until passed on. */
  "SEGURO",
  "ENCARGOS_GRUPO",
  "ENCARGOS_ADMINISTRADORA",
  "CREDITOS_A_PAGAR",
  "RESTITUICOES_A_PAGAR",
  "RECURSOS_NAO_PROCURADOS",
  /** Money received that no parcela owes (overpayment, payment of a cancelled parcela): refunded or credited, never kept silently. */
  "VALORES_A_DEVOLVER",
] as const;
export type Conta = (typeof CONTAS)[number];

export const TIPOS_LANCAMENTO = [
  "PAGAMENTO_PARCELA",
  "ENCARGOS",
  "CREDITO_CONTEMPLACAO",
  "ESTORNO_CREDITO_CONTEMPLACAO",
  "PAGAMENTO_LANCE",
  "LIBERACAO_CREDITO",
  "RESTITUICAO_CALCULADA",
  "PAGAMENTO_RESTITUICAO",
  "DEVOLUCAO_DESISTENCIA",
  "RECEBIMENTO_A_DEVOLVER",
  "DEVOLUCAO_VALORES",
  "REPASSE_TAXA_ADMINISTRACAO",
  "REPASSE_SEGURO",
  "REPASSE_ENCARGOS_ADMINISTRADORA",
  "RENDIMENTO_FINANCEIRO",
  "TARIFA_BANCARIA",
  "RECURSOS_NAO_PROCURADOS",
  "ESTORNO",
  "LOTE_BAIXA",
] as const;
export type TipoLancamento = (typeof TIPOS_LANCAMENTO)[number];

export interface LinhaLancamento {
  readonly conta: Conta;
  /** + debit, − credit. Never 0. */
  readonly valorCentavos: bigint;
}

export interface Lancamento {
  readonly tipo: TipoLancamento;
  readonly linhas: readonly LinhaLancamento[];
}

export class UnbalancedEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnbalancedEntryError";
  }
}

const CONTA_SET = new Set<string>(CONTAS);

/** The only way to make an entry: lines of 0 are dropped; an unbalanced, empty or unknown-account entry is refused. */
export function buildLancamento(tipo: TipoLancamento, linhas: readonly LinhaLancamento[]): Lancamento {
  const kept = linhas.filter((l) => l.valorCentavos !== 0n);
  for (const l of kept)
    if (!CONTA_SET.has(l.conta)) throw new UnbalancedEntryError(`unknown account ${String(l.conta)}`);
  if (kept.length < 2) throw new UnbalancedEntryError(`${tipo}: an entry needs at least two non-zero lines`);
  const sum = kept.reduce((s, l) => s + l.valorCentavos, 0n);
  if (sum !== 0n) throw new UnbalancedEntryError(`${tipo}: debits and credits differ by ${sum} centavos`);
  return { tipo, linhas: kept };
}

const debit = (conta: Conta, valorCentavos: bigint): LinhaLancamento => ({ conta, valorCentavos });
const credit = (conta: Conta, valorCentavos: bigint): LinhaLancamento => ({
  conta,
  valorCentavos: -valorCentavos,
});

function requireAmounts(amounts: Record<string, bigint | undefined>): void {
  for (const [field, value] of Object.entries(amounts))
    if (value !== undefined && value < 0n)
      throw new EngineInputError(field, "valor.non_negative", "must be ≥ 0");
}

export interface ComposicaoPagamento {
  readonly fundoComumCentavos: bigint;
  readonly taxaAdministracaoCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
  readonly seguroCentavos?: bigint;
  /** The TA advance: booked to TAXA_ADMINISTRACAO with the monthly TA. */
  readonly antecipacaoTaxaCentavos?: bigint;
}

/** A paid parcela (or any payment with this composition, e.g. a partial one): cash in, split into the funds. */
export function pagamentoParcela(c: ComposicaoPagamento): Lancamento {
  requireAmounts({ ...c });
  const taxa = c.taxaAdministracaoCentavos + (c.antecipacaoTaxaCentavos ?? 0n);
  const seguro = c.seguroCentavos ?? 0n;
  const total = c.fundoComumCentavos + taxa + c.fundoReservaCentavos + seguro;
  return buildLancamento("PAGAMENTO_PARCELA", [
    debit("CAIXA", total),
    credit("FUNDO_COMUM", c.fundoComumCentavos),
    credit("TAXA_ADMINISTRACAO", taxa),
    credit("FUNDO_RESERVA", c.fundoReservaCentavos),
    credit("SEGURO", seguro),
  ]);
}

/** Late charges received, split between the grupo and the administradora (see splitEncargos). */
export function encargosRecebidos(s: { grupoCentavos: bigint; administradoraCentavos: bigint }): Lancamento {
  requireAmounts({ ...s });
  return buildLancamento("ENCARGOS", [
    debit("CAIXA", s.grupoCentavos + s.administradoraCentavos),
    credit("ENCARGOS_GRUPO", s.grupoCentavos),
    credit("ENCARGOS_ADMINISTRADORA", s.administradoraCentavos),
  ]);
}

export interface CreditoContemplacao {
  /** The credit (price of the bem at the assembleia). */
  readonly creditoCentavos: bigint;
  /** Part of the lance taken from the credit itself: the credit payable shrinks by it. */
  readonly lanceEmbutidoCentavos?: bigint;
  /** Part of the cost the FR covers (an FC shortfall on a sorteio contemplation). */
  readonly doFundoReservaCentavos?: bigint;
}

/** Books a contemplation's credit: the funds' money becomes owed to the contemplated cota. */
export function creditoContemplacao(c: CreditoContemplacao): Lancamento {
  requireAmounts({ ...c });
  const embutido = c.lanceEmbutidoCentavos ?? 0n;
  const fr = c.doFundoReservaCentavos ?? 0n;
  const liquido = c.creditoCentavos - embutido;
  if (liquido < 0n)
    throw new EngineInputError(
      "lanceEmbutidoCentavos",
      "lance.embutido_exceeds_credit",
      "exceeds the credit",
    );
  if (fr > liquido)
    throw new EngineInputError("doFundoReservaCentavos", "credito.fr_exceeds_cost", "exceeds the credit");
  return buildLancamento("CREDITO_CONTEMPLACAO", [
    debit("FUNDO_COMUM", liquido - fr),
    debit("FUNDO_RESERVA", fr),
    credit("CREDITOS_A_PAGAR", liquido),
  ]);
}

/**
 * A batch of payments booked as one entry ("lote de baixa"): the legs of `entries` summed per
 * account. Each payment keeps its own amounts in its pagamento row; the ledger gets their sum.
 */
export function loteDeBaixa(entries: readonly Lancamento[]): Lancamento {
  const porConta = new Map<Conta, bigint>();
  for (const entry of entries)
    for (const l of entry.linhas) porConta.set(l.conta, (porConta.get(l.conta) ?? 0n) + l.valorCentavos);
  return buildLancamento(
    "LOTE_BAIXA",
    CONTAS.filter((c) => porConta.has(c)).map((conta) => ({
      conta,
      valorCentavos: porConta.get(conta) ?? 0n,
    })),
  );
}

/** The mirror of an entry (every line negated), typed as a reversal of it. */
export function estorno(entry: Lancamento, tipo: TipoLancamento = "ESTORNO"): Lancamento {
  return buildLancamento(
    tipo,
    entry.linhas.map((l) => ({ conta: l.conta, valorCentavos: -l.valorCentavos })),
  );
}

/** Reverses a contemplation's credit booking (a lance not paid, a contemplation cancelled). */
export function estornoCreditoContemplacao(booking: Lancamento): Lancamento {
  if (booking.tipo !== "CREDITO_CONTEMPLACAO")
    throw new UnbalancedEntryError(`not a contemplation credit booking: ${booking.tipo}`);
  return estorno(booking, "ESTORNO_CREDITO_CONTEMPLACAO");
}

/** A lance paid in cash: it amortises the cota's parcelas (see amortizeLance for the composition). */
export function pagamentoLance(c: ComposicaoPagamento): Lancamento {
  const entry = pagamentoParcela(c);
  return { tipo: "PAGAMENTO_LANCE", linhas: entry.linhas };
}

/** The credit paid out (to the seller or the consorciado) once the guarantees are in place. */
export function liberacaoCredito(valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("LIBERACAO_CREDITO", [
    debit("CREDITOS_A_PAGAR", valorCentavos),
    credit("CAIXA", valorCentavos),
  ]);
}

/** A restitution computed for an excluded cota: its net amount leaves the FC (the penalty stays in the grupo). */
export function restituicaoCalculada(liquidoCentavos: bigint): Lancamento {
  requireAmounts({ liquidoCentavos });
  return buildLancamento("RESTITUICAO_CALCULADA", [
    debit("FUNDO_COMUM", liquidoCentavos),
    credit("RESTITUICOES_A_PAGAR", liquidoCentavos),
  ]);
}

export function pagamentoRestituicao(valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("PAGAMENTO_RESTITUICAO", [
    debit("RESTITUICOES_A_PAGAR", valorCentavos),
    credit("CAIXA", valorCentavos),
  ]);
}

/** A withdrawal within 7 days: everything paid (FC, TA, FR, seguro, advance) becomes owed back in full. */
export function devolucaoDesistencia(c: ComposicaoPagamento): Lancamento {
  requireAmounts({ ...c });
  const taxa = c.taxaAdministracaoCentavos + (c.antecipacaoTaxaCentavos ?? 0n);
  const seguro = c.seguroCentavos ?? 0n;
  return buildLancamento("DEVOLUCAO_DESISTENCIA", [
    debit("FUNDO_COMUM", c.fundoComumCentavos),
    debit("TAXA_ADMINISTRACAO", taxa),
    debit("FUNDO_RESERVA", c.fundoReservaCentavos),
    debit("SEGURO", seguro),
    credit("RESTITUICOES_A_PAGAR", c.fundoComumCentavos + taxa + c.fundoReservaCentavos + seguro),
  ]);
}

/** Money received that no parcela owes (overpayment, a cancelled parcela): held to refund or credit. */
export function recebimentoADevolver(valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("RECEBIMENTO_A_DEVOLVER", [
    debit("CAIXA", valorCentavos),
    credit("VALORES_A_DEVOLVER", valorCentavos),
  ]);
}

/** Refund of money held in VALORES_A_DEVOLVER. (Crediting it to a bill: `estorno` of part, then pagamentoParcela.) */
export function devolucaoValores(valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("DEVOLUCAO_VALORES", [
    debit("VALORES_A_DEVOLVER", valorCentavos),
    credit("CAIXA", valorCentavos),
  ]);
}

const REPASSES = {
  TAXA_ADMINISTRACAO: "REPASSE_TAXA_ADMINISTRACAO",
  SEGURO: "REPASSE_SEGURO",
  ENCARGOS_ADMINISTRADORA: "REPASSE_ENCARGOS_ADMINISTRADORA",
} as const satisfies Partial<Record<Conta, TipoLancamento>>;

/** What belongs to the administradora or the insurer leaves the grupo's cash. */
export function repasse(conta: keyof typeof REPASSES, valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento(REPASSES[conta], [debit(conta, valorCentavos), credit("CAIXA", valorCentavos)]);
}

/** Yield on the grupo's cash, credited to the fund or the amount owed that earns it. */
export function rendimentoFinanceiro(
  conta: "FUNDO_COMUM" | "FUNDO_RESERVA" | "CREDITOS_A_PAGAR" | "RESTITUICOES_A_PAGAR",
  valorCentavos: bigint,
): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("RENDIMENTO_FINANCEIRO", [
    debit("CAIXA", valorCentavos),
    credit(conta, valorCentavos),
  ]);
}

/**
 * A bank fee (tarifa de cobrança, e.g. a CNAB retorno's valorTarifa) debited from the grupo's
 * account: the administradora bears it, so it comes out of what the grupo owes her, never the funds.
 */
export function tarifaBancaria(valorCentavos: bigint): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("TARIFA_BANCARIA", [
    debit("TAXA_ADMINISTRACAO", valorCentavos),
    credit("CAIXA", valorCentavos),
  ]);
}

/** At encerramento, unclaimed balances move to RECURSOS_NAO_PROCURADOS (separate accounting). */
export function recursosNaoProcurados(
  conta: "CREDITOS_A_PAGAR" | "RESTITUICOES_A_PAGAR" | "VALORES_A_DEVOLVER" | "FUNDO_COMUM" | "FUNDO_RESERVA",
  valorCentavos: bigint,
): Lancamento {
  requireAmounts({ valorCentavos });
  return buildLancamento("RECURSOS_NAO_PROCURADOS", [
    debit(conta, valorCentavos),
    credit("RECURSOS_NAO_PROCURADOS", valorCentavos),
  ]);
}

export type Saldos = Readonly<Record<Conta, bigint>>;

export function saldosZerados(): Record<Conta, bigint> {
  return Object.fromEntries(CONTAS.map((c) => [c, 0n])) as Record<Conta, bigint>;
}

/** Balances of every account (signed: + debit, − credit). */
export function balances(entries: Iterable<Lancamento>): Saldos {
  const saldos = saldosZerados();
  for (const entry of entries) for (const l of entry.linhas) saldos[l.conta] += l.valorCentavos;
  return saldos;
}

export function somaDosSaldos(saldos: Saldos): bigint {
  return CONTAS.reduce((s, c) => s + saldos[c], 0n);
}

export interface CaixaDisponivel {
  readonly fundoComumCentavos: bigint;
  readonly fundoReservaCentavos: bigint;
}

/** The money a contemplation may spend: what the FC and the FR hold (never negative). */
export function caixaDisponivel(saldos: Saldos): CaixaDisponivel {
  const held = (c: Conta) => (saldos[c] < 0n ? -saldos[c] : 0n);
  return { fundoComumCentavos: held("FUNDO_COMUM"), fundoReservaCentavos: held("FUNDO_RESERVA") };
}
