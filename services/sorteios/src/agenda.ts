// Assembleias come from the grupos' cronograma: scheduled ahead by a job, and at once when a
// grupo is created or activated.
import type { Logger, Transactions, UnitOfWork } from "@consorcio/platform";
import type { AssembleiaUseCases } from "./assembleias.ts";
import { dateToText } from "./mapping.ts";
import type { Peers } from "./peers.ts";

export class Agenda {
  private readonly assembleias: AssembleiaUseCases;
  private readonly peers: Peers;
  private readonly horizonteDias: number;

  constructor(assembleias: AssembleiaUseCases, peers: Peers, horizonteDias: number) {
    this.assembleias = assembleias;
    this.peers = peers;
    this.horizonteDias = horizonteDias;
  }

  /** Schedules the grupo's assembleias from today to the horizon; returns how many are new. */
  async agendarGrupo(uow: UnitOfWork, grupoId: string, now: Date): Promise<number> {
    const hoje = now.toISOString().slice(0, 10);
    const limite = new Date(now.getTime() + this.horizonteDias * 86_400_000).toISOString().slice(0, 10);
    let novas = 0;
    for (const data of await this.peers.cronograma(grupoId)) {
      const dia = dateToText(data.assembleia);
      if (dia < hoje || dia > limite) continue;
      if (await this.assembleias.agendar(uow, grupoId, data.mes, dia, now)) novas++;
    }
    return novas;
  }

  /** The job: every forming or active grupo, each in its own transaction. */
  async agendarTodos(tx: Transactions, logger: Logger, now: Date): Promise<number> {
    let total = 0;
    for (const grupo of await this.peers.gruposComAssembleias()) {
      try {
        total += await tx.job((uow) => this.agendarGrupo(uow, grupo.id, now));
      } catch (error) {
        logger.warn({ err: error, grupoId: grupo.id }, "assembleias of a grupo not scheduled");
      }
    }
    return total;
  }
}
