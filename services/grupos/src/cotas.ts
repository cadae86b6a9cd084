// The cota use cases: adesão, withdrawal, cessão, changes of situation and their reads.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { isoDate, parseIsoDate } from "@consorcio/domain";
import {
  type Cota,
  type CotaSituacao,
  type HistoricoCota,
  CotaSituacao as SituacaoEnum,
} from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaAderidaSchema,
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
  CotaTransferidaSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import {
  ConflictError,
  decodeCursor,
  decodePageToken,
  encodeCursor,
  FailedPreconditionError,
  InvalidArgumentError,
  type Logger,
  NotFoundError,
  type OwnerScope,
  PermissionDeniedError,
  page,
  type UnitOfWork,
} from "@consorcio/platform";
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { adesaoRecusa, type GrupoStatus } from "./domain/ciclo.ts";
import {
  aplicar,
  type Causa,
  type Comando,
  cessaoRecusa,
  type EstadoCota,
  type Situacao,
} from "./domain/cota.ts";
import { cronograma, proximoMes } from "./domain/cronograma.ts";
import { dataCivil } from "./domain/datas.ts";
import {
  type CotaEntity,
  type CotaFields,
  causaValue,
  cotaToMessage,
  enumName,
  type GrupoEntity,
  grupoToMessage,
  historicoToMessage,
  parametrosFromJson,
  situacaoValue,
} from "./mapping.ts";
import { CotaHistoricoRow, CotaRow, GrupoRow } from "./store/entities.ts";

const DEFAULT_PAGE_SIZE = 100;

/** Who and what caused a change: the call's subject and request id, or the event's id. */
export interface Origem {
  actor: string;
  origemId: string;
}

export class Cotas {
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  private async load(em: EntityManager, id: string, lock = false): Promise<CotaEntity> {
    const row = await em.findOne(CotaRow, { id }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!row) throw new NotFoundError(`cota ${id} not found`);
    return row;
  }

  private ownedBy(row: CotaEntity, owner: OwnerScope | undefined): void {
    if (owner && row.consorciadoId !== owner.consorciadoId) throw new PermissionDeniedError();
  }

  private async historico(
    em: EntityManager,
    cotaId: string,
    entry: {
      causa: Causa;
      situacaoAnterior: Situacao | null;
      situacao: Situacao;
      contemplada: boolean;
      consorciadoAnteriorId: string | null;
      consorciadoId: string;
    },
    origem: Origem,
    now: Date,
  ): Promise<void> {
    // The cota row is locked (or new) in this transaction: the sequence has no competitor.
    await em.execute(
      `insert into cota_historico (id, cota_id, sequencia, causa, situacao_anterior, situacao, contemplada,
         consorciado_anterior_id, consorciado_id, origem_id, actor, occurred_at)
       select ?, ?, coalesce(max(sequencia), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ?, ?
       from cota_historico where cota_id = ?`,
      [
        uuidv7(),
        cotaId,
        entry.causa,
        entry.situacaoAnterior,
        entry.situacao,
        entry.contemplada,
        entry.consorciadoAnteriorId,
        entry.consorciadoId,
        origem.origemId.slice(0, 128),
        origem.actor.slice(0, 128),
        now,
        cotaId,
      ],
    );
  }

