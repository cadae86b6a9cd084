// What sorteios asks grupos and financeiro, through the platform's service clients.
import type { HandlerContext } from "@connectrpc/connect";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { type Cota, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import { type DataCronograma, type Grupo, GrupoStatus } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import type { ServiceClients } from "@consorcio/platform";
import type { ParcelaPaga } from "./domain/restituicao.ts";

/** The peers' services this one calls (the ServiceDefinition's `calls`). */
export const PEER_SERVICES = [GrupoService, CotaService, LedgerService, ParcelaService] as const;

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

  /** The parcelas of a cota as financeiro bills them (read-only): what a restitution is computed from. */
  async parcelas(cotaId: string, context?: HandlerContext): Promise<ParcelaPaga[]> {
    const client = this.clients.get(ParcelaService, context);
    const parcelas: ParcelaPaga[] = [];
    let pageToken = "";
    do {
      const page = await client.listParcelas({ cotaId, pageSize: 500, pageToken });
      for (const p of page.parcelas)
        parcelas.push({
          fundoComumPercentual: p.componentes?.fundoComumPercentual ?? "0",
          valorCentavos: p.valorCentavos,
          pagoCentavos: p.pagoCentavos,
        });
      pageToken = page.nextPageToken;
    } while (pageToken);
    return parcelas;
  }
}

/** Competes in sorteio and lances: ATIVA and not contemplated (no overdue parcela: not INADIMPLENTE). */
export function elegivel(cota: Cota): boolean {
  return cota.situacao === CotaSituacao.ATIVA && !cota.contemplada;
}

export function excluida(cota: Cota): boolean {
  return cota.situacao === CotaSituacao.EXCLUIDA && !cota.contemplada;
}
