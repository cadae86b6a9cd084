// The statement of a cota: what it paid and owes, its encargos, and % amortised per fund.
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import { Dec } from "@consorcio/domain";
import {
  type Extrato,
  ExtratoSchema,
  ParcelaSituacao,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { NotFoundError } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { listParcelas } from "./parcelas.ts";
import { findCota } from "./store/projecao.ts";

export async function getExtrato(
  em: EntityManager,
  context: HandlerContext,
  cotaId: string,
): Promise<Extrato> {
  const cota = await findCota(em, cotaId);
  if (!cota) throw new NotFoundError(`cota ${cotaId} not found`);
  const [t] = await em.execute<
    { pago: string; devido: string; vencido: string; encargos: string; fc: string; ta: string; fr: string }[]
  >(
    `select coalesce(sum(pago_centavos), 0)::text as pago,
       coalesce(sum(valor_centavos - pago_centavos) filter (where situacao in ('ABERTA', 'PARCIAL', 'VENCIDA')), 0)::text as devido,
       coalesce(sum(valor_centavos - pago_centavos) filter (where situacao = 'VENCIDA'), 0)::text as vencido,
       coalesce(sum(encargos_pagos_centavos), 0)::text as encargos,
       coalesce(sum(fundo_comum_percentual * least(pago_centavos, valor_centavos)::numeric / nullif(valor_centavos, 0)), 0)::text as fc,
       coalesce(sum(taxa_administracao_percentual * least(pago_centavos, valor_centavos)::numeric / nullif(valor_centavos, 0)), 0)::text as ta,
       coalesce(sum(fundo_reserva_percentual * least(pago_centavos, valor_centavos)::numeric / nullif(valor_centavos, 0)), 0)::text as fr
     from parcela where cota_id = ? and situacao <> 'CANCELADA'`,
    [cotaId],
  );
  const [g] = await em.execute<{ ta: string; fr: string }[]>(
    "select taxa_administracao::text as ta, fundo_reserva::text as fr from grupo where id = ?",
    [cota.grupoId],
  );
  const fc = new Dec(t?.fc ?? "0");
  const ta = new Dec(t?.ta ?? "0");
  const fr = new Dec(t?.fr ?? "0");
  // Amortised: paid ÷ the plan's total of that fund (100% FC, TA %, FR %), in %.
  const share = (paid: Dec, total: Dec) => (total.isZero() ? new Dec(0) : paid.times(100).dividedBy(total));
  const recentes = await listParcelas(em, context, {
    cotaId,
    grupoId: "",
    situacao: ParcelaSituacao.UNSPECIFIED,
    competencia: "",
    pageSize: 500,
    pageToken: "",
  });
  return create(ExtratoSchema, {
    cotaId,
    grupoId: cota.grupoId,
    consorciadoId: cota.consorciadoId,
    pagoCentavos: BigInt(t?.pago ?? "0"),
    devidoCentavos: BigInt(t?.devido ?? "0"),
    vencidoCentavos: BigInt(t?.vencido ?? "0"),
    encargosPagosCentavos: BigInt(t?.encargos ?? "0"),
    creditoCentavos: cota.creditoCentavos,
    fundoComumPagoPercentual: share(fc, new Dec(100)).toDecimalPlaces(4).toFixed(),
    taxaAdministracaoPagaPercentual: share(ta, new Dec(g?.ta ?? "0"))
      .toDecimalPlaces(4)
      .toFixed(),
    fundoReservaPagoPercentual: share(fr, new Dec(g?.fr ?? "0"))
      .toDecimalPlaces(4)
      .toFixed(),
    fundoComumDevidoPercentual: new Dec(100).minus(fc).toDecimalPlaces(4).toFixed(),
    parcelas: recentes.parcelas,
  });
}
