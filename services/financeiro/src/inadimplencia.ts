// The daily job: parcelas past their due date (after the business-day grace) become VENCIDA and
// their cotas INADIMPLENTE (InadimplenciaDetectada); a non-contemplated cota that reached the
// grupo's threshold of consecutive unpaid due dates is excluded (CotaExcluida). A contemplated
// cota is never excluded: it goes to collection.
import { create } from "@bufbuild/protobuf";
import { type CivilDate, civilDate, compareDates, isoDate } from "@consorcio/domain";
import {
  CotaExcluidaSchema,
  InadimplenciaDetectadaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import type { EntityManager } from "@mikro-orm/postgresql";
import { vencimentoEfetivo } from "./domain/encargos.ts";
import { civilFromDb, protoFromDb } from "./mapping.ts";
import { enqueueMany } from "./store/outbox-bulk.ts";
import { bulk } from "./store/sql.ts";

/** The civil date in São Paulo at `now`: due dates are Brazilian calendar days. */
export function hojeEmSaoPaulo(now: Date): CivilDate {
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "America/Sao_Paulo",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return civilDate(get("year"), get("month"), get("day"));
}

export interface ResultadoInadimplencia {
  vencidas: number;
  inadimplentes: number;
  excluidas: number;
}

export async function detectInadimplencia(
  em: EntityManager,
  today: CivilDate,
): Promise<ResultadoInadimplencia> {
  // Few distinct due dates: the grace (next business day) is decided per date, in the engine.
  const datas = await bulk<{ vencimento: string }>(
    em,
    `select distinct vencimento::text from parcela
     where situacao in ('ABERTA', 'PARCIAL') and tipo <> 'LANCE' and vencimento < ?`,
    [isoDate(today)],
  );
  const vencidasEm = datas
    .map((d) => d.vencimento)
    .filter((d) => compareDates(vencimentoEfetivo(civilFromDb(d)), today) < 0);
  if (vencidasEm.length === 0) return { vencidas: 0, inadimplentes: 0, excluidas: 0 };
  const marcadas = await bulk<{ id: string; cota_id: string; grupo_id: string; vencimento: string }>(
    em,
    `update parcela set situacao = 'VENCIDA', version = version + 1, updated_at = now()
     where situacao in ('ABERTA', 'PARCIAL') and tipo <> 'LANCE'
       and vencimento in (select d::date from json_array_elements_text(?::json) as d)
     returning id, cota_id, grupo_id, vencimento::text`,
    [JSON.stringify(vencidasEm)],
  );
  if (marcadas.length === 0) return { vencidas: 0, inadimplentes: 0, excluidas: 0 };
  const porCota = new Map<string, { parcelaId: string; grupoId: string; vencimento: string }>();
  for (const m of marcadas) {
    const prev = porCota.get(m.cota_id);
    if (!prev || prev.vencimento < m.vencimento)
      porCota.set(m.cota_id, { parcelaId: m.id, grupoId: m.grupo_id, vencimento: m.vencimento });
  }
  // Consecutive unpaid due dates: overdue parcelas after the last one paid.
  const cotas = await bulk<{
    id: string;
    contemplada: boolean;
    situacao: string;
    limite: number;
    vencidas: number;
  }>(
    em,
    `select c.id, c.contemplada, c.situacao, g.limite_inadimplencia as limite,
       (select count(*)::int from parcela p where p.cota_id = c.id and p.tipo <> 'LANCE' and p.situacao = 'VENCIDA'
          and p.vencimento > coalesce((select max(q.vencimento) from parcela q
            where q.cota_id = c.id and q.tipo <> 'LANCE' and q.situacao = 'PAGA'), '-infinity'::date)) as vencidas
     from cota c join grupo g on g.id = c.grupo_id
     where c.id in (select k::uuid from json_array_elements_text(?::json) as k)`,
    [JSON.stringify([...porCota.keys()])],
  );
  const excluir = cotas.filter(
    (c) =>
      !c.contemplada && c.situacao !== "EXCLUIDA" && c.situacao !== "CANCELADA" && c.vencidas >= c.limite,
  );
  const headers = { actor: "system" };
  // A contemplated cota in arrears is INADIMPLENTE too (with contemplada kept), as grupos holds
  // it: else a late payment finds it not INADIMPLENTE and never sends InadimplenciaRegularizada.
  await bulk(
    em,
    `update cota set situacao = 'INADIMPLENTE', updated_at = now()
     where situacao in ('ATIVA', 'CONTEMPLADA') and id in (select k::uuid from json_array_elements_text(?::json) as k)`,
    [JSON.stringify(cotas.map((c) => c.id))],
  );
  await enqueueMany(
    em,
    InadimplenciaDetectadaSchema,
    cotas.map((c) => {
      const last = porCota.get(c.id) as { parcelaId: string; grupoId: string; vencimento: string };
      return create(InadimplenciaDetectadaSchema, {
        cotaId: c.id,
        grupoId: last.grupoId,
        parcelaId: last.parcelaId,
        vencimento: protoFromDb(last.vencimento),
        parcelasVencidas: c.vencidas,
      });
    }),
    headers,
  );
  if (excluir.length > 0) {
    const ids = JSON.stringify(excluir.map((c) => c.id));
    await bulk(
      em,
      `update cota set situacao = 'EXCLUIDA', updated_at = now(), version = version + 1
       where id in (select k::uuid from json_array_elements_text(?::json) as k)`,
      [ids],
    );
    // An excluded cota is billed no more; what it owes stays on record.
    await bulk(
      em,
      `update parcela set situacao = 'CANCELADA', version = version + 1, updated_at = now()
       where situacao = 'ABERTA' and cota_id in (select k::uuid from json_array_elements_text(?::json) as k)`,
      [ids],
    );
    await enqueueMany(
      em,
      CotaExcluidaSchema,
      excluir.map((c) =>
        create(CotaExcluidaSchema, {
          cotaId: c.id,
          grupoId: porCota.get(c.id)?.grupoId ?? "",
          parcelasVencidas: c.vencidas,
        }),
      ),
      headers,
    );
  }
  return { vencidas: marcadas.length, inadimplentes: cotas.length, excluidas: excluir.length };
}
