// Pix payments reported by the webhook: applied by txid, exactly once by endToEndId.
import type { ServiceContext } from "@consorcio/platform";
import { lancesPagos } from "./contemplacao.ts";
import { applyPagamentos } from "./pagamentos.ts";
import type { PixRecebido } from "./pix-webhook.ts";

export async function applyPix(context: ServiceContext, pix: PixRecebido[]) {
  const results = await context.tx.job(async (uow) => {
    const r = await applyPagamentos(
      uow.em,
      pix.map((p) => ({
        canal: "PIX" as const,
        canalId: p.endToEndId,
        por: "pix_txid" as const,
        chave: p.txid,
        valorCentavos: p.valorCentavos,
        dataPagamento: p.data,
      })),
      { actor: "psp-webhook" },
    );
    await lancesPagos(
      uow,
      r.flatMap((x) => (x.status === "APLICADO" ? [x.pagamento.parcelaId] : [])),
    );
    return r;
  });
  context.relay.wake();
  return {
    aplicados: results.filter((r) => r.status === "APLICADO").length,
    duplicados: results.filter((r) => r.status === "DUPLICADO").length,
    desconhecidos: results.filter((r) => r.status === "DESCONHECIDO").length,
  };
}
