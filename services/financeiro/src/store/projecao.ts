// financeiro's own copy of the grupos and cotas it bills, kept from grupos' events.
import type { EntityManager } from "@mikro-orm/postgresql";

export interface GrupoParams {
  id: string;
  codigo: string;
  precoCentavos: bigint;
  prazoMeses: number;
  taxaAdministracao: string;
  fundoReserva: string;
  seguroMensal: string;
  antecipacaoTaxa: string;
  /** Non-linear plan: %FC per month; empty for linear. */
  fundoComumPorMes: readonly string[];
  diaVencimento: number;
  limiteInadimplencia: number;
  percentualEncargosGrupo: string;
  penalidadeRestituicao: string;
  prazoLanceDiasUteis: number;
  indice: string;
}

export interface GrupoRecord extends GrupoParams {}

export async function upsertGrupo(em: EntityManager, g: GrupoParams): Promise<void> {
  await em.execute(
    `insert into grupo (id, codigo, preco_centavos, prazo_meses, taxa_administracao, fundo_reserva, seguro_mensal,
       antecipacao_taxa, fundo_comum_por_mes, dia_vencimento, limite_inadimplencia, percentual_encargos_grupo,
       penalidade_restituicao, prazo_lance_dias_uteis, indice, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?::numeric[], ?, ?, ?, ?, ?, ?, now())
     on conflict (id) do update set codigo = excluded.codigo, preco_centavos = excluded.preco_centavos,
       prazo_meses = excluded.prazo_meses, taxa_administracao = excluded.taxa_administracao,
       fundo_reserva = excluded.fundo_reserva, seguro_mensal = excluded.seguro_mensal,
       antecipacao_taxa = excluded.antecipacao_taxa, fundo_comum_por_mes = excluded.fundo_comum_por_mes,
       dia_vencimento = excluded.dia_vencimento, limite_inadimplencia = excluded.limite_inadimplencia,
       percentual_encargos_grupo = excluded.percentual_encargos_grupo,
       penalidade_restituicao = excluded.penalidade_restituicao,
       prazo_lance_dias_uteis = excluded.prazo_lance_dias_uteis, indice = excluded.indice, updated_at = now()`,
    [
      g.id,
      g.codigo,
      g.precoCentavos.toString(),
      g.prazoMeses,
      g.taxaAdministracao,
      g.fundoReserva,
      g.seguroMensal || "0",
      g.antecipacaoTaxa || "0",
      g.fundoComumPorMes.length > 0 ? `{${g.fundoComumPorMes.join(",")}}` : null,
      g.diaVencimento,
      g.limiteInadimplencia,
      g.percentualEncargosGrupo || "50",
      g.penalidadeRestituicao || "0",
      g.prazoLanceDiasUteis,
      g.indice,
    ],
  );
}

interface GrupoDbRow {
  id: string;
  codigo: string;
  preco_centavos: string;
  prazo_meses: number;
  taxa_administracao: string;
  fundo_reserva: string;
  seguro_mensal: string;
  antecipacao_taxa: string;
  fundo_comum_por_mes: string[] | null;
  dia_vencimento: number;
  limite_inadimplencia: number;
  percentual_encargos_grupo: string;
  penalidade_restituicao: string;
  prazo_lance_dias_uteis: number;
  indice: string;
}

