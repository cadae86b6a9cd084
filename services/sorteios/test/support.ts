// sorteios on a fresh database, trusting a test issuer, with its peers: grupos and financeiro
// are not built yet, so a stand-in serves their contracts (the generated services, over real
// HTTP/2) from state the test sets, and identidade's Token issues the service token.
import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { Dec } from "@consorcio/domain";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaSchema } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { type Cota, CotaSchema, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  type DataCronograma,
  DataCronogramaSchema,
  type Grupo,
  GrupoSchema,
  GrupoStatus,
  TipoLance,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { AssembleiaService } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import { LanceService } from "@consorcio/gen/consorcio/sorteios/v1/lance_service_pb.js";
import { SorteioService } from "@consorcio/gen/consorcio/sorteios/v1/sorteio_service_pb.js";
import { DateSchema } from "@consorcio/gen/google/type/date_pb.js";
import { createTestClock, type TestClock } from "@consorcio/platform/clock.ts";
import {
  createTestDatabase,
  type createTestIssuer,
  serveJwks,
  startTestService,
  type TestDatabase,
  type TestService,
} from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { service } from "../src/service.ts";

export type Issuer = Awaited<ReturnType<typeof createTestIssuer>>;

/** What the stand-in peers answer; tests change it. */
export interface PeerState {
  grupos: Map<string, Grupo>;
  cotas: Map<string, Cota[]>;
  cronogramas: Map<string, DataCronograma[]>;
  caixa: Map<string, { fundoComumCentavos: bigint; fundoReservaCentavos: bigint }>;
  /** The refund an excluded cota would get: served as one paid parcela of that share of the FC. */
  restituicoes: Map<string, bigint>;
  /** ListParcelas calls, by cota id (read-only: nothing is booked). */
  parcelaCalls: string[];
}

export async function startPeers(issuer: Issuer) {
  const state: PeerState = {
    grupos: new Map(),
    cotas: new Map(),
    cronogramas: new Map(),
    caixa: new Map(),
    restituicoes: new Map(),
    parcelaCalls: [],
  };
  const notFound = (what: string) => new ConnectError(`${what} not found`, Code.NotFound);
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(AuthService, {
        async token() {
          return {
            accessToken: await issuer.token({ roles: [Role.SERVICE], subject: "svc-sorteios" }),
            expiresIn: 300,
            tokenType: "Bearer",
          };
        },
      });
      router.service(GrupoService, {
        getGrupo(req) {
          const grupo = state.grupos.get(req.grupoId);
          if (!grupo) throw notFound("grupo");
          return { grupo };
        },
        listGrupos(req) {
          return { grupos: [...state.grupos.values()].filter((g) => !req.status || g.status === req.status) };
        },
        getCronograma(req) {
          return { datas: state.cronogramas.get(req.grupoId) ?? [] };
        },
      });
      router.service(CotaService, {
        getCota(req) {
          for (const cotas of state.cotas.values()) {
            const cota = cotas.find((c) => c.id === req.cotaId);
            if (cota) return { cota };
          }
          throw notFound("cota");
        },
        listCotas(req) {
          const all = state.cotas.get(req.grupoId) ?? [];
          const start = req.pageToken ? Number(req.pageToken) : 0;
          const size = req.pageSize || 100;
          const page = all.slice(start, start + size);
          return { cotas: page, nextPageToken: start + size < all.length ? String(start + size) : "" };
        },
      });
      router.service(LedgerService, {
        getCaixaDisponivel(req) {
          const caixa = state.caixa.get(req.grupoId);
          if (!caixa) throw notFound("caixa");
          return caixa;
        },
      });
      router.service(ParcelaService, {
        listParcelas(req) {
          state.parcelaCalls.push(req.cotaId);
          const valor = state.restituicoes.get(req.cotaId);
          if (valor === undefined) return { parcelas: [] };
          const percentual = new Dec(valor.toString()).times(100).dividedBy(PRECO.toString()).toFixed();
          return {
            parcelas: [
              create(ParcelaSchema, {
                id: randomUUID(),
                cotaId: req.cotaId,
                valorCentavos: 100_000n,
                pagoCentavos: 100_000n,
                componentes: { fundoComumPercentual: percentual },
              }),
            ],
          };
        },
      });
    },
  });
  const server = http2.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    state,
    url,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export const PRECO = 10_000_000n; // R$ 100.000,00