  /**
   * Adesão: the grupo row is locked for the transaction, so adesões to one grupo take numbers
   * one at a time (the lowest free one) and never past its capacity; the partial unique index on
   * (grupo_id, numero) backs it up. The consorciado was checked with consorciados before.
   */
  async aderir(
    uow: UnitOfWork,
    input: { grupoId: string; consorciadoId: string },
    origem: Origem,
    now: Date,
  ): Promise<Cota> {
    const { em } = uow;
    // Locks the grupo row, waiting for any adesão ahead, and counts the cota unless the grupo is
    // full (the condition is checked again on the row as the lock found it).
    const [grupo] = await em.execute<GrupoColumns[]>(
      `update grupo set cotas_ocupadas = cotas_ocupadas + 1
       where id = ? and cotas_ocupadas < quantidade_cotas returning *`,
      [input.grupoId],
    );
    if (!grupo) {
      const [existing] = await em.execute<{ quantidade_cotas: number }[]>(
        "select quantidade_cotas from grupo where id = ?",
        [input.grupoId],
      );
      if (!existing) throw new NotFoundError(`grupo ${input.grupoId} not found`);
      throw new FailedPreconditionError(`grupo full: all ${existing.quantidade_cotas} cotas are taken`);
    }
    const parametros = parametrosFromJson(grupo.parametros);
    const hoje = dataCivil(now);
    const mes = grupo.status === "EM_FORMACAO" ? 1 : proximoMes(cronograma(parametros), hoje);
    const refusal = adesaoRecusa(grupo.status, mes, parametros.prazoMeses);
    if (refusal) throw new FailedPreconditionError(refusal); // the rollback undoes the count
    const cota: CotaFields = {
      id: uuidv7(),
      grupoId: input.grupoId,
      numero: 0,
      consorciadoId: input.consorciadoId,
      situacao: "ATIVA",
      contemplada: false,
      contemplacaoId: null,
      dataAdesao: isoDate(hoje),
      adesaoAt: now,
      updatedAt: now,
      version: 1,
    };
    // In one statement, after the lock (so with a snapshot that sees every earlier adesão): the
    // lowest free number (while no cota was cancelled the numbers taken are 1..count, which the
    // highest shows; else the first gap), the cota and its first history entry.
    const [inserted] = await em.execute<{ numero: number }[]>(
      `with livre as (
         select case when coalesce(max(numero), 0) = ?::int then coalesce(max(numero), 0) + 1
           else (select n from generate_series(1, ?::int) n
                 where not exists (select 1 from cota c
                   where c.grupo_id = ? and c.numero = n and c.situacao <> 'CANCELADA')
                 order by n limit 1) end as n
         from cota where grupo_id = ? and situacao <> 'CANCELADA'),
       nova as (
         insert into cota (id, grupo_id, numero, consorciado_id, situacao, contemplada, contemplacao_id,
           data_adesao, adesao_at, cancelada_at, updated_at, version)
         select ?, ?, livre.n, ?, 'ATIVA', false, null, ?, ?, null, ?, 1 from livre
         returning id, numero, consorciado_id),
       historico as (
         insert into cota_historico (id, cota_id, sequencia, causa, situacao_anterior, situacao, contemplada,
           consorciado_anterior_id, consorciado_id, origem_id, actor, occurred_at)
         select ?, nova.id, 1, 'ADESAO', null, 'ATIVA', false, null, nova.consorciado_id, ?, ?, ? from nova
         returning cota_id)
       select nova.numero from nova, historico`,
      [
        grupo.cotas_ocupadas - 1,
        grupo.quantidade_cotas,
        input.grupoId,
        input.grupoId,
        cota.id,
        cota.grupoId,
        cota.consorciadoId,
        cota.dataAdesao,
        now,
        now,
        uuidv7(),
        origem.origemId.slice(0, 128),
        origem.actor.slice(0, 128),
        now,
      ],
    );
    if (!inserted) throw new Error(`no free number in grupo ${input.grupoId} below its count`);
    cota.numero = Number(inserted.numero);
    const grupoMessage = grupoToMessage(grupoFromColumns(grupo));
    uow.publish(
      CotaAderidaSchema,
      create(CotaAderidaSchema, {
        cotaId: cota.id,
        grupoId: cota.grupoId,
        consorciadoId: cota.consorciadoId,
        numero: cota.numero,
        dataAdesao: { year: hoje.year, month: hoje.month, day: hoje.day },
        adesaoTime: timestampFromDate(now),
        precoCentavos: parametros.bem.precoCentavos,
        prazoMeses: parametros.prazoMeses,
        percentualTaxaAdministracao: parametros.taxaAdministracao,
        percentualFundoReserva: parametros.fundoReserva,
        percentualSeguroMensal: parametros.seguroMensal,
        percentualTaxaAntecipada: parametros.taxaAntecipada ?? "",
        diaVencimento: parametros.diaVencimento,
        mesPrimeiraParcela: mes,
        grupo: grupoMessage,
      }),
    );
    this.publishSituacao(uow, cota, null, "ADESAO", origem, now);
    return cotaToMessage(cota);
  }