export async function findGrupo(em: EntityManager, id: string): Promise<GrupoRecord | undefined> {
  const [row] = await em.execute<GrupoDbRow[]>(
    `select id, codigo, preco_centavos::text, prazo_meses, taxa_administracao::text, fundo_reserva::text,
       seguro_mensal::text, antecipacao_taxa::text, fundo_comum_por_mes::text[], dia_vencimento,
       limite_inadimplencia, percentual_encargos_grupo::text, penalidade_restituicao::text,
       prazo_lance_dias_uteis, indice
     from grupo where id = ?`,
    [id],
  );
  if (!row) return undefined;
  return {
    id: row.id,
    codigo: row.codigo,
    precoCentavos: BigInt(row.preco_centavos),
    prazoMeses: row.prazo_meses,
    taxaAdministracao: row.taxa_administracao,
    fundoReserva: row.fundo_reserva,
    seguroMensal: row.seguro_mensal,
    antecipacaoTaxa: row.antecipacao_taxa,
    fundoComumPorMes: row.fundo_comum_por_mes ?? [],
    diaVencimento: row.dia_vencimento,
    limiteInadimplencia: row.limite_inadimplencia,
    percentualEncargosGrupo: row.percentual_encargos_grupo,
    penalidadeRestituicao: row.penalidade_restituicao,
    prazoLanceDiasUteis: row.prazo_lance_dias_uteis,
    indice: row.indice,
  };
}

export type CotaSituacao = "ATIVA" | "INADIMPLENTE" | "CONTEMPLADA" | "EXCLUIDA" | "QUITADA" | "CANCELADA";

export interface CotaParams {
  id: string;
  grupoId: string;
  consorciadoId: string;
  numero: number;
  situacao: CotaSituacao;
  contemplada: boolean;
  /** ISO date. */
  dataAdesao: string;
  mesInicial: number;
}

/** Inserts a cota, or returns false when it is already known (a redelivered CotaAderida). */
export async function insertCota(em: EntityManager, c: CotaParams): Promise<boolean> {
  const rows = await em.execute<unknown[]>(
    `insert into cota (id, grupo_id, consorciado_id, numero, situacao, contemplada, data_adesao, mes_inicial)
     values (?, ?, ?, ?, ?, ?, ?, ?) on conflict (id) do nothing returning id`,
    [
      c.id,
      c.grupoId,
      c.consorciadoId,
      c.numero,
      c.situacao,
      c.contemplada,
      c.dataAdesao,
      Math.max(1, c.mesInicial),
    ],
  );
  return rows.length > 0;
}

export async function updateCotaSituacao(
  em: EntityManager,
  cotaId: string,
  situacao: CotaSituacao,
  contemplada: boolean,
): Promise<void> {
  await em.execute(
    "update cota set situacao = ?, contemplada = ?, updated_at = now(), version = version + 1 where id = ?",
    [situacao, contemplada, cotaId],
  );
}

export async function transferCota(em: EntityManager, cotaId: string, consorciadoId: string): Promise<void> {
  await em.execute(
    "update cota set consorciado_id = ?, updated_at = now(), version = version + 1 where id = ?",
    [consorciadoId, cotaId],
  );
  // Open bills follow the new holder; paid ones stay with who paid them.
  await em.execute(
    "update parcela set consorciado_id = ?, updated_at = now() where cota_id = ? and situacao in ('ABERTA', 'PARCIAL', 'VENCIDA')",
    [consorciadoId, cotaId],
  );
}

export interface CotaRecord {
  id: string;
  grupoId: string;
  consorciadoId: string;
  numero: number;
  situacao: CotaSituacao;
  contemplada: boolean;
  dataAdesao: Date | string;
  creditoCentavos: bigint;
}

export async function findCota(em: EntityManager, id: string): Promise<CotaRecord | undefined> {
  const [row] = await em.execute<
    {
      id: string;
      grupo_id: string;
      consorciado_id: string;
      numero: number;
      situacao: CotaSituacao;
      contemplada: boolean;
      data_adesao: Date | string;
      credito_centavos: string;
    }[]
  >(
    "select id, grupo_id, consorciado_id, numero, situacao, contemplada, data_adesao::text, credito_centavos::text from cota where id = ?",
    [id],
  );
  if (!row) return undefined;
  return {
    id: row.id,
    grupoId: row.grupo_id,
    consorciadoId: row.consorciado_id,
    numero: row.numero,
    situacao: row.situacao,
    contemplada: row.contemplada,
    dataAdesao: row.data_adesao,
    creditoCentavos: BigInt(row.credito_centavos),
  };
}
