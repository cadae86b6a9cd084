// Pix payments reported by the webhook: applied by txid, exactly once by endToEndId. A Pix whose
// txid no parcela has goes to suspense (pix_suspenso), reported, never counted as paid.
import { isoDate } from "@consorcio/domain";
import type { ServiceContext } from "@consorcio/platform";
import { lancesPagos } from "./contemplacao.ts";
import { applyPagamentos } from "./pagamentos.ts";
import type { PixRecebido } from "./pix-webhook.ts";
import { bulk } from "./store/sql.ts";

export async function applyPix(context: ServiceContext, pix: PixRecebido[]) {
  const { results, suspensos } = await context.tx.job(async (uow) => {
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
    const desconhecidos = pix.filter((_, i) => r[i]?.status === "DESCONHECIDO");
    // The same unknown Pix notified again is one suspense row.
    const novos =
      desconhecidos.length === 0
        ? []
        : await bulk<{ end_to_end_id: string }>(
            uow.em,
            `insert into pix_suspenso (end_to_end_id, txid, valor_centavos, data_pagamento, motivo)
             select e, t, v, d, 'txid de nenhuma parcela' from json_to_recordset(?::json) as x(e text, t text, v bigint, d date)
             on conflict do nothing returning end_to_end_id`,
            [
              JSON.stringify(
                desconhecidos.map((p) => ({
                  e: p.endToEndId,
                  t: p.txid,
                  v: p.valorCentavos.toString(),
                  d: isoDate(p.data),
                })),
              ),
            ],
          );
    return { results: r, suspensos: novos.length };
  });
  context.relay.wake();
  if (suspensos > 0) context.logger.warn({ suspensos }, "pix without a parcela kept in suspense");
  return {
    aplicados: results.filter((r) => r.status === "APLICADO").length,
    duplicados: results.filter((r) => r.status === "DUPLICADO").length,
    desconhecidos: results.filter((r) => r.status === "DESCONHECIDO").length,
  };
}
