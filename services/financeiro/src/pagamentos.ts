// Payments from every channel, applied exactly once and set-based: the parcelas are locked,
// payments already recorded under the same (canal, canal_id) are duplicates, the rest are
// allocated (alocacao.ts) and written with their ledger entries and events in a few statements.
import { create } from "@bufbuild/protobuf";
import { type CivilDate, Dec, isoDate } from "@consorcio/domain";
import {
  InadimplenciaRegularizadaSchema,
  PagamentoRealizadoSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { CanalPagamento, PagamentoResultado } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { type Alocacao, alocarPagamento } from "./alocacao.ts";
import { civilFromDb, protoFromCivil } from "./mapping.ts";
import { type Posting, postLancamentos } from "./store/ledger.ts";
import { enqueueMany } from "./store/outbox-bulk.ts";
import { bulk } from "./store/sql.ts";

export type Canal = "PIX" | "CNAB" | "MANUAL";

export interface PagamentoRecebido {
  canal: Canal;
  /** Unique per channel: Pix endToEndId, CNAB line key, manual request id. */
  canalId: string;
  /** How the channel names the parcela. */
  por: "nosso_numero" | "pix_txid" | "id";
  chave: string;
  valorCentavos: bigint;
  dataPagamento: CivilDate;
  motivo?: string;
}

export interface PagamentoAplicado {
  id: string;
  parcelaId: string;
  cotaId: string;
  grupoId: string;
  alocacao: Alocacao;
}

export type Aplicacao =
  | { status: "APLICADO"; pagamento: PagamentoAplicado }
  | { status: "DUPLICADO"; pagamentoId?: string }
  | { status: "DESCONHECIDO" };

interface ParcelaRow {
  id: string;
  cota_id: string;
  grupo_id: string;
  chave: string;
  situacao: string;
  valor_centavos: string;
  pago_centavos: string;
  vencimento: string;
  fc: string;
  ta: string;
  fr: string;
  sg: string;
  tx: string;
  pct_grupo: string;
}

const CANAL = { PIX: CanalPagamento.PIX, CNAB: CanalPagamento.CNAB, MANUAL: CanalPagamento.MANUAL } as const;
const RESULTADO = {
  INTEGRAL: PagamentoResultado.INTEGRAL,
  PARCIAL: PagamentoResultado.PARCIAL,
  EXCEDENTE: PagamentoResultado.EXCEDENTE,
  ESTORNO: PagamentoResultado.ESTORNO,
} as const;

/** Applies the payments in order; each result says what happened to the payment at the same index. */
export async function applyPagamentos(
  em: EntityManager,
  itens: readonly PagamentoRecebido[],
  headers: Record<string, string>,
): Promise<Aplicacao[]> {
  if (itens.length === 0) return [];
  const por = itens[0]?.por ?? "id";
  if (itens.some((i) => i.por !== por)) throw new Error("one key kind per batch");
  const column = por === "id" ? "p.id::text" : `p.${por}`;
  // Locked first: a concurrent delivery of the same payment waits here, then sees it recorded.
  const parcelas = await bulk<ParcelaRow>(
    em,
    `select p.id, p.cota_id, p.grupo_id, ${column} as chave, p.situacao, p.valor_centavos::text,
       p.pago_centavos::text, p.vencimento::text, p.fundo_comum_centavos::text as fc,
       p.taxa_administracao_centavos::text as ta, p.fundo_reserva_centavos::text as fr,
       p.seguro_centavos::text as sg, p.taxa_antecipada_centavos::text as tx,
       g.percentual_encargos_grupo::text as pct_grupo
     from parcela p join grupo g on g.id = p.grupo_id
     where ${por === "id" ? "p.id" : column} in (select k${por === "id" ? "::uuid" : ""} from json_array_elements_text(?::json) as k)
     order by p.id for update of p`,
    [JSON.stringify([...new Set(itens.map((i) => i.chave))])],
  );
  const byChave = new Map(parcelas.map((p) => [p.chave, p]));
  const existentes = await bulk<{ canal_id: string; id: string }>(
    em,
    `select canal_id, id from pagamento where canal = ? and canal_id in (select k from json_array_elements_text(?::json) as k)`,
    [itens[0]?.canal, JSON.stringify(itens.map((i) => i.canalId))],
  );
  const seen = new Map(existentes.map((e) => [e.canal_id, e.id]));
  const estado = new Map<string, { pago: bigint; situacao: string }>();
  const results: Aplicacao[] = [];
  const aplicados: PagamentoAplicado[] = [];
  for (const item of itens) {
    const dup = seen.get(item.canalId);
    if (dup !== undefined) {
      results.push({ status: "DUPLICADO", pagamentoId: dup });
      continue;
    }
    const row = byChave.get(item.chave);
    if (!row) {
      results.push({ status: "DESCONHECIDO" });
      continue;
    }
    const atual = estado.get(row.id) ?? { pago: BigInt(row.pago_centavos), situacao: row.situacao };
    const alocacao = alocarPagamento({
      parcela: {
        situacao: atual.situacao,
        valorCentavos: BigInt(row.valor_centavos),
        pagoCentavos: atual.pago,
        vencimento: civilFromDb(row.vencimento),
        componentes: {
          fundoComumCentavos: BigInt(row.fc),
          taxaAdministracaoCentavos: BigInt(row.ta),
          fundoReservaCentavos: BigInt(row.fr),
          seguroCentavos: BigInt(row.sg),
          antecipacaoTaxaCentavos: BigInt(row.tx),
        },
      },
      valorCentavos: item.valorCentavos,
      dataPagamento: item.dataPagamento,
      percentualEncargosGrupo: new Dec(row.pct_grupo),
    });
    estado.set(row.id, { pago: alocacao.pagoCentavos, situacao: alocacao.situacao });
    const pagamento = {
      id: uuidv7(),
      parcelaId: row.id,
      cotaId: row.cota_id,
      grupoId: row.grupo_id,
      alocacao,
    };
    seen.set(item.canalId, pagamento.id);
    aplicados.push(pagamento);
    results.push({ status: "APLICADO", pagamento });
  }
  if (aplicados.length === 0) return results;
  const itemOf = new Map<string, PagamentoRecebido>();
  itens.forEach((item, i) => {
    const r = results[i];
    if (r?.status === "APLICADO") itemOf.set(r.pagamento.id, item);
  });
  await bulk(
    em,
    `insert into pagamento (id, parcela_id, cota_id, grupo_id, canal, canal_id, valor_centavos, data_pagamento,
       resultado, principal_centavos, multa_centavos, juros_centavos, credito_centavos, estorno_centavos, motivo)
     select id, pa, c, g, ca, ci, v, d, r, pr, m, j, cr, es, mo from json_to_recordset(?::json)
       as t(id uuid, pa uuid, c uuid, g uuid, ca text, ci text, v bigint, d date, r text, pr bigint, m bigint,
            j bigint, cr bigint, es bigint, mo text)`,
    [
      JSON.stringify(
        aplicados.map((p) => {
          const item = itemOf.get(p.id) as PagamentoRecebido;
          const a = p.alocacao;
          return {
            id: p.id,
            pa: p.parcelaId,
            c: p.cotaId,
            g: p.grupoId,
            ca: item.canal,
            ci: item.canalId,
            v: item.valorCentavos.toString(),
            d: isoDate(item.dataPagamento),
            r: a.resultado,
            pr: a.principalCentavos.toString(),
            m: a.multaCentavos.toString(),
            j: a.jurosCentavos.toString(),
            cr: a.creditoCentavos.toString(),
            es: a.estornoCentavos.toString(),
            mo: item.motivo ?? "",
          };
        }),
      ),
    ],
  );
  // The final state of each parcela touched (the last payment of it in the batch wins).
  const finais = new Map<string, { pago: bigint; enc: bigint; situacao: string }>();
  for (const p of aplicados) {
    const before = finais.get(p.parcelaId);
    finais.set(p.parcelaId, {
      pago: p.alocacao.pagoCentavos,
      enc: (before?.enc ?? 0n) + p.alocacao.multaCentavos + p.alocacao.jurosCentavos,
      situacao: p.alocacao.situacao,
    });
  }
  await bulk(
    em,
    `update parcela p set pago_centavos = t.pago, encargos_pagos_centavos = p.encargos_pagos_centavos + t.enc,
       situacao = t.sit, version = p.version + 1, updated_at = now()
     from json_to_recordset(?::json) as t(id uuid, pago bigint, enc bigint, sit text) where p.id = t.id`,
    [
      JSON.stringify(
        [...finais].map(([id, f]) => ({
          id,
          pago: f.pago.toString(),
          enc: f.enc.toString(),
          sit: f.situacao,
        })),
      ),
    ],
  );
  const creditos = new Map<string, bigint>();
  for (const p of aplicados)
    if (p.alocacao.creditoCentavos > 0n)
      creditos.set(p.cotaId, (creditos.get(p.cotaId) ?? 0n) + p.alocacao.creditoCentavos);
  if (creditos.size > 0)
    await bulk(
      em,
      `update cota c set credito_centavos = c.credito_centavos + t.v, updated_at = now()
       from json_to_recordset(?::json) as t(id uuid, v bigint) where c.id = t.id`,
      [JSON.stringify([...creditos].map(([id, v]) => ({ id, v: v.toString() })))],
    );
  const postings: Posting[] = aplicados.flatMap((p) =>
    p.alocacao.lancamentos.map((l) => ({
      grupoId: p.grupoId,
      cotaId: p.cotaId,
      origem: `pagamento:${p.id}:${l.sufixo}`,
      historico: `${itemOf.get(p.id)?.canal} ${p.alocacao.resultado}`,
      lancamento: l.lancamento,
    })),
  );
  await postLancamentos(em, postings);
  // Cotas whose arrears this batch cleared: grupos puts an INADIMPLENTE cota back to ATIVA.
  const regularizadas = new Set(
    (
      await bulk<{ id: string }>(
        em,
        `select c.id from cota c where c.id in (select k::uuid from json_array_elements_text(?::json) as k)
           and c.situacao = 'INADIMPLENTE'
           and not exists (select 1 from parcela p where p.cota_id = c.id and p.situacao = 'VENCIDA')`,
        [JSON.stringify([...new Set(aplicados.map((p) => p.cotaId))])],
      )
    ).map((r) => r.id),
  );
  await enqueueMany(
    em,
    PagamentoRealizadoSchema,
    aplicados.map((p) => {
      const item = itemOf.get(p.id) as PagamentoRecebido;
      return create(PagamentoRealizadoSchema, {
        pagamentoId: p.id,
        parcelaId: p.parcelaId,
        cotaId: p.cotaId,
        grupoId: p.grupoId,
        canal: CANAL[item.canal],
        resultado: RESULTADO[p.alocacao.resultado],
        valorCentavos: item.valorCentavos,
        multaCentavos: p.alocacao.multaCentavos,
        jurosCentavos: p.alocacao.jurosCentavos,
        dataPagamento: protoFromCivil(item.dataPagamento),
        inadimplenciaRegularizada: regularizadas.has(p.cotaId),
      });
    }),
    headers,
  );
  if (regularizadas.size > 0) {
    const grupoOf = new Map(aplicados.map((p) => [p.cotaId, p.grupoId]));
    await bulk(
      em,
      "update cota set situacao = 'ATIVA', updated_at = now() where id in (select k::uuid from json_array_elements_text(?::json) as k)",
      [JSON.stringify([...regularizadas])],
    );
    await enqueueMany(
      em,
      InadimplenciaRegularizadaSchema,
      [...regularizadas].map((cotaId) =>
        create(InadimplenciaRegularizadaSchema, { cotaId, grupoId: grupoOf.get(cotaId) ?? "" }),
      ),
      headers,
    );
  }
  return results;
}
