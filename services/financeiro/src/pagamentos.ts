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
import { type Lancamento, loteDeBaixa } from "./domain/ledger.ts";
import { civilFromDb, protoFromCivil } from "./mapping.ts";
import { type Posting, postLancamentos } from "./store/ledger.ts";
import { enqueueMany } from "./store/outbox-bulk.ts";
import { bulk, copyIn, copyText } from "./store/sql.ts";

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
  multa_paga: string;
  pct_grupo: string;
}

const CANAL = { PIX: CanalPagamento.PIX, CNAB: CanalPagamento.CNAB, MANUAL: CanalPagamento.MANUAL } as const;
const RESULTADO = {
  INTEGRAL: PagamentoResultado.INTEGRAL,
  PARCIAL: PagamentoResultado.PARCIAL,
  EXCEDENTE: PagamentoResultado.EXCEDENTE,
  ESTORNO: PagamentoResultado.ESTORNO,
} as const;

/** The fund components a payment paid (from its PAGAMENTO_PARCELA legs) as COPY text: FC, TA, FR, seguro. */
function componentesText(a: Alocacao): string {
  const parcela = a.lancamentos.find((l) => l.sufixo === "parcela")?.lancamento;
  const of = (conta: string) => -(parcela?.linhas.find((l) => l.conta === conta)?.valorCentavos ?? 0n);
  return `${of("FUNDO_COMUM")}\t${of("TAXA_ADMINISTRACAO")}\t${of("FUNDO_RESERVA")}\t${of("SEGURO")}`;
}

/** Applies the payments in order; each result says what happened to the payment at the same index. */
export async function applyPagamentos(
  em: EntityManager,
  itens: readonly PagamentoRecebido[],
  headers: Record<string, string>,
  /** Book the batch as one entry per grupo (a CNAB file); without it, one entry per payment and leg. */
  lote?: { origem: string; historico: string },
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
       p.multa_paga_centavos::text as multa_paga, g.percentual_encargos_grupo::text as pct_grupo
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
  const estado = new Map<string, { pago: bigint; multaPaga: bigint; situacao: string }>();
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
    const atual = estado.get(row.id) ?? {
      pago: BigInt(row.pago_centavos),
      multaPaga: BigInt(row.multa_paga),
      situacao: row.situacao,
    };
    const alocacao = alocarPagamento({
      parcela: {
        situacao: atual.situacao,
        valorCentavos: BigInt(row.valor_centavos),
        pagoCentavos: atual.pago,
        multaPagaCentavos: atual.multaPaga,
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
    estado.set(row.id, {
      pago: alocacao.pagoCentavos,
      multaPaga: atual.multaPaga + alocacao.multaCentavos,
      situacao: alocacao.situacao,
    });
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
  // The parcelas are locked and the duplicates left out above: a plain COPY, the unique
  // (canal, canal_id) still refusing a twin.
  await copyIn(
    em,
    `copy pagamento (id, parcela_id, cota_id, grupo_id, canal, canal_id, valor_centavos, data_pagamento,
       resultado, principal_centavos, multa_centavos, juros_centavos, credito_centavos, estorno_centavos, motivo,
       fundo_comum_centavos, taxa_administracao_centavos, fundo_reserva_centavos, seguro_centavos)
     from stdin`,
    async (sink) => {
      let out = "";
      for (const p of aplicados) {
        const item = itemOf.get(p.id) as PagamentoRecebido;
        const a = p.alocacao;
        out += `${p.id}\t${p.parcelaId}\t${p.cotaId}\t${p.grupoId}\t${item.canal}\t${copyText(item.canalId)}\t${item.valorCentavos}\t${isoDate(item.dataPagamento)}\t${a.resultado}\t${a.principalCentavos}\t${a.multaCentavos}\t${a.jurosCentavos}\t${a.creditoCentavos}\t${a.estornoCentavos}\t${copyText(item.motivo ?? "")}\t${componentesText(a)}\n`;
        if (out.length > 1 << 20) {
          await sink(out);
          out = "";
        }
      }
      if (out) await sink(out);
    },
  );
  // The final state of each parcela touched (the last payment of it in the batch wins).
  const finais = new Map<string, { pago: bigint; enc: bigint; multa: bigint; situacao: string }>();
  for (const p of aplicados) {
    const before = finais.get(p.parcelaId);
    finais.set(p.parcelaId, {
      pago: p.alocacao.pagoCentavos,
      enc: (before?.enc ?? 0n) + p.alocacao.multaCentavos + p.alocacao.jurosCentavos,
      multa: (before?.multa ?? 0n) + p.alocacao.multaCentavos,
      situacao: p.alocacao.situacao,
    });
  }
  // Staged with COPY, then one UPDATE joined on the staging table.
  await bulk(
    em,
    `create temp table if not exists baixa_parcela (id uuid primary key, pago bigint, enc bigint, multa bigint, sit text)
     on commit delete rows`,
  );
  await bulk(em, "truncate baixa_parcela");
  await copyIn(em, "copy baixa_parcela (id, pago, enc, multa, sit) from stdin", async (sink) => {
    let out = "";
    for (const [id, f] of finais) {
      out += `${id}\t${f.pago}\t${f.enc}\t${f.multa}\t${f.situacao}\n`;
      if (out.length > 1 << 20) {
        await sink(out);
        out = "";
      }
    }
    if (out) await sink(out);
  });
  await bulk(
    em,
    `update parcela p set pago_centavos = t.pago, encargos_pagos_centavos = p.encargos_pagos_centavos + t.enc,
       multa_paga_centavos = p.multa_paga_centavos + t.multa,
       situacao = t.sit, version = p.version + 1, updated_at = now()
     from baixa_parcela t where p.id = t.id`,
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
  // A file's payments: one entry per grupo for the whole batch (a lote de baixa) naming the file;
  // each pagamento row keeps its own amounts and components.
  const postings: Posting[] = [];
  if (lote) {
    const porGrupo = new Map<string, Lancamento[]>();
    for (const p of aplicados) {
      let entries = porGrupo.get(p.grupoId);
      if (!entries) {
        entries = [];
        porGrupo.set(p.grupoId, entries);
      }
      for (const l of p.alocacao.lancamentos) entries.push(l.lancamento);
    }
    for (const [grupoId, entries] of porGrupo)
      if (entries.length > 0)
        postings.push({
          grupoId,
          origem: lote.origem,
          historico: lote.historico,
          lancamento: loteDeBaixa(entries),
        });
  } else
    for (const p of aplicados)
      for (const l of p.alocacao.lancamentos)
        postings.push({
          grupoId: p.grupoId,
          cotaId: p.cotaId,
          origem: `pagamento:${p.id}:${l.sufixo}`,
          historico: `${itemOf.get(p.id)?.canal} ${p.alocacao.resultado}`,
          lancamento: l.lancamento,
        });
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
