// The participation history of each consorciado, fed by grupos' events, and the retention clock
// it drives: a closed grupo (GrupoEncerrado) dates its participants' rows, and an erasure that was
// waiting for the person's last grupo to close gets its due date (5 years after, DOMAIN.md §7).

import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { CausaAlteracao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaAderidaSchema,
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
  CotaTransferidaSchema,
  GrupoEncerradoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import {
  type ConsumerDefinition,
  type IncomingMessage,
  type Logger,
  on,
  type UnitOfWork,
} from "@consorcio/platform";
import { uuidv7 } from "uuidv7";
import { anonymizationDue } from "../domain/consorciado.ts";
import { ConsorciadoRow, GrupoEncerradoRow, ParticipacaoRow } from "../store/entities.ts";

export interface Participacao {
  consorciadoId: string;
  grupoId: string;
  cotaId: string;
  cotaNumero: number;
  /** ADESAO, CANCELAMENTO, CESSAO_CEDIDA, CESSAO_RECEBIDA, or the cause of a change of situation. */
  evento: string;
  occurredAt: Date;
}

const when = (time: Timestamp | undefined, message: IncomingMessage) =>
  time ? timestampDate(time) : message.timestamp;

export class Participacoes {
  private readonly logger: Logger;

  constructor(logger: Logger) {
    this.logger = logger;
  }

  /** Records rows of known consorciados; a row of a grupo already closed carries its closing date. */
  async registrar(uow: UnitOfWork, rows: readonly Participacao[]): Promise<void> {
    const { em } = uow;
    for (const row of rows) {
      if (!(await em.findOne(ConsorciadoRow, { id: row.consorciadoId }, { fields: ["id"] }))) {
        this.logger.warn(
          { grupo: row.grupoId, evento: row.evento },
          "participation of an unknown consorciado dropped",
        );
        continue;
      }
      const encerrado = await em.findOne(GrupoEncerradoRow, { grupoId: row.grupoId });
      em.create(ParticipacaoRow, {
        id: uuidv7(),
        consorciadoId: row.consorciadoId,
        grupoId: row.grupoId,
        cotaId: row.cotaId,
        cotaNumero: row.cotaNumero,
        evento: row.evento,
        valorCentavos: null,
        occurredAt: row.occurredAt,
        grupoEncerradoAt: encerrado?.encerradoAt ?? null,
      });
    }
    await em.flush();
  }

  /** Dates the grupo's rows and schedules the erasures that were waiting for it. */
  async grupoEncerrado(uow: UnitOfWork, grupoId: string, encerradoAt: Date): Promise<void> {
    const { em } = uow;
    await em.execute(
      "insert into grupo_encerrado (grupo_id, encerrado_at) values (?, ?) on conflict do nothing",
      [grupoId, encerradoAt],
    );
    await em.nativeUpdate(
      ParticipacaoRow,
      { grupoId, grupoEncerradoAt: null },
      { grupoEncerradoAt: encerradoAt },
    );
    const participantes = await em.execute<{ consorciado_id: string }[]>(
      "select distinct consorciado_id from participacao where grupo_id = ?",
      [grupoId],
    );
    if (participantes.length === 0) return;
    const waiting = await em.find(ConsorciadoRow, {
      id: { $in: participantes.map((p) => p.consorciado_id) },
      erasureRequestedAt: { $ne: null },
      anonymizationDueAt: null,
      anonymizedAt: null,
    });
    for (const consorciado of waiting) {
      const closings = (await em.find(ParticipacaoRow, { consorciadoId: consorciado.id })).map(
        (p) => p.grupoEncerradoAt ?? null,
      );
      // Another grupo of theirs still runs: its own closing will schedule the erasure.
      if (closings.includes(null) || !consorciado.erasureRequestedAt) continue;
      const last = closings.reduce<Date | undefined>(
        (max, d) => (d && (!max || d > max) ? d : max),
        undefined,
      );
      consorciado.anonymizationDueAt = anonymizationDue(consorciado.erasureRequestedAt, last);
    }
    await em.flush();
  }
}

/** The consumer of grupos' events; the list is built without dependencies to declare the queue. */
export function participacaoConsumer(
  queue: string,
  participacoes: Participacoes | undefined,
): ConsumerDefinition {
  const use = () => {
    if (!participacoes) throw new Error("the participation consumer needs its dependencies");
    return participacoes;
  };
  return {
    queue,
    handlers: [
      on(CotaAderidaSchema, (uow, e, message) =>
        use().registrar(uow, [
          {
            consorciadoId: e.consorciadoId,
            grupoId: e.grupoId,
            cotaId: e.cotaId,
            cotaNumero: e.numero,
            evento: "ADESAO",
            occurredAt: when(e.adesaoTime, message),
          },
        ]),
      ),
      on(CotaCanceladaSchema, (uow, e, message) =>
        use().registrar(uow, [
          {
            consorciadoId: e.consorciadoId,
            grupoId: e.grupoId,
            cotaId: e.cotaId,
            cotaNumero: e.numero,
            evento: "CANCELAMENTO",
            occurredAt: when(e.cancelamentoTime, message),
          },
        ]),
      ),
      on(CotaTransferidaSchema, (uow, e, message) => {
        const common = { grupoId: e.grupoId, cotaId: e.cotaId, cotaNumero: e.numero };
        const occurredAt = when(e.transferenciaTime, message);
        return use().registrar(uow, [
          { ...common, consorciadoId: e.cedenteConsorciadoId, evento: "CESSAO_CEDIDA", occurredAt },
          { ...common, consorciadoId: e.cessionarioConsorciadoId, evento: "CESSAO_RECEBIDA", occurredAt },
        ]);
      }),
      // Contemplations, arrears and exclusions; adesão and withdrawal come by their own events.
      on(CotaSituacaoAlteradaSchema, async (uow, e, message) => {
        if (e.causa === CausaAlteracao.ADESAO || e.causa === CausaAlteracao.DESISTENCIA) return;
        await use().registrar(uow, [
          {
            consorciadoId: e.consorciadoId,
            grupoId: e.grupoId,
            cotaId: e.cotaId,
            cotaNumero: e.numero,
            evento: CausaAlteracao[e.causa] ?? "SITUACAO",
            occurredAt: when(e.time, message),
          },
        ]);
      }),
      on(GrupoEncerradoSchema, (uow, e, message) =>
        use().grupoEncerrado(uow, e.grupoId, when(e.encerramentoTime, message)),
      ),
    ],
  };
}