  private publishSituacao(
    uow: UnitOfWork,
    cota: {
      id: string;
      grupoId: string;
      numero: number;
      consorciadoId: string;
      situacao: Situacao;
      contemplada: boolean;
    },
    anterior: Situacao | null,
    causa: Causa,
    origem: Origem,
    now: Date,
  ): void {
    uow.publish(
      CotaSituacaoAlteradaSchema,
      create(CotaSituacaoAlteradaSchema, {
        cotaId: cota.id,
        grupoId: cota.grupoId,
        numero: cota.numero,
        consorciadoId: cota.consorciadoId,
        situacaoAnterior: situacaoValue(anterior),
        situacao: situacaoValue(cota.situacao),
        contemplada: cota.contemplada,
        causa: causaValue(causa),
        origemId: origem.origemId,
        time: timestampFromDate(now),
      }),
    );
  }

  async get(em: EntityManager, id: string, owner: OwnerScope | undefined): Promise<Cota> {
    const row = await this.load(em, id);
    this.ownedBy(row, owner);
    return cotaToMessage(row);
  }

  /** By number; a cancelled cota comes before the one that took its number later. */
  async listDoGrupo(
    em: EntityManager,
    input: { grupoId: string; pageSize: number; pageToken: string; situacao: CotaSituacao },
  ): Promise<{ cotas: Cota[]; nextPageToken: string }> {
    if (!(await em.findOne(GrupoRow, { id: input.grupoId }, { fields: ["id"] })))
      throw new NotFoundError(`grupo ${input.grupoId} not found`);
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const cursor = decodeCursor(input.pageToken, /^[0-9]{1,5}:[0-9a-f-]{36}$/);
    const situacao = enumName<Situacao>(SituacaoEnum, input.situacao);
    const where: Record<string, unknown> = { grupoId: input.grupoId };
    if (situacao) where.situacao = situacao;
    if (cursor) {
      const [numero, id] = cursor.split(":");
      where.$or = [{ numero: { $gt: Number(numero) } }, { numero: Number(numero), id: { $gt: id } }];
    }
    const rows = await em.find(CotaRow, where, {
      orderBy: { numero: "asc", id: "asc" },
      limit: pageSize + 1,
    });
    const items = rows.slice(0, pageSize);
    const last = items.at(-1);
    return {
      cotas: items.map(cotaToMessage),
      nextPageToken: rows.length > pageSize && last ? encodeCursor(`${last.numero}:${last.id}`) : "",
    };
  }

