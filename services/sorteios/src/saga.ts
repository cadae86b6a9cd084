// The contemplação saga, choreographed: sorteios reacts to what grupos and financeiro report.
// Each step locks its assembleia (one step at a time per assembleia) and checks the state it
// moves from, so a redelivered or repeated event changes nothing.
import { create } from "@bufbuild/protobuf";
import {
  CreditoLiberadoSchema,
  LanceNaoPagoSchema,
  LancePagoSchema,
  RestituicaoCalculadaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { RestituicaoMotivo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { CausaAlteracao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaSituacaoAlteradaSchema,
  GrupoAtivadoSchema,
  GrupoCriadoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import {
  ContemplacaoCanceladaSchema,
  MotivoCancelamento,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { type Clock, type ConsumerDefinition, on, type UnitOfWork } from "@consorcio/platform";
import { LockMode } from "@mikro-orm/core";
import type { Agenda } from "./agenda.ts";
import type { ResultadoArmazenado } from "./assembleias.ts";
import { type AssembleiaUseCases, passo } from "./assembleias.ts";
import { type EntradaApuracao, proximoLance } from "./domain/apuracao.ts";
import type { Contemplacoes } from "./mapping.ts";
import { elegivel, type Peers } from "./peers.ts";
import { ApuracaoRow, ContemplacaoRow, LanceRow } from "./store/entities.ts";

export class Saga {
  private readonly assembleias: AssembleiaUseCases;
  private readonly peers: Peers;
  private readonly clock: Clock;

  constructor(assembleias: AssembleiaUseCases, peers: Peers, clock: Clock) {
    this.assembleias = assembleias;
    this.peers = peers;
    this.clock = clock;
  }

  /** The contemplação and its assembleia, the assembleia locked; undefined if not ours. */
  private async lock(uow: UnitOfWork, contemplacaoId: string) {
    if (!contemplacaoId) return undefined;
    const found = await uow.em.findOne(ContemplacaoRow, { id: contemplacaoId });
    if (!found) return undefined;
    const assembleia = await this.assembleias.load(uow.em, found.assembleiaId, true);
    await uow.em.refresh(found);
    return { assembleia, contemplacao: found as Contemplacoes };
  }

  async lancePago(uow: UnitOfWork, contemplacaoId: string, evento: string): Promise<void> {
    const locked = await this.lock(uow, contemplacaoId);
    if (locked?.contemplacao.status !== "PROCESSADA") return;
    const { assembleia, contemplacao } = locked;
    contemplacao.status = "LANCE_PAGO";
    passo(
      uow.em,
      {
        assembleiaId: assembleia.id,
        contemplacaoId,
        cotaNumero: contemplacao.cotaNumero,
        evento,
        descricao: "lance pago",
      },
      this.clock.now(),
    );
    await uow.em.flush();
  }

  async creditoLiberado(uow: UnitOfWork, contemplacaoId: string, evento: string): Promise<void> {
    const locked = await this.lock(uow, contemplacaoId);
    if (!locked) return;
    const { assembleia, contemplacao } = locked;
    if (contemplacao.status !== "PROCESSADA" && contemplacao.status !== "LANCE_PAGO") return;
    contemplacao.status = "CREDITO_LIBERADO";
    const now = this.clock.now();
    passo(
      uow.em,
      {
        assembleiaId: assembleia.id,
        contemplacaoId,
        cotaNumero: contemplacao.cotaNumero,
        evento,
        descricao: "crédito liberado",
      },
      now,
    );
    await uow.em.flush();
    await this.assembleias.encerrarSeConcluida(uow, assembleia, now);
  }

  /** Cancels the unpaid contemplação and passes it to the next lance in rank (compensation). */
  async lanceNaoPago(uow: UnitOfWork, contemplacaoId: string, evento: string): Promise<void> {
    const locked = await this.lock(uow, contemplacaoId);
    // Only a lance still waiting for its payment can go unpaid.
    if (locked?.contemplacao.status !== "PROCESSADA") return;
    const { assembleia, contemplacao } = locked;
    if (contemplacao.modalidade !== "LANCE_FIXO" && contemplacao.modalidade !== "LANCE_LIVRE") return;
    const { em } = uow;
    const now = this.clock.now();
    contemplacao.status = "CANCELADA";
    const lance = await em.findOne(LanceRow, { assembleiaId: assembleia.id, cotaId: contemplacao.cotaId });
    if (lance) lance.status = "CANCELADO";
    uow.publish(
      ContemplacaoCanceladaSchema,
      create(ContemplacaoCanceladaSchema, {
        contemplacaoId,
        assembleiaId: assembleia.id,
        grupoId: assembleia.grupoId,
        cotaId: contemplacao.cotaId,
        cotaNumero: contemplacao.cotaNumero,
        motivo: MotivoCancelamento.LANCE_NAO_PAGO,
        descricao: "lance não pago no prazo",
      }),
    );
    passo(
      em,
      {
        assembleiaId: assembleia.id,
        contemplacaoId,
        cotaNumero: contemplacao.cotaNumero,
        evento,
        descricao: "lance não pago: contemplação cancelada",
      },
      now,
    );

    const apuracao = await em.findOneOrFail(
      ApuracaoRow,
      { assembleiaId: assembleia.id },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    let saldo = BigInt(apuracao.saldoCentavos) + BigInt(contemplacao.custoCentavos);
    const entrada = JSON.parse(apuracao.entradaJson) as EntradaApuracao;
    const resultado = JSON.parse(apuracao.resultadoJson) as ResultadoArmazenado;
    const todas = await em.find(ContemplacaoRow, { assembleiaId: assembleia.id });
    const indisponiveis = new Set(todas.map((c) => c.cotaNumero));
    const cotas = new Map((await this.peers.cotas(assembleia.grupoId)).map((c) => [c.numero, c]));
    for (;;) {
      const proximo = proximoLance(entrada, resultado, indisponiveis, saldo);
      if (!proximo) {
        passo(
          em,
          {
            assembleiaId: assembleia.id,
            evento: ContemplacaoCanceladaSchema.typeName,
            descricao: "sem lance seguinte a contemplar",
          },
          now,
        );
        break;
      }
      const cota = cotas.get(proximo.cota);
      // Eligible at the apuração; it must still be now (a parcela may have fallen overdue since).
      if (!cota || !elegivel(cota)) {
        indisponiveis.add(proximo.cota);
        continue;
      }
      saldo -= proximo.custoCentavos;
      const ordem = Math.max(...todas.map((c) => c.ordem)) + 1;
      this.assembleias.contemplar(uow, assembleia, { ...proximo, ordem }, cotas, now, contemplacaoId);
      const seguinte = await em.findOne(LanceRow, { assembleiaId: assembleia.id, cotaNumero: proximo.cota });
      if (seguinte) seguinte.status = "CONTEMPLADO";
      break;
    }
    apuracao.saldoCentavos = saldo;
    await em.flush();
    await this.assembleias.encerrarSeConcluida(uow, assembleia, now);
  }

  /**
   * financeiro booked the refund of an excluded cota (from our ContemplacaoProcessada): that
   * settles its restitution contemplação. The event names the cota only; a cota has at most one
   * restitution not cancelled, so that is the one.
   */
  async restituicaoCalculada(
    uow: UnitOfWork,
    e: { cotaId: string; valorCentavos: bigint; restituicaoId: string },
    evento: string,
  ): Promise<void> {
    const found = await uow.em.findOne(ContemplacaoRow, {
      cotaId: e.cotaId,
      modalidade: "RESTITUICAO",
      status: "PROCESSADA",
    });
    if (!found) return;
    const locked = await this.lock(uow, found.id);
    if (locked?.contemplacao.status !== "PROCESSADA") return;
    const { assembleia, contemplacao } = locked;
    contemplacao.status = "CREDITO_LIBERADO";
    const apurado = BigInt(contemplacao.custoCentavos);
    const now = this.clock.now();
    passo(
      uow.em,
      {
        assembleiaId: assembleia.id,
        contemplacaoId: contemplacao.id,
        cotaNumero: contemplacao.cotaNumero,
        evento,
        descricao:
          `restituição calculada pelo financeiro: ${e.valorCentavos} centavos` +
          (e.valorCentavos === apurado ? "" : ` (apurada ${apurado})`),
      },
      now,
    );
    await uow.em.flush();
    await this.assembleias.encerrarSeConcluida(uow, assembleia, now);
  }

  /** grupos marked the cota CONTEMPLADA: a step of the saga, recorded. */
  async cotaMarcada(uow: UnitOfWork, cotaId: string, evento: string): Promise<void> {
    const found = await uow.em.findOne(
      ContemplacaoRow,
      { cotaId, status: { $ne: "CANCELADA" }, cotaMarcada: false },
      { orderBy: { createdAt: "desc" } },
    );
    if (!found) return;
    const locked = await this.lock(uow, found.id);
    if (!locked || locked.contemplacao.cotaMarcada) return;
    locked.contemplacao.cotaMarcada = true;
    passo(
      uow.em,
      {
        assembleiaId: locked.assembleia.id,
        contemplacaoId: found.id,
        cotaNumero: found.cotaNumero,
        evento,
        descricao: "cota marcada CONTEMPLADA pelo grupos",
      },
      this.clock.now(),
    );
    await uow.em.flush();
  }
}

/** The saga's queue; `saga` is read at delivery, so the platform can declare the queue without deps. */
export function sagaConsumer(
  queue: string,
  saga: () => Saga,
  agenda: () => Agenda,
  clock: () => Clock,
): ConsumerDefinition {
  return {
    queue,
    handlers: [
      on(GrupoCriadoSchema, async (uow, e) => {
        await agenda().agendarGrupo(uow, e.grupoId, clock().now());
      }),
      on(GrupoAtivadoSchema, async (uow, e) => {
        await agenda().agendarGrupo(uow, e.grupoId, clock().now());
      }),
      on(LancePagoSchema, (uow, e) => saga().lancePago(uow, e.contemplacaoId, LancePagoSchema.typeName)),
      on(LanceNaoPagoSchema, (uow, e) =>
        saga().lanceNaoPago(uow, e.contemplacaoId, LanceNaoPagoSchema.typeName),
      ),
      on(CreditoLiberadoSchema, (uow, e) =>
        saga().creditoLiberado(uow, e.contemplacaoId, CreditoLiberadoSchema.typeName),
      ),
      on(RestituicaoCalculadaSchema, async (uow, e) => {
        if (e.motivo === RestituicaoMotivo.EXCLUSAO)
          await saga().restituicaoCalculada(uow, e, RestituicaoCalculadaSchema.typeName);
      }),
      on(CotaSituacaoAlteradaSchema, async (uow, e) => {
        if (e.causa === CausaAlteracao.CONTEMPLACAO && e.contemplada)
          await saga().cotaMarcada(uow, e.cotaId, CotaSituacaoAlteradaSchema.typeName);
      }),
    ],
  };
}
