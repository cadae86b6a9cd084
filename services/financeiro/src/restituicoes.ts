// Restitution to an excluded cota (Lei art. 30: % of FC paid × price at the assembleia, less the
// penalty; TA and seguro never refunded) and the full refund of a withdrawal within 7 days.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Dec } from "@consorcio/domain";
import { RestituicaoCalculadaSchema } from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import {
  type Restituicao,
  RestituicaoMotivo,
  RestituicaoSchema,
  RestituicaoSituacao,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import {
  decodePageToken,
  FailedPreconditionError,
  NotFoundError,
  page,
  type UnitOfWork,
} from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { devolucaoDesistencia, pagamentoRestituicao, restituicaoCalculada } from "./domain/ledger.ts";
import { calculateRestituicao } from "./domain/restituicao.ts";
import { engine } from "./mapping.ts";
import { postLancamentos } from "./store/ledger.ts";
import { findCota, findGrupo } from "./store/projecao.ts";

const COLUMNS = `id, cota_id, grupo_id, motivo, fundo_comum_pago_percentual::text, preco_centavos::text,
  penalidade_centavos::text, valor_centavos::text, situacao, created_at`;

interface RestituicaoDb {
  id: string;
  cota_id: string;
  grupo_id: string;
  motivo: keyof typeof RestituicaoMotivo;
  fundo_comum_pago_percentual: string;
  preco_centavos: string;
  penalidade_centavos: string;
  valor_centavos: string;
  situacao: keyof typeof RestituicaoSituacao;
  created_at: Date;
}

function toRestituicao(r: RestituicaoDb): Restituicao {
  return create(RestituicaoSchema, {
    id: r.id,
    cotaId: r.cota_id,
    grupoId: r.grupo_id,
    motivo: RestituicaoMotivo[r.motivo],
    fundoComumPagoPercentual: r.fundo_comum_pago_percentual,
    precoCentavos: BigInt(r.preco_centavos),
    penalidadeCentavos: BigInt(r.penalidade_centavos),
    valorCentavos: BigInt(r.valor_centavos),
    situacao: RestituicaoSituacao[r.situacao],
    createTime: timestampFromDate(new Date(r.created_at)),
  });
}

/** % of the FC a cota paid: each parcela's FC percentage times the share of it paid. */
export async function fundoComumPago(em: EntityManager, cotaId: string): Promise<Dec> {
  const [row] = await em.execute<{ pct: string | null }[]>(
    `select sum(fundo_comum_percentual * least(pago_centavos, valor_centavos)::numeric / valor_centavos)::text as pct
     from parcela where cota_id = ? and valor_centavos > 0`,
    [cotaId],
  );
  return new Dec(row?.pct ?? "0");
}

export async function calcularRestituicao(
  uow: UnitOfWork,
  req: { cotaId: string; precoCentavos: bigint; assembleiaId: string },
): Promise<Restituicao> {
  const { em } = uow;
  const cota = await findCota(em, req.cotaId);
  if (!cota) throw new NotFoundError(`cota ${req.cotaId} not found`);
  if (cota.situacao !== "EXCLUIDA") throw new FailedPreconditionError("only an excluded cota is restituted");
  const [existing] = await em.execute<RestituicaoDb[]>(
    `select ${COLUMNS} from restituicao where cota_id = ? and motivo = 'EXCLUSAO'`,
    [req.cotaId],
  );
  if (existing) return toRestituicao(existing);
  const grupo = await findGrupo(em, cota.grupoId);
  const fc = await fundoComumPago(em, req.cotaId);
  const r = engine(
    () =>
      calculateRestituicao({
        fundoComumPagoPercentual: fc.greaterThan(100) ? new Dec(100) : fc,
        precoAssembleiaCentavos: req.precoCentavos,
        penalidadePercentual: new Dec(grupo?.penalidadeRestituicao ?? "0"),
      }),
    { precoAssembleiaCentavos: "preco_centavos" },
  );
  const id = uuidv7();
  const [row] = await em.execute<RestituicaoDb[]>(
    `insert into restituicao (id, cota_id, grupo_id, motivo, fundo_comum_pago_percentual, preco_centavos,
       penalidade_centavos, valor_centavos, situacao, assembleia_id)
     values (?, ?, ?, 'EXCLUSAO', ?, ?, ?, ?, 'CALCULADA', ?) returning ${COLUMNS}`,
    [
      id,
      cota.id,
      cota.grupoId,
      fc.toFixed(),
      req.precoCentavos.toString(),
      r.penalidadeCentavos.toString(),
      r.liquidoCentavos.toString(),
      req.assembleiaId || null,
    ],
  );
  if (r.liquidoCentavos > 0n)
    await postLancamentos(em, [
      {
        grupoId: cota.grupoId,
        cotaId: cota.id,
        origem: `restituicao:${id}`,
        historico: "restituicao a excluido",
        lancamento: restituicaoCalculada(r.liquidoCentavos),
      },
    ]);
  uow.publish(
    RestituicaoCalculadaSchema,
    create(RestituicaoCalculadaSchema, {
      restituicaoId: id,
      cotaId: cota.id,
      grupoId: cota.grupoId,
      motivo: RestituicaoMotivo.EXCLUSAO,
      valorCentavos: r.liquidoCentavos,
    }),
  );
  return toRestituicao(row as RestituicaoDb);
}

/** A withdrawal within 7 days (CotaCancelada with restituicao_integral): everything paid comes back. */
export async function restituirDesistencia(uow: UnitOfWork, cotaId: string): Promise<void> {
  const { em } = uow;
  const cota = await findCota(em, cotaId);
  if (!cota) return;
  // What the cota's payments paid of each fund, from the pagamento rows (a CNAB file's are booked
  // as one ledger entry per grupo, so the ledger does not have them per cota).
  const [pagos] = await em.execute<{ fc: string; ta: string; fr: string; sg: string }[]>(
    `select coalesce(sum(fundo_comum_centavos), 0)::text as fc, coalesce(sum(taxa_administracao_centavos), 0)::text as ta,
       coalesce(sum(fundo_reserva_centavos), 0)::text as fr, coalesce(sum(seguro_centavos), 0)::text as sg
     from pagamento where cota_id = ?`,
    [cotaId],
  );
  const composicao = {
    fundoComumCentavos: BigInt(pagos?.fc ?? "0"),
    taxaAdministracaoCentavos: BigInt(pagos?.ta ?? "0"),
    fundoReservaCentavos: BigInt(pagos?.fr ?? "0"),
    seguroCentavos: BigInt(pagos?.sg ?? "0"),
  };
  const total =
    composicao.fundoComumCentavos +
    composicao.taxaAdministracaoCentavos +
    composicao.fundoReservaCentavos +
    composicao.seguroCentavos;
  const id = uuidv7();
  const inserted = await em.execute<unknown[]>(
    `insert into restituicao (id, cota_id, grupo_id, motivo, fundo_comum_pago_percentual, preco_centavos,
       penalidade_centavos, valor_centavos, situacao)
     values (?, ?, ?, 'DESISTENCIA', ?, 0, 0, ?, 'CALCULADA') on conflict do nothing returning id`,
    [id, cota.id, cota.grupoId, (await fundoComumPago(em, cotaId)).toFixed(), total.toString()],
  );
  if (inserted.length === 0) return;
  if (total > 0n)
    await postLancamentos(em, [
      {
        grupoId: cota.grupoId,
        cotaId,
        origem: `restituicao:${id}`,
        historico: "desistencia em 7 dias",
        lancamento: devolucaoDesistencia(composicao),
      },
    ]);
  uow.publish(
    RestituicaoCalculadaSchema,
    create(RestituicaoCalculadaSchema, {
      restituicaoId: id,
      cotaId,
      grupoId: cota.grupoId,
      motivo: RestituicaoMotivo.DESISTENCIA,
      valorCentavos: total,
    }),
  );
}

export async function pagarRestituicao(uow: UnitOfWork, id: string): Promise<Restituicao> {
  const { em } = uow;
  const [row] = await em.execute<RestituicaoDb[]>(
    `select ${COLUMNS} from restituicao where id = ? for update`,
    [id],
  );
  if (!row) throw new NotFoundError(`restituicao ${id} not found`);
  if (row.situacao !== "CALCULADA") throw new FailedPreconditionError("already paid");
  await em.execute("update restituicao set situacao = 'PAGA', paga_at = now() where id = ?", [id]);
  const valor = BigInt(row.valor_centavos);
  if (valor > 0n)
    await postLancamentos(em, [
      {
        grupoId: row.grupo_id,
        cotaId: row.cota_id,
        origem: `restituicao:${id}:pagamento`,
        historico: "restituicao paga",
        lancamento: pagamentoRestituicao(valor),
      },
    ]);
  return toRestituicao({ ...row, situacao: "PAGA" });
}

export async function listRestituicoes(
  em: EntityManager,
  req: { grupoId: string; pageSize: number; pageToken: string },
): Promise<{ restituicoes: Restituicao[]; nextPageToken: string }> {
  const size = req.pageSize || 100;
  const after = decodePageToken(req.pageToken);
  const rows = await em.execute<RestituicaoDb[]>(
    `select ${COLUMNS} from restituicao where grupo_id = ? ${after ? "and id > ?" : ""} order by id limit ?`,
    after ? [req.grupoId, after, size + 1] : [req.grupoId, size + 1],
  );
  const { items, nextPageToken } = page(rows, size);
  return { restituicoes: items.map(toRestituicao), nextPageToken };
}