  /** Oldest adesão first (ids are UUIDv7). Owner scope is the platform's (owner_field consorciado_id). */
  async listDoConsorciado(
    em: EntityManager,
    input: { consorciadoId: string; pageSize: number; pageToken: string; situacao: CotaSituacao },
  ): Promise<{ cotas: Cota[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodePageToken(input.pageToken);
    const situacao = enumName<Situacao>(SituacaoEnum, input.situacao);
    const where: Record<string, unknown> = { consorciadoId: input.consorciadoId };
    if (situacao) where.situacao = situacao;
    if (after) where.id = { $gt: after };
    const rows = await em.find(CotaRow, where, { orderBy: { id: "asc" }, limit: pageSize + 1 });
    const { items, nextPageToken } = page(rows, pageSize);
    return { cotas: items.map(cotaToMessage), nextPageToken };
  }

  async listHistorico(
    em: EntityManager,
    input: { cotaId: string; pageSize: number; pageToken: string },
    owner: OwnerScope | undefined,
  ): Promise<{ historico: HistoricoCota[]; nextPageToken: string }> {
    const cota = await this.load(em, input.cotaId);
    // A holder sees the history of the cota they hold (its earlier holders by id only).
    this.ownedBy(cota, owner);
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = Number(decodeCursor(input.pageToken, /^[0-9]{1,9}$/) ?? "0");
    const rows = await em.find(
      CotaHistoricoRow,
      { cotaId: input.cotaId, sequencia: { $gt: after } },
      { orderBy: { sequencia: "asc" }, limit: pageSize + 1 },
    );
    const items = rows.slice(0, pageSize);
    return {
      historico: items.map(historicoToMessage),
      nextPageToken: rows.length > pageSize ? encodeCursor(String(items.at(-1)?.sequencia)) : "",
    };
  }

  /** Withdrawal within 7 days of adesão: CANCELADA, refunded in full, its number free again. */
  async desistir(
    uow: UnitOfWork,
    cotaId: string,
    owner: OwnerScope | undefined,
    origem: Origem,
    now: Date,
  ): Promise<Cota> {
    const { em } = uow;
    const found = await this.load(em, cotaId);
    this.ownedBy(found, owner);
    // The grupo first, as adesão locks it: its count of cotas changes with this.
    await em.execute("select 1 from grupo where id = ? for update", [found.grupoId]);
    const row = await this.load(em, cotaId, true);
    const result = aplicar(estadoOf(row), {
      causa: "DESISTENCIA",
      dataAdesao: parseIsoDate(row.dataAdesao),
      hoje: dataCivil(now),
    });
    if (result.tipo !== "alterada") throw new FailedPreconditionError(motivo(result, row));
    const anterior = row.situacao;
    applyEstado(row, result.estado, now);
    row.canceladaAt = now;
    await em.flush();
    await em.execute("update grupo set cotas_ocupadas = cotas_ocupadas - 1 where id = ?", [row.grupoId]);
    await this.historico(em, row.id, historicoEntry(row, anterior, "DESISTENCIA"), origem, now);
    uow.publish(
      CotaCanceladaSchema,
      create(CotaCanceladaSchema, {
        cotaId: row.id,
        grupoId: row.grupoId,
        consorciadoId: row.consorciadoId,
        numero: row.numero,
        causa: causaValue("DESISTENCIA"),
        restituicaoIntegral: true,
        cancelamentoTime: timestampFromDate(now),
      }),
    );
    this.publishSituacao(uow, row, anterior, "DESISTENCIA", origem, now);
    return cotaToMessage(row);
  }

  /** Cessão: the holder changes; number, situation and history stay with the cota. */
  async transferir(
    uow: UnitOfWork,
    input: { cotaId: string; consorciadoId: string; version: number },
    origem: Origem,
    now: Date,
  ): Promise<Cota> {
    const { em } = uow;
    const row = await this.load(em, input.cotaId, true);
    if (input.version > 0 && row.version !== input.version)
      throw new ConflictError("cota changed since it was read: reload and retry");
    const refusal = cessaoRecusa(estadoOf(row));
    if (refusal) throw new FailedPreconditionError(refusal);
    if (row.consorciadoId === input.consorciadoId)
      throw new InvalidArgumentError([
        { field: "consorciado_id", ruleId: "consorciado_id.same", message: "already holds this cota" },
      ]);
    const cedente = row.consorciadoId;
    row.consorciadoId = input.consorciadoId;
    row.updatedAt = now;
    await em.flush();
    await this.historico(
      em,
      row.id,
      { ...historicoEntry(row, row.situacao, "CESSAO"), consorciadoAnteriorId: cedente },
      origem,
      now,
    );
    uow.publish(
      CotaTransferidaSchema,
      create(CotaTransferidaSchema, {
        cotaId: row.id,
        grupoId: row.grupoId,
        numero: row.numero,
        cedenteConsorciadoId: cedente,
        cessionarioConsorciadoId: input.consorciadoId,
        situacao: situacaoValue(row.situacao),
        transferenciaTime: timestampFromDate(now),
      }),
    );
    return cotaToMessage(row);
  }

  /**
   * A change of situation from a consumed event. A fact already applied changes nothing; one
   * that the state machine refuses (a cota cancelled meanwhile, events of another saga) is
   * logged and dropped: an event cannot be refused, and retrying it would not make it legal.
   */
  async fromEvent(
    uow: UnitOfWork,
    input: { cotaId: string; grupoId: string; comando: Comando },
    origem: Origem,
    now: Date,
  ): Promise<void> {
    const row = await uow.em.findOne(CotaRow, { id: input.cotaId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!row || row.grupoId !== input.grupoId) {
      this.logger.warn(
        { cota: input.cotaId, grupo: input.grupoId, causa: input.comando.causa },
        "event for an unknown cota dropped",
      );
      return;
    }
    const result = aplicar(estadoOf(row), input.comando);
    if (result.tipo === "inalterada") return;
    if (result.tipo === "ilegal") {
      this.logger.warn(
        { cota: row.id, causa: input.comando.causa, motivo: result.motivo },
        "illegal transition from an event dropped",
      );
      return;
    }
    const anterior = row.situacao;
    const antes = row.contemplada;
    applyEstado(row, result.estado, now);
    await uow.em.flush();
    await this.historico(uow.em, row.id, historicoEntry(row, anterior, input.comando.causa), origem, now);
    // A restitution draw changes neither: recorded in the history, nothing to announce.
    if (anterior !== row.situacao || antes !== row.contemplada)
      this.publishSituacao(uow, row, anterior, input.comando.causa, origem, now);
  }
}

function estadoOf(row: CotaEntity): EstadoCota {
  return { situacao: row.situacao, contemplada: row.contemplada, contemplacaoId: row.contemplacaoId ?? null };
}

function applyEstado(row: CotaEntity, estado: EstadoCota, now: Date): void {
  row.situacao = estado.situacao;
  row.contemplada = estado.contemplada;
  row.contemplacaoId = estado.contemplacaoId;
  row.updatedAt = now;
}

function historicoEntry(row: CotaEntity, anterior: Situacao, causa: Causa) {
  return {
    causa,
    situacaoAnterior: anterior,
    situacao: row.situacao,
    contemplada: row.contemplada,
    consorciadoAnteriorId: row.consorciadoId,
    consorciadoId: row.consorciadoId,
  };
}

function motivo(result: { tipo: string; motivo?: string }, row: CotaEntity): string {
  return result.motivo ?? `nothing to change for a cota ${row.situacao}`;
}

/** The grupo row as `select *` returns it. */
interface GrupoColumns {
  id: string;
  codigo: string;
  segmento: string;
  status: GrupoStatus;
  quantidade_cotas: number;
  cotas_ocupadas: number;
  parametros: Record<string, unknown>;
  created_at: Date;
  updated_at: Date;
  ativado_at: Date | null;
  encerramento_inicio_at: Date | null;
  encerrado_at: Date | null;
  version: number;
}

function grupoFromColumns(row: GrupoColumns): GrupoEntity {
  return {
    id: row.id,
    codigo: row.codigo,
    segmento: row.segmento,
    status: row.status,
    quantidadeCotas: row.quantidade_cotas,
    cotasOcupadas: row.cotas_ocupadas,
    parametros: row.parametros,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    ativadoAt: row.ativado_at ? new Date(row.ativado_at) : null,
    encerramentoInicioAt: row.encerramento_inicio_at ? new Date(row.encerramento_inicio_at) : null,
    encerradoAt: row.encerrado_at ? new Date(row.encerrado_at) : null,
    version: row.version,
  } as GrupoEntity;
}
