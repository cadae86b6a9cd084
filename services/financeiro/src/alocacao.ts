// How one payment applies to one parcela: encargos first, then the principal split over the
// parcela's components; whatever no parcela owes is explicit (credit of the cota or refund).
import { type CivilDate, Dec } from "@consorcio/domain";
import { calculateEncargos, diasDeAtraso, splitEncargos } from "./domain/encargos.ts";
import {
  encargosRecebidos,
  type Lancamento,
  pagamentoParcela,
  recebimentoADevolver,
} from "./domain/ledger.ts";
import { allocate } from "./domain/percentual-ledger.ts";

export type Resultado = "INTEGRAL" | "PARCIAL" | "EXCEDENTE" | "ESTORNO";

export interface Componentes {
  fundoComumCentavos: bigint;
  taxaAdministracaoCentavos: bigint;
  fundoReservaCentavos: bigint;
  seguroCentavos: bigint;
  antecipacaoTaxaCentavos: bigint;
}

export interface ParcelaAberta {
  situacao: string;
  valorCentavos: bigint;
  pagoCentavos: bigint;
  /** Multa already paid on this parcela (a partial payment's): the multa is charged once. */
  multaPagaCentavos?: bigint;
  vencimento: CivilDate;
  componentes: Componentes;
}

export interface Alocacao {
  resultado: Resultado;
  principalCentavos: bigint;
  multaCentavos: bigint;
  jurosCentavos: bigint;
  creditoCentavos: bigint;
  estornoCentavos: bigint;
  /** The parcela after the payment. */
  pagoCentavos: bigint;
  situacao: "ABERTA" | "PARCIAL" | "PAGA" | "VENCIDA" | "CANCELADA";
  lancamentos: { sufixo: string; lancamento: Lancamento }[];
}

const KEYS = [
  "fundoComumCentavos",
  "taxaAdministracaoCentavos",
  "fundoReservaCentavos",
  "seguroCentavos",
  "antecipacaoTaxaCentavos",
] as const;

/** The components of the first `pago` centavos of the parcela (proportional, summing exactly). */
function componentesPagos(c: Componentes, valor: bigint, pago: bigint): Componentes {
  if (valor === 0n || pago === 0n)
    return {
      fundoComumCentavos: 0n,
      taxaAdministracaoCentavos: 0n,
      fundoReservaCentavos: 0n,
      seguroCentavos: 0n,
      antecipacaoTaxaCentavos: 0n,
    };
  const ratio = new Dec(pago.toString()).dividedBy(valor.toString());
  const parts = allocate(
    pago,
    KEYS.map((k) => new Dec(c[k].toString()).times(ratio)),
  );
  return Object.fromEntries(KEYS.map((k, i) => [k, parts[i] as bigint])) as unknown as Componentes;
}

const diferenca = (a: Componentes, b: Componentes) =>
  Object.fromEntries(KEYS.map((k) => [k, a[k] - b[k]])) as unknown as Componentes;

const SEM_ENCARGOS = { multaCentavos: 0n, jurosCentavos: 0n } as const;
const graca = new Map<string, boolean>();

/** Paid by the due date, or on the next business day after a due date without banking. */
function emDia(vencimento: CivilDate, pagamento: CivilDate): boolean {
  const key = `${vencimento.year}-${vencimento.month}-${vencimento.day}|${pagamento.year}-${pagamento.month}-${pagamento.day}`;
  let ok = graca.get(key);
  if (ok === undefined) {
    ok = diasDeAtraso(vencimento, pagamento) === 0;
    if (graca.size > 10_000) graca.clear();
    graca.set(key, ok);
  }
  return ok;
}

const menor = (a: bigint, b: bigint) => (a < b ? a : b);

export function alocarPagamento(input: {
  parcela: ParcelaAberta;
  valorCentavos: bigint;
  dataPagamento: CivilDate;
  percentualEncargosGrupo: Dec;
}): Alocacao {
  const { parcela, valorCentavos } = input;
  const devido = parcela.valorCentavos - parcela.pagoCentavos;
  if (parcela.situacao === "CANCELADA" || devido <= 0n) {
    return {
      resultado: "ESTORNO",
      principalCentavos: 0n,
      multaCentavos: 0n,
      jurosCentavos: 0n,
      creditoCentavos: 0n,
      estornoCentavos: valorCentavos,
      pagoCentavos: parcela.pagoCentavos,
      situacao: parcela.situacao as Alocacao["situacao"],
      lancamentos: [{ sufixo: "devolver", lancamento: recebimentoADevolver(valorCentavos) }],
    };
  }
  // Most payments are in time: the grace check is the same for every parcela of a due date.
  const encargos = emDia(parcela.vencimento, input.dataPagamento)
    ? SEM_ENCARGOS
    : calculateEncargos({
        valorCentavos: devido,
        vencimento: parcela.vencimento,
        pagamento: input.dataPagamento,
      });
  // The multa is due once: on the amount overdue, less what an earlier partial payment paid of it.
  const multaPaga = parcela.multaPagaCentavos ?? 0n;
  let multa = encargos.multaCentavos > multaPaga ? encargos.multaCentavos - multaPaga : 0n;
  let juros = encargos.jurosCentavos;
  let principal: bigint;
  let credito = 0n;
  let resultado: Resultado;
  if (valorCentavos >= devido + multa + juros) {
    principal = devido;
    credito = valorCentavos - devido - multa - juros;
    resultado = credito > 0n ? "EXCEDENTE" : "INTEGRAL";
  } else {
    // Short: the encargos first, then as much principal as is left; the rest stays owed.
    multa = menor(multa, valorCentavos);
    juros = menor(juros, valorCentavos - multa);
    principal = valorCentavos - multa - juros;
    resultado = "PARCIAL";
  }
  const pagoDepois = parcela.pagoCentavos + principal;
  // The common case, a whole parcela paid at once, is its components as they are.
  const agora: Componentes =
    parcela.pagoCentavos === 0n && pagoDepois === parcela.valorCentavos
      ? parcela.componentes
      : diferenca(
          componentesPagos(parcela.componentes, parcela.valorCentavos, pagoDepois),
          componentesPagos(parcela.componentes, parcela.valorCentavos, parcela.pagoCentavos),
        );
  const lancamentos: Alocacao["lancamentos"] = [];
  if (principal > 0n) lancamentos.push({ sufixo: "parcela", lancamento: pagamentoParcela(agora) });
  if (multa + juros > 0n)
    lancamentos.push({
      sufixo: "encargos",
      lancamento: encargosRecebidos(splitEncargos(multa + juros, input.percentualEncargosGrupo)),
    });
  if (credito > 0n) lancamentos.push({ sufixo: "devolver", lancamento: recebimentoADevolver(credito) });
  const situacao: Alocacao["situacao"] =
    pagoDepois >= parcela.valorCentavos ? "PAGA" : parcela.situacao === "VENCIDA" ? "VENCIDA" : "PARCIAL";
  return {
    resultado,
    principalCentavos: principal,
    multaCentavos: multa,
    jurosCentavos: juros,
    creditoCentavos: credito,
    estornoCentavos: 0n,
    pagoCentavos: pagoDepois,
    situacao,
    lancamentos,
  };
}
