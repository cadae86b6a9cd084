// The money side of a contemplação: the credit booked in CREDITOS_A_PAGAR, the lance charged as
// a parcela with a deadline, the booking reversed when the contemplação falls, the credit paid
// out once the lance is paid and the guarantees registered.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { addBusinessDays, type CivilDate, Dec, isoDate } from "@consorcio/domain";
import {
  CreditoLiberadoSchema,
  LanceNaoPagoSchema,
  LancePagoSchema,
  ParcelaGeradaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import {
  type Credito,
  CreditoSchema,
  CreditoSituacao,
  ParcelaTipo,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { FailedPreconditionError, NotFoundError, type UnitOfWork } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { insertParcelas } from "./cobranca.ts";
import type { GeradorDocumentos } from "./documentos.ts";
import { creditoContemplacao, estornoCreditoContemplacao, liberacaoCredito } from "./domain/ledger.ts";
import { allocate } from "./domain/percentual-ledger.ts";
import { competenciaOf, protoFromCivil, protoFromDb } from "./mapping.ts";
import { lancamentoPorOrigem, postLancamentos } from "./store/ledger.ts";
import { findCota, findGrupo } from "./store/projecao.ts";

export interface ContemplacaoInput {
  contemplacaoId: string;
  assembleiaId: string;
  grupoId: string;
  cotaId: string;
  modalidade: string;
  creditoCentavos: bigint;
  lanceCentavos: bigint;
  lanceEmbutidoCentavos: bigint;
  dataAssembleia: CivilDate;
  /** The day the contemplação was made (a compensation's is after the assembleia): the lance deadline runs from it. */
  dataContemplacao: CivilDate;
}

/** Books the credit and charges the cash part of the lance; a redelivery changes nothing. */
export async function processContemplacao(
  uow: UnitOfWork,
  c: ContemplacaoInput,
  documentos: GeradorDocumentos,
): Promise<void> {
  const { em } = uow;
  const grupo = await findGrupo(em, c.grupoId);
  const cota = await findCota(em, c.cotaId);
  if (!grupo || !cota)
    throw new NotFoundError(`cota ${c.cotaId} of grupo ${c.grupoId} unknown to financeiro`);
  const lanceEmDinheiro = c.lanceCentavos - c.lanceEmbutidoCentavos;
  const prazo =
    lanceEmDinheiro > 0n ? addBusinessDays(c.dataContemplacao, grupo.prazoLanceDiasUteis) : undefined;
  const inserted = await em.execute<unknown[]>(
    `insert into credito (contemplacao_id, assembleia_id, grupo_id, cota_id, modalidade, credito_centavos,
       lance_centavos, lance_embutido_centavos, lance_prazo, situacao)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing returning contemplacao_id`,
    [
      c.contemplacaoId,
      c.assembleiaId,
      c.grupoId,
      c.cotaId,
      c.modalidade,
      c.creditoCentavos.toString(),
      c.lanceCentavos.toString(),
      c.lanceEmbutidoCentavos.toString(),
      prazo ? isoDate(prazo) : null,
      prazo ? "AGUARDANDO_LANCE" : "A_LIBERAR",
    ],
  );
  if (inserted.length === 0) return;
  await em.execute(
    "update cota set contemplada = true, situacao = 'CONTEMPLADA', updated_at = now() where id = ?",
    [c.cotaId],
  );
  await postLancamentos(em, [
    {
      grupoId: c.grupoId,
      cotaId: c.cotaId,
      origem: `contemplacao:${c.contemplacaoId}`,
      historico: `credito ${c.modalidade}`,
      lancamento: creditoContemplacao({
        creditoCentavos: c.creditoCentavos,
        lanceEmbutidoCentavos: c.lanceEmbutidoCentavos,
      }),
    },
  ]);
  if (!prazo) return;
  // The lance amortises FC, TA and FR in the plan's proportions (100 : TA : FR).
  const ta = new Dec(grupo.taxaAdministracao);
  const fr = new Dec(grupo.fundoReserva);
  const total = new Dec(100).plus(ta).plus(fr);
  const cash = new Dec(lanceEmDinheiro.toString());
  const [fc, tac, frc] = allocate(lanceEmDinheiro, [
    cash.times(100).dividedBy(total),
    cash.times(ta).dividedBy(total),
    cash.times(fr).dividedBy(total),
  ]) as [bigint, bigint, bigint];
  const preco = new Dec(grupo.precoCentavos.toString());
  const id = uuidv7();
  await insertParcelas(
    em,
    [
      {
        id,
        cotaId: c.cotaId,
        grupoId: c.grupoId,
        consorciadoId: cota.consorciadoId,
        competencia: competenciaOf(c.dataAssembleia),
        tipo: "LANCE",
        numero: 0,
        vencimento: prazo,
        valores: {
          fundoComumCentavos: fc,
          taxaAdministracaoCentavos: tac,
          fundoReservaCentavos: frc,
          seguroCentavos: 0n,
          antecipacaoTaxaCentavos: 0n,
          totalCentavos: lanceEmDinheiro,
        },
        percentuais: {
          fundoComum: new Dec(fc.toString()).times(100).dividedBy(preco),
          taxaAdministracao: new Dec(tac.toString()).times(100).dividedBy(preco),
          fundoReserva: new Dec(frc.toString()).times(100).dividedBy(preco),
        },
        contemplacaoId: c.contemplacaoId,
      },
    ],
    documentos,
  );
  uow.publish(
    ParcelaGeradaSchema,
    create(ParcelaGeradaSchema, {
      parcelaId: id,
      cotaId: c.cotaId,
      grupoId: c.grupoId,
      competencia: competenciaOf(c.dataAssembleia),
      tipo: ParcelaTipo.LANCE,
      vencimento: protoFromCivil(prazo),
      valorCentavos: lanceEmDinheiro,
    }),
  );
}

/** Lance parcelas just paid: their credits wait for the guarantees now (LancePago). */
export async function lancesPagos(uow: UnitOfWork, parcelaIds: readonly string[]): Promise<void> {
  if (parcelaIds.length === 0) return;
  const rows = await uow.em.execute<
    { contemplacao_id: string; assembleia_id: string; cota_id: string; grupo_id: string; lance: string }[]
  >(
    `update credito c set situacao = 'A_LIBERAR', version = c.version + 1
       from parcela p where p.contemplacao_id = c.contemplacao_id and p.tipo = 'LANCE' and p.situacao = 'PAGA'
       and c.situacao = 'AGUARDANDO_LANCE' and p.id in (select k::uuid from json_array_elements_text(?::json) as k)
     returning c.contemplacao_id, c.assembleia_id, c.cota_id, c.grupo_id, c.lance_centavos::text as lance`,
    [JSON.stringify(parcelaIds)],
  );
  for (const r of rows)
    uow.publish(
      LancePagoSchema,
      create(LancePagoSchema, {
        contemplacaoId: r.contemplacao_id,
        assembleiaId: r.assembleia_id,
        cotaId: r.cota_id,
        grupoId: r.grupo_id,
        lanceCentavos: BigInt(r.lance),
      }),
    );
}

/** Reverses the credit booking and cancels an open lance parcela; false when nothing was left to cancel. */
export async function cancelContemplacao(
  em: EntityManager,
  contemplacaoId: string,
): Promise<CreditoDb | undefined> {
  const [row] = await em.execute<CreditoDb[]>(
    `update credito set situacao = 'CANCELADO', version = version + 1
     where contemplacao_id = ? and situacao in ('AGUARDANDO_LANCE', 'A_LIBERAR') returning ${CREDITO_COLUMNS}`,
    [contemplacaoId],
  );
  if (!row) return undefined;
  const booking = await lancamentoPorOrigem(em, row.grupo_id, `contemplacao:${contemplacaoId}`);
  if (booking)
    await postLancamentos(em, [
      {
        grupoId: row.grupo_id,
        cotaId: row.cota_id,
        origem: `contemplacao:${contemplacaoId}:estorno`,
        historico: "contemplacao cancelada",
        lancamento: estornoCreditoContemplacao(booking),
      },
    ]);
  await em.execute(
    `update parcela set situacao = 'CANCELADA', version = version + 1, updated_at = now()
     where contemplacao_id = ? and tipo = 'LANCE' and situacao in ('ABERTA', 'PARCIAL', 'VENCIDA')`,
    [contemplacaoId],
  );
  // grupos sends the cota's new situation; until then it is no longer contemplated here.
  await em.execute(
    "update cota set contemplada = false, situacao = case when situacao = 'CONTEMPLADA' then 'ATIVA' else situacao end where id = ?",
    [row.cota_id],
  );
  return row;
}

/** Lances past their deadline: the contemplação falls (LanceNaoPago); sorteios calls the next one. */
export async function expireLances(uow: UnitOfWork, today: CivilDate): Promise<number> {
  const due = await uow.em.execute<{ contemplacao_id: string }[]>(
    "select contemplacao_id from credito where situacao = 'AGUARDANDO_LANCE' and lance_prazo < ? for update skip locked limit 500",
    [isoDate(today)],
  );
  for (const { contemplacao_id } of due) {
    const row = await cancelContemplacao(uow.em, contemplacao_id);
    if (!row) continue;
    uow.publish(
      LanceNaoPagoSchema,
      create(LanceNaoPagoSchema, {
        contemplacaoId: row.contemplacao_id,
        assembleiaId: row.assembleia_id,
        cotaId: row.cota_id,
        grupoId: row.grupo_id,
        ...(row.lance_prazo ? { prazo: protoFromDb(row.lance_prazo) } : {}),
      }),
    );
  }
  return due.length;
}

export const CREDITO_COLUMNS = `contemplacao_id, assembleia_id, grupo_id, cota_id, credito_centavos::text,
  lance_centavos::text, lance_embutido_centavos::text, lance_prazo::text, situacao, garantias, liberado_at`;

export interface CreditoDb {
  contemplacao_id: string;
  assembleia_id: string;
  grupo_id: string;
  cota_id: string;
  credito_centavos: string;
  lance_centavos: string;
  lance_embutido_centavos: string;
  lance_prazo: string | null;
  situacao: keyof typeof CreditoSituacao;
  garantias: string | null;
  liberado_at: Date | null;
}

export function toCredito(r: CreditoDb): Credito {
  return create(CreditoSchema, {
    contemplacaoId: r.contemplacao_id,
    assembleiaId: r.assembleia_id,
    grupoId: r.grupo_id,
    cotaId: r.cota_id,
    creditoCentavos: BigInt(r.credito_centavos),
    lanceCentavos: BigInt(r.lance_centavos),
    lanceEmbutidoCentavos: BigInt(r.lance_embutido_centavos),
    ...(r.lance_prazo ? { lancePrazo: protoFromDb(r.lance_prazo) } : {}),
    situacao: CreditoSituacao[r.situacao],
    garantiasRegistradas: r.garantias !== null,
    ...(r.liberado_at ? { liberacaoTime: timestampFromDate(new Date(r.liberado_at)) } : {}),
  });
}

export async function getCredito(
  em: EntityManager,
  contemplacaoId: string,
  lock = false,
): Promise<CreditoDb> {
  const [row] = await em.execute<CreditoDb[]>(
    `select ${CREDITO_COLUMNS} from credito where contemplacao_id = ?${lock ? " for update" : ""}`,
    [contemplacaoId],
  );
  if (!row) throw new NotFoundError(`credito of contemplacao ${contemplacaoId} not found`);
  return row;
}

export async function registerGarantias(
  em: EntityManager,
  contemplacaoId: string,
  descricao: string,
): Promise<Credito> {
  const row = await getCredito(em, contemplacaoId, true);
  if (row.situacao === "CANCELADO" || row.situacao === "LIBERADO")
    throw new FailedPreconditionError(`the credit is ${row.situacao}`);
  await em.execute("update credito set garantias = ?, version = version + 1 where contemplacao_id = ?", [
    descricao,
    contemplacaoId,
  ]);
  return toCredito(await getCredito(em, contemplacaoId));
}

export async function liberarCredito(uow: UnitOfWork, contemplacaoId: string): Promise<Credito> {
  const { em } = uow;
  const row = await getCredito(em, contemplacaoId, true);
  if (row.situacao !== "A_LIBERAR")
    throw new FailedPreconditionError(
      row.situacao === "AGUARDANDO_LANCE" ? "the lance is not paid yet" : `the credit is ${row.situacao}`,
    );
  if (row.garantias === null) throw new FailedPreconditionError("the guarantees are not registered");
  const liquido = BigInt(row.credito_centavos) - BigInt(row.lance_embutido_centavos);
  await em.execute(
    "update credito set situacao = 'LIBERADO', liberado_at = now(), version = version + 1 where contemplacao_id = ?",
    [contemplacaoId],
  );
  if (liquido > 0n)
    await postLancamentos(em, [
      {
        grupoId: row.grupo_id,
        cotaId: row.cota_id,
        origem: `contemplacao:${contemplacaoId}:liberacao`,
        historico: "credito liberado",
        lancamento: liberacaoCredito(liquido),
      },
    ]);
  uow.publish(
    CreditoLiberadoSchema,
    create(CreditoLiberadoSchema, {
      contemplacaoId,
      cotaId: row.cota_id,
      grupoId: row.grupo_id,
      creditoCentavos: liquido,
    }),
  );
  return toCredito(await getCredito(em, contemplacaoId));
}
