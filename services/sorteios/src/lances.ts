// SubmitLance and ListLances: one lance per cota per assembleia, replaceable while the window is open.
import { create } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { Dec } from "@consorcio/domain";
import { TipoLance as TipoLanceGrupo } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { LanceRegistradoSchema } from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import type { Lance, TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import {
  type Clock,
  decodeCursor,
  encodeCursor,
  FailedPreconditionError,
  InvalidArgumentError,
  type OwnerScope,
  PermissionDeniedError,
  type UnitOfWork,
} from "@consorcio/platform";
import { LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { uuidv7 } from "uuidv7";
import { hojeEmSaoPaulo } from "./assembleias.ts";
import { valoresDoLance } from "./domain/apuracao.ts";
import { faseJanela, type JanelaLances } from "./domain/janela.ts";
import { percentualDe, type RegrasLance, recusaLance, type TipoLance as Tipo } from "./domain/lances.ts";
import { lanceToMessage, tipoFromMessage } from "./mapping.ts";
import { elegivel, type Peers } from "./peers.ts";
import { AssembleiaRow, LanceRow } from "./store/entities.ts";

const DEFAULT_PAGE_SIZE = 100;
const TIPOS: Record<number, Tipo> = {
  [TipoLanceGrupo.LIVRE]: "LIVRE",
  [TipoLanceGrupo.FIXO]: "FIXO",
  [TipoLanceGrupo.EMBUTIDO]: "EMBUTIDO",
};

export interface SubmitLanceInput {
  assembleiaId: string;
  cotaId: string;
  consorciadoId: string;
  tipo: TipoLance;
  percentual: string;
  percentualEmbutido: string;
}

function percentual(field: string, text: string): Dec {
  try {
    return percentualDe(text);
  } catch {
    throw new InvalidArgumentError([{ field, message: "not a percentage", ruleId: "percentual.format" }]);
  }
}

export class LanceUseCases {
  private readonly peers: Peers;
  private readonly janela: JanelaLances;
  private readonly clock: Clock;

  constructor(peers: Peers, janela: JanelaLances, clock: Clock) {
    this.peers = peers;
    this.janela = janela;
    this.clock = clock;
  }

  async submit(
    uow: UnitOfWork,
    input: SubmitLanceInput,
    owner: OwnerScope | undefined,
    actor: string,
    context: HandlerContext,
  ): Promise<{ lance: Lance; substituiu: boolean }> {
    const { em } = uow;
    // FOR SHARE: lances go in side by side, while closing the window or the apuração (FOR UPDATE)
    // waits for them, so no lance lands after the apuração read them.
    const assembleia = await em.findOne(
      AssembleiaRow,
      { id: input.assembleiaId },
      { lockMode: LockMode.PESSIMISTIC_READ },
    );
    if (!assembleia)
      throw new InvalidArgumentError([{ field: "assembleia_id", message: "no such assembleia" }]);
    if (assembleia.status !== "ABERTA_PARA_LANCES" || assembleia.lancesEncerradosAt)
      throw new FailedPreconditionError("a janela de lances desta assembleia está fechada");
    // The cut-off holds by the date, not only once the window job has run.
    if (faseJanela(this.janela, assembleia.data, hojeEmSaoPaulo(this.clock.now())) === "ENCERRADA")
      throw new FailedPreconditionError("a janela de lances desta assembleia está fechada (prazo encerrado)");
    const cota = await this.peers.cota(input.cotaId, context);
    if (cota.grupoId !== assembleia.grupoId)
      throw new FailedPreconditionError("a cota não é do grupo desta assembleia");
    if (cota.consorciadoId !== input.consorciadoId) {
      if (owner) throw new PermissionDeniedError("a cota não é deste consorciado");
      throw new InvalidArgumentError([{ field: "consorciado_id", message: "not the cota's holder" }]);
    }
    if (!elegivel(cota))
      throw new FailedPreconditionError("a cota não é elegível: deve estar ATIVA e não contemplada");
    const grupo = await this.peers.grupo(assembleia.grupoId, context);
    const r = grupo.regrasLance;
    const regras: RegrasLance = {
      tiposPermitidos: (r?.tiposPermitidos ?? []).flatMap((t) => (TIPOS[t] ? [TIPOS[t]] : [])),
      minimoLivre: percentualDe(r?.percentualMinimoLivre || "0"),
      fixo: r?.percentualFixo ? percentualDe(r.percentualFixo) : undefined,
      maximoEmbutido: percentualDe(r?.percentualMaximoEmbutido || "30"),
    };
    const tipo = tipoFromMessage(input.tipo);
    const proposta = {
      tipo,
      percentual:
        tipo === "FIXO" && input.percentual === "" && regras.fixo
          ? regras.fixo
          : percentual("percentual", input.percentual),
      embutido: percentual("percentual_embutido", input.percentualEmbutido),
    };
    const recusa = recusaLance(regras, proposta);
    if (recusa) throw new FailedPreconditionError(recusa);
    const valores = valoresDoLance(grupo.bem?.precoCentavos ?? 0n, proposta.percentual, proposta.embutido);
    const fields = {
      tipo,
      percentual: proposta.percentual.toFixed(),
      percentualEmbutido: proposta.embutido.toFixed(),
      valorCentavos: valores.lanceCentavos,
      embutidoCentavos: valores.embutidoCentavos,
      registradoPor: actor,
    };
    let row = await em.findOne(LanceRow, { assembleiaId: assembleia.id, cotaId: cota.id });
    const substituiu = row !== null;
    if (row) Object.assign(row, fields);
    else
      row = em.create(LanceRow, {
        id: uuidv7(),
        assembleiaId: assembleia.id,
        grupoId: assembleia.grupoId,
        cotaId: cota.id,
        cotaNumero: cota.numero,
        consorciadoId: cota.consorciadoId,
        status: "REGISTRADO",
        ...fields,
      });
    await em.flush();
    uow.publish(
      LanceRegistradoSchema,
      create(LanceRegistradoSchema, {
        lanceId: row.id,
        assembleiaId: row.assembleiaId,
        grupoId: row.grupoId,
        cotaId: row.cotaId,
        cotaNumero: row.cotaNumero,
        consorciadoId: row.consorciadoId,
        tipo: input.tipo,
        percentual: row.percentual,
        percentualEmbutido: row.percentualEmbutido,
        substituiu,
      }),
    );
    return { lance: lanceToMessage(row), substituiu };
  }

  async list(
    em: EntityManager,
    input: { assembleiaId: string; consorciadoId: string; pageSize: number; pageToken: string },
  ): Promise<{ lances: Lance[]; nextPageToken: string }> {
    const pageSize = input.pageSize || DEFAULT_PAGE_SIZE;
    const after = decodeCursor(input.pageToken, /^[0-9]{1,6}$/);
    const where: Record<string, unknown> = { assembleiaId: input.assembleiaId };
    if (input.consorciadoId) where.consorciadoId = input.consorciadoId;
    if (after) where.cotaNumero = { $gt: Number(after) };
    const rows = await em.find(LanceRow, where, { orderBy: { cotaNumero: "asc" }, limit: pageSize + 1 });
    const items = rows.slice(0, pageSize);
    return {
      lances: items.map(lanceToMessage),
      nextPageToken: rows.length > pageSize ? encodeCursor(String(items.at(-1)?.cotaNumero)) : "",
    };
  }
}
