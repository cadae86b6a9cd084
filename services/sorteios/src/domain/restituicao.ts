// What an excluded cota gets back if drawn for restitution, computed from what financeiro lets a
// service read (its parcelas), so the apuração knows the amount without booking it: financeiro
// books it (CalculateRestituicao, from ContemplacaoProcessada) only for the cota the money rule
// contemplates. The amount is @consorcio/domain's restituicaoBruta, the rule financeiro books with,
// over the % of the FC paid (each parcela's FC percentage times the share of it paid, capped at 100).
// Pure.
import { Dec, restituicaoBruta } from "@consorcio/domain";

export interface ParcelaPaga {
  /** The FC percentage of the bem the parcela stands for, decimal string. */
  fundoComumPercentual: string;
  valorCentavos: bigint;
  pagoCentavos: bigint;
}

export function fundoComumPagoPercentual(parcelas: readonly ParcelaPaga[]): Dec {
  let total = new Dec(0);
  for (const p of parcelas) {
    if (p.valorCentavos <= 0n) continue;
    const valor = new Dec(p.valorCentavos.toString());
    const pago = Dec.min(new Dec(p.pagoCentavos.toString()), valor);
    total = total.plus(new Dec(p.fundoComumPercentual || "0").times(pago).dividedBy(valor));
  }
  return total.greaterThan(100) ? new Dec(100) : total;
}

export function valorRestituicao(input: {
  parcelas: readonly ParcelaPaga[];
  precoCentavos: bigint;
  /** % of the gross amount, decimal string ("" is 0). */
  penalidadePercentual: string;
}): bigint {
  const { brutoCentavos, penalidadeCentavos } = restituicaoBruta(
    input.precoCentavos,
    fundoComumPagoPercentual(input.parcelas),
    new Dec(input.penalidadePercentual || "0"),
  );
  return brutoCentavos - penalidadeCentavos;
}
