// What sorteios asks grupos and financeiro, through the platform's service clients.
import { createHash } from "node:crypto";
import type { HandlerContext } from "@connectrpc/connect";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { RestituicaoService } from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { type Cota, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import { type DataCronograma, type Grupo, GrupoStatus } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import type { ServiceClients } from "@consorcio/platform";

/** The peers' services this one calls (the ServiceDefinition's `calls`). */
export const PEER_SERVICES = [GrupoService, CotaService, LedgerService, RestituicaoService] as const;

export interface Caixa {
  fundoComumCentavos: bigint;
  fundoReservaCentavos: bigint;
}

export class Peers {
  private readonly clients: ServiceClients;

  constructor(clients: ServiceClients) {
    this.clients = clients;
  }

  async grupo(grupoId: string, context?: HandlerContext): Promise<Grupo> {
    const { grupo } = await this.clients.get(GrupoService, context).getGrupo({ grupoId });
    if (!grupo) throw new Error(`grupos answered no grupo for ${grupoId}`);
    return grupo;
  }

  async cota(cotaId: string, context?: HandlerContext): Promise<Cota> {
    const { cota } = await this.clients.get(CotaService, context).getCota({ cotaId });
    if (!cota) throw new Error(`grupos answered no cota for ${cotaId}`);
    return cota;
  }

  /** Every cota of the grupo, by number. */
  async cotas(grupoId: string, context?: HandlerContext): Promise<Cota[]> {
    const client = this.clients.get(CotaService, context);
    const cotas: Cota[] = [];
    let pageToken = "";
    do {
      const page = await client.listCotas({ grupoId, pageSize: 1000, pageToken });
      cotas.push(...page.cotas);
      pageToken = page.nextPageToken;
    } while (pageToken);
    return cotas;
  }

  async cronograma(grupoId: string, context?: HandlerContext): Promise<DataCronograma[]> {
    return (await this.clients.get(GrupoService, context).getCronograma({ grupoId })).datas;
  }

  /** Grupos that hold assembleias: forming (the first one activates it) and active. */
  async gruposComAssembleias(): Promise<Grupo[]> {
    const client = this.clients.get(GrupoService);
    const grupos: Grupo[] = [];
    for (const status of [GrupoStatus.EM_FORMACAO, GrupoStatus.ATIVO]) {
      let pageToken = "";
      do {
        const page = await client.listGrupos({ status, pageSize: 500, pageToken });
        grupos.push(...page.grupos);
        pageToken = page.nextPageToken;
      } while (pageToken);
    }
    return grupos;
  }

  /** The cash contemplations may spend (financeiro's ledger). */
  async caixa(grupoId: string, context?: HandlerContext): Promise<Caixa> {
    const r = await this.clients.get(LedgerService, context).getCaixaDisponivel({ grupoId });
    return { fundoComumCentavos: r.fundoComumCentavos, fundoReservaCentavos: r.fundoReservaCentavos };
  }

  /** The refund of an excluded cota at this assembleia's price; keyed so a retry computes it once. */
  async restituicao(
    input: { cotaId: string; precoCentavos: bigint; assembleiaId: string },
    context?: HandlerContext,
  ): Promise<bigint> {
    const { restituicao } = await this.clients.get(RestituicaoService, context).calculateRestituicao({
      ...input,
      requestId: restituicaoRequestId(input.assembleiaId, input.cotaId),
    });
    if (!restituicao) throw new Error(`financeiro answered no restituição for ${input.cotaId}`);
    return restituicao.valorCentavos;
  }
}

/**
 * The request id of an assembleia's CalculateRestituicao of a cota: a digest of both ids, since
 * the contract allows 64 characters and the two UUIDs with a prefix are 82.
 */
export function restituicaoRequestId(assembleiaId: string, cotaId: string): string {
  return `sorteios:restituicao:${createHash("sha256").update(`${assembleiaId}:${cotaId}`).digest("base64url").slice(0, 32)}`;
}

/** Competes in sorteio and lances: ATIVA and not contemplated (no overdue parcela: not INADIMPLENTE). */
export function elegivel(cota: Cota): boolean {
  return cota.situacao === CotaSituacao.ATIVA && !cota.contemplada;
}

export function excluida(cota: Cota): boolean {
  return cota.situacao === CotaSituacao.EXCLUIDA && !cota.contemplada;
}
