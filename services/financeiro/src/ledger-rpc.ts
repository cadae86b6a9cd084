// Reading a grupo's ledger: balances (always summing to zero), the cash for contemplations, entries.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Balancete,
  BalanceteSchema,
  Conta,
  type Lancamento,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { decodePageToken, page } from "@consorcio/platform";
import type { EntityManager } from "@mikro-orm/postgresql";
import { CONTAS, caixaDisponivel, somaDosSaldos } from "./domain/ledger.ts";
import { saldosDoGrupo } from "./store/ledger.ts";

export async function getCaixa(em: EntityManager, grupoId: string) {
  return caixaDisponivel(await saldosDoGrupo(em, grupoId));
}

export async function getBalancete(em: EntityManager, grupoId: string): Promise<Balancete> {
  const saldos = await saldosDoGrupo(em, grupoId);
  return create(BalanceteSchema, {
    grupoId,
    saldos: CONTAS.map((conta) => ({ conta: Conta[conta], saldoCentavos: saldos[conta] })),
    somaCentavos: somaDosSaldos(saldos),
  });
}

export async function listLancamentos(
  em: EntityManager,
  req: { grupoId: string; cotaId: string; pageSize: number; pageToken: string },
): Promise<{ lancamentos: Lancamento[]; nextPageToken: string }> {
  const size = req.pageSize || 100;
  const after = decodePageToken(req.pageToken);
  const params: unknown[] = [req.grupoId];
  let where = "l.grupo_id = ?";
  if (req.cotaId) {
    where += " and l.cota_id = ?";
    params.push(req.cotaId);
  }
  if (after) {
    where += " and l.id > ?";
    params.push(after);
  }
  const rows = await em.execute<
    {
      id: string;
      cota_id: string | null;
      tipo: string;
      historico: string;
      created_at: Date;
      partidas: { conta: keyof typeof Conta; v: string }[];
    }[]
  >(
    `select l.id, l.cota_id, l.tipo, l.historico, l.created_at,
       (select json_agg(json_build_object('conta', p.conta, 'v', p.valor_centavos::text)) from partida p where p.lancamento_id = l.id) as partidas
     from lancamento l where ${where} order by l.id limit ?`,
    [...params, size + 1],
  );
  const { items, nextPageToken } = page(rows, size);
  return {
    lancamentos: items.map((r) => ({
      $typeName: "consorcio.financeiro.v1.Lancamento",
      id: r.id,
      grupoId: req.grupoId,
      cotaId: r.cota_id ?? "",
      tipo: r.tipo,
      historico: r.historico,
      partidas: (r.partidas ?? []).map((p) => ({
        $typeName: "consorcio.financeiro.v1.Partida",
        conta: Conta[p.conta],
        valorCentavos: BigInt(p.v),
      })),
      createTime: timestampFromDate(new Date(r.created_at)),
    })),
    nextPageToken,
  };
}