/** A grupo of `n` cotas, all ATIVA, each held by its own consorciado; `situacoes` overrides some. */
export function addGrupo(
  state: PeerState,
  options: {
    n?: number;
    situacoes?: Record<number, CotaSituacao>;
    fundoComumCentavos: bigint;
    fundoReservaCentavos?: bigint;
    assembleia: string;
  },
): { grupo: Grupo; cotas: Cota[]; cota(numero: number): Cota } {
  const n = options.n ?? 500;
  const grupo = create(GrupoSchema, {
    id: uuidv7(),
    codigo: `T-${randomUUID().slice(0, 6)}`,
    bem: { descricao: "Automóvel", precoCentavos: PRECO },
    prazoMeses: 60,
    quantidadeCotas: n,
    status: GrupoStatus.ATIVO,
    contemplacoesPorAssembleia: 1,
    regrasLance: {
      tiposPermitidos: [TipoLance.LIVRE, TipoLance.FIXO, TipoLance.EMBUTIDO],
      percentualMinimoLivre: "5",
      percentualFixo: "30",
      percentualMaximoEmbutido: "30",
      prazoPagamentoDiasUteis: 3,
    },
    regrasSorteio: { premiosConsiderados: 5 },
  });
  const cotas = Array.from({ length: n }, (_, i) =>
    create(CotaSchema, {
      id: uuidv7(),
      grupoId: grupo.id,
      numero: i + 1,
      consorciadoId: randomUUID(),
      situacao: options.situacoes?.[i + 1] ?? CotaSituacao.ATIVA,
    }),
  );
  const [year, month, day] = options.assembleia.split("-").map(Number);
  state.grupos.set(grupo.id, grupo);
  state.cotas.set(grupo.id, cotas);
  state.cronogramas.set(grupo.id, [
    create(DataCronogramaSchema, {
      mes: 1,
      assembleia: create(DateSchema, { year: year ?? 0, month: month ?? 0, day: day ?? 0 }),
    }),
  ]);
  state.caixa.set(grupo.id, {
    fundoComumCentavos: options.fundoComumCentavos,
    fundoReservaCentavos: options.fundoReservaCentavos ?? 0n,
  });
  return {
    grupo,
    cotas,
    cota: (numero) => cotas[numero - 1] as Cota,
  };
}

export const QUEUE_PREFIX = "sorteios.test";

/** sorteios itself, on a clock the test moves, calling the stand-in peers. */
export async function startSorteios(
  peersUrl: string,
  issuer: Issuer,
  options: { db?: TestDatabase; clock?: TestClock; queue?: string } = {},
) {
  const jwks = await serveJwks(issuer.jwks);
  const clock = options.clock ?? createTestClock(new Date("2026-12-01T12:00:00Z"));
  const queue = options.queue ?? `${QUEUE_PREFIX}.${randomUUID().slice(0, 8)}`;
  const db = options.db ?? (await createTestDatabase("sorteios"));
  const running: TestService = await startTestService(
    service,
    {
      JWKS_URL: jwks.url,
      SORTEIOS_QUEUE: queue,
      GRUPOS_URL: peersUrl,
      FINANCEIRO_URL: peersUrl,
      IDENTIDADE_URL: peersUrl,
      SERVICE_CLIENT_SECRET: "test-secret-of-sorteios",
    },
    { clock, db },
  );
  const transport = createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" });
  return {
    ...running,
    db,
    clock,
    queue,
    sorteio: createClient(SorteioService, transport),
    assembleias: createClient(AssembleiaService, transport),
    lances: createClient(LanceService, transport),
    async stop() {
      await running.stop();
      await jwks.close();
    },
  };
}

export const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
