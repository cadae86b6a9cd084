// The restitution of an excluded cota (Lei art. 30, DOMAIN.md §3): the % of the fundo comum paid
// × the price of the bem at the assembleia, less the contractual penalty on that gross amount.
// financeiro books it; sorteios needs the same amount for the apuração's money rule.
import { type Dec, percentOf } from "./dinheiro.ts";

export function restituicaoBruta(
  precoCentavos: bigint,
  fundoComumPagoPercentual: Dec,
  penalidadePercentual: Dec,
): { brutoCentavos: bigint; penalidadeCentavos: bigint } {
  const brutoCentavos = percentOf(precoCentavos, fundoComumPagoPercentual);
  return { brutoCentavos, penalidadeCentavos: percentOf(brutoCentavos, penalidadePercentual) };
}
