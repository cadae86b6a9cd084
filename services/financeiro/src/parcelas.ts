// Reading parcelas and payments, mapped to the contract; owner-scoped callers see only their own.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext } from "@connectrpc/connect";
import {
  CanalPagamento,
  type Pagamento,
  PagamentoResultado,
  PagamentoSchema,
  type Parcela,
  ParcelaSchema,
  ParcelaSituacao,
  ParcelaTipo,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import {
  decodePageToken,
  InvalidArgumentError,
  NotFoundError,
  ownerScopeKey,
  PermissionDeniedError,
  page,
} from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { protoFromDb } from "./mapping.ts";
import { findCota } from "./store/projecao.ts";

const PARCELA_COLUMNS = `id, cota_id, grupo_id, consorciado_id, competencia, tipo, numero, vencimento::text,
  valor_centavos::text, fundo_comum_centavos::text, taxa_administracao_centavos::text,
  fundo_reserva_centavos::text, seguro_centavos::text, taxa_antecipada_centavos::text,
  diferenca_preco_centavos::text, fundo_comum_percentual::text, taxa_administracao_percentual::text,
  fundo_reserva_percentual::text, nosso_numero, codigo_barras, linha_digitavel, pix_txid, pix_copia_e_cola,
  situacao, pago_centavos::text, encargos_pagos_centavos::text, created_at, updated_at, version`;

export interface ParcelaDb {
  id: string;
  cota_id: string;
  grupo_id: string;
  consorciado_id: string;
  competencia: string;
  tipo: keyof typeof ParcelaTipo;
  numero: number;
  vencimento: string;
  valor_centavos: string;
  fundo_comum_centavos: string;
  taxa_administracao_centavos: string;
  fundo_reserva_centavos: string;
  seguro_centavos: string;
  taxa_antecipada_centavos: string;
  diferenca_preco_centavos: string;
  fundo_comum_percentual: string;
  taxa_administracao_percentual: string;
  fundo_reserva_percentual: string;
  nosso_numero: string;
  codigo_barras: string;
  linha_digitavel: string;
  pix_txid: string;
  pix_copia_e_cola: string;
  situacao: keyof typeof ParcelaSituacao;
  pago_centavos: string;
  encargos_pagos_centavos: string;
  created_at: Date;
  updated_at: Date;
  version: number;
}

export function toParcela(r: ParcelaDb): Parcela {
  return create(ParcelaSchema, {
    id: r.id,
    cotaId: r.cota_id,
    grupoId: r.grupo_id,
    consorciadoId: r.consorciado_id,
    competencia: r.competencia,
    tipo: ParcelaTipo[r.tipo],
    numero: r.numero,
    vencimento: protoFromDb(r.vencimento),
    valorCentavos: BigInt(r.valor_centavos),
    componentes: {
      fundoComumCentavos: BigInt(r.fundo_comum_centavos),
      taxaAdministracaoCentavos: BigInt(r.taxa_administracao_centavos),
      fundoReservaCentavos: BigInt(r.fundo_reserva_centavos),
      seguroCentavos: BigInt(r.seguro_centavos),
      taxaAntecipadaCentavos: BigInt(r.taxa_antecipada_centavos),
      diferencaPrecoCentavos: BigInt(r.diferenca_preco_centavos),
      fundoComumPercentual: r.fundo_comum_percentual,
      taxaAdministracaoPercentual: r.taxa_administracao_percentual,
      fundoReservaPercentual: r.fundo_reserva_percentual,
    },
    nossoNumero: r.nosso_numero,
    codigoBarras: r.codigo_barras,
    linhaDigitavel: r.linha_digitavel,
    pixCopiaECola: r.pix_copia_e_cola,
    pixTxid: r.pix_txid,
    situacao: ParcelaSituacao[r.situacao],
    pagoCentavos: BigInt(r.pago_centavos),
    encargosPagosCentavos: BigInt(r.encargos_pagos_centavos),
    createTime: timestampFromDate(new Date(r.created_at)),
    updateTime: timestampFromDate(new Date(r.updated_at)),
    version: r.version,
  });
}

/** The consorciado an owner-scoped caller is, or undefined for staff and services. */
export const ownerOf = (context: HandlerContext) => context.values.get(ownerScopeKey)?.consorciadoId;

/** Refuses an owner-scoped caller a cota that is not theirs. */
export async function requireCotaDoOwner(em: EntityManager, context: HandlerContext, cotaId: string) {
  const owner = ownerOf(context);
  if (owner === undefined) return;
  const cota = await findCota(em, cotaId);
  if (!cota || cota.consorciadoId !== owner) throw new PermissionDeniedError("not your cota");
}

export async function getParcelaRow(em: EntityManager, id: string): Promise<ParcelaDb> {
  const [row] = await em.execute<ParcelaDb[]>(`select ${PARCELA_COLUMNS} from parcela where id = ?`, [id]);
  if (!row) throw new NotFoundError(`parcela ${id} not found`);
  return row;
}

export async function getParcela(em: EntityManager, context: HandlerContext, id: string): Promise<Parcela> {
  const row = await getParcelaRow(em, id);
  await requireCotaDoOwner(em, context, row.cota_id);
  return toParcela(row);
}

export async function listParcelas(
  em: EntityManager,
  context: HandlerContext,
  req: {
    cotaId: string;
    grupoId: string;
    situacao: ParcelaSituacao;
    competencia: string;
    pageSize: number;
    pageToken: string;
  },
): Promise<{ parcelas: Parcela[]; nextPageToken: string }> {
  if (!req.cotaId && !req.grupoId)
    throw new InvalidArgumentError([
      { field: "cota_id", ruleId: "filter.required", message: "cota_id or grupo_id required" },
    ]);
  if (ownerOf(context) !== undefined) {
    if (!req.cotaId)
      throw new InvalidArgumentError([
        { field: "cota_id", ruleId: "owner.cota_required", message: "name one of your cotas" },
      ]);
    await requireCotaDoOwner(em, context, req.cotaId);
  }
  const size = req.pageSize || 100;
  const where: string[] = [];
  const params: unknown[] = [];
  if (req.cotaId) {
    where.push("cota_id = ?");
    params.push(req.cotaId);
  }
  if (req.grupoId) {
    where.push("grupo_id = ?");
    params.push(req.grupoId);
  }
  if (req.situacao) {
    where.push("situacao = ?");
    params.push(ParcelaSituacao[req.situacao]);
  }
  if (req.competencia) {
    where.push("competencia = ?");
    params.push(req.competencia);
  }
  const after = decodePageToken(req.pageToken);
  if (after) {
    where.push("id > ?");
    params.push(after);
  }
  const rows = await em.execute<ParcelaDb[]>(
    `select ${PARCELA_COLUMNS} from parcela where ${where.join(" and ")} order by id limit ?`,
    [...params, size + 1],
  );
  const { items, nextPageToken } = page(rows, size);
  return { parcelas: items.map(toParcela), nextPageToken };
}

interface PagamentoDb {
  id: string;
  parcela_id: string | null;
  cota_id: string | null;
  grupo_id: string | null;
  canal: keyof typeof CanalPagamento;
  canal_id: string;
  valor_centavos: string;
  data_pagamento: string;
  resultado: keyof typeof PagamentoResultado;
  principal_centavos: string;
  multa_centavos: string;
  juros_centavos: string;
  credito_centavos: string;
  estorno_centavos: string;
  motivo: string;
  created_at: Date;
}

const PAGAMENTO_COLUMNS = `id, parcela_id, cota_id, grupo_id, canal, canal_id, valor_centavos::text,
  data_pagamento::text, resultado, principal_centavos::text, multa_centavos::text, juros_centavos::text,
  credito_centavos::text, estorno_centavos::text, motivo, created_at`;

export function toPagamento(r: PagamentoDb): Pagamento {
  return create(PagamentoSchema, {
    id: r.id,
    parcelaId: r.parcela_id ?? "",
    cotaId: r.cota_id ?? "",
    grupoId: r.grupo_id ?? "",
    canal: CanalPagamento[r.canal],
    canalId: r.canal_id,
    valorCentavos: BigInt(r.valor_centavos),
    dataPagamento: protoFromDb(r.data_pagamento),
    resultado: PagamentoResultado[r.resultado],
    principalCentavos: BigInt(r.principal_centavos),
    multaCentavos: BigInt(r.multa_centavos),
    jurosCentavos: BigInt(r.juros_centavos),
    creditoCentavos: BigInt(r.credito_centavos),
    estornoCentavos: BigInt(r.estorno_centavos),
    motivo: r.motivo,
    createTime: timestampFromDate(new Date(r.created_at)),
  });
}

export async function getPagamento(em: EntityManager, id: string): Promise<Pagamento> {
  const [row] = await em.execute<PagamentoDb[]>(`select ${PAGAMENTO_COLUMNS} from pagamento where id = ?`, [
    id,
  ]);
  if (!row) throw new NotFoundError(`pagamento ${id} not found`);
  return toPagamento(row);
}

export async function listPagamentos(
  em: EntityManager,
  req: { parcelaId: string; pageSize: number; pageToken: string },
): Promise<{ pagamentos: Pagamento[]; nextPageToken: string }> {
  const size = req.pageSize || 100;
  const after = decodePageToken(req.pageToken);
  const rows = await em.execute<PagamentoDb[]>(
    `select ${PAGAMENTO_COLUMNS} from pagamento where parcela_id = ? ${after ? "and id > ?" : ""} order by id limit ?`,
    after ? [req.parcelaId, after, size + 1] : [req.parcelaId, size + 1],
  );
  const { items, nextPageToken } = page(rows, size);
  return { pagamentos: items.map(toPagamento), nextPageToken };
}
