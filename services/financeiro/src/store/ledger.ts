// Posting to a grupo's ledger, set-based: every entry with its legs in two statements, however
// many entries. The database refuses an unbalanced entry (trigger partida_balanceada).
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { CONTAS, type Conta, type Lancamento, type Saldos, saldosZerados } from "../domain/ledger.ts";
import { bulk } from "./sql.ts";

export interface Posting {
  grupoId: string;
  cotaId?: string | undefined;
  /** What caused it, unique per grupo ("pagamento:<id>:PAGAMENTO_PARCELA"): a replay posts nothing twice. */
  origem: string;
  historico?: string;
  lancamento: Lancamento;
}

/** Posts the entries (skipping any whose origem the grupo already has); returns how many were new. */
export async function postLancamentos(em: EntityManager, postings: readonly Posting[]): Promise<number> {
  if (postings.length === 0) return 0;
  const ids = postings.map(() => uuidv7());
  const inserted = await bulk<{ id: string }>(
    em,
    `insert into lancamento (id, grupo_id, cota_id, tipo, historico, origem)
     select id, grupo_id, cota_id, tipo, historico, origem
       from json_to_recordset(?::json) as t(id uuid, grupo_id uuid, cota_id uuid, tipo text, historico text, origem text)
     on conflict (grupo_id, origem) do nothing returning id`,
    [
      JSON.stringify(
        postings.map((p, i) => ({
          id: ids[i],
          grupo_id: p.grupoId,
          cota_id: p.cotaId ?? null,
          tipo: p.lancamento.tipo,
          historico: p.historico ?? "",
          origem: p.origem,
        })),
      ),
    ],
  );
  const fresh = new Set(inserted.map((r) => r.id));
  const legs: { l: string; g: string; c: string; v: string }[] = [];
  postings.forEach((p, i) => {
    const id = ids[i] as string;
    if (!fresh.has(id)) return;
    for (const linha of p.lancamento.linhas)
      legs.push({ l: id, g: p.grupoId, c: linha.conta, v: linha.valorCentavos.toString() });
  });
  // Every leg in one statement: the balance trigger sees each entry whole.
  if (legs.length > 0)
    await bulk(
      em,
      `insert into partida (lancamento_id, grupo_id, conta, valor_centavos)
       select l, g, c, v from json_to_recordset(?::json) as t(l uuid, g uuid, c text, v bigint)`,
      [JSON.stringify(legs)],
    );
  return fresh.size;
}

export async function saldosDoGrupo(em: EntityManager, grupoId: string): Promise<Saldos> {
  const rows = await bulk<{ conta: Conta; saldo: string }>(
    em,
    "select conta, sum(valor_centavos)::text as saldo from partida where grupo_id = ? group by conta",
    [grupoId],
  );
  const saldos = saldosZerados();
  for (const row of rows)
    if ((CONTAS as readonly string[]).includes(row.conta)) saldos[row.conta] = BigInt(row.saldo);
  return saldos;
}

/** The legs of the entry a grupo posted for `origem`, if any (to reverse it). */
export async function lancamentoPorOrigem(
  em: EntityManager,
  grupoId: string,
  origem: string,
): Promise<Lancamento | undefined> {
  const rows = await bulk<{ tipo: string; conta: Conta; valor: string }>(
    em,
    `select l.tipo, p.conta, p.valor_centavos::text as valor from lancamento l
       join partida p on p.lancamento_id = l.id where l.grupo_id = ? and l.origem = ?`,
    [grupoId, origem],
  );
  const first = rows[0];
  if (!first) return undefined;
  return {
    tipo: first.tipo as Lancamento["tipo"],
    linhas: rows.map((r) => ({ conta: r.conta, valorCentavos: BigInt(r.valor) })),
  };
}
