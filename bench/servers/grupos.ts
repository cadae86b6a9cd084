// grupos with the full platform chain (fresh database, RabbitMQ, Redis), calling the consorciados
// and identidade of servers/grupos-peers.ts (BENCH_GRUPOS_PEERS), with empty grupos to fill.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Indice, Segmento, TipoLance } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import { service } from "../../services/grupos/src/service.ts";
import { deleteQueues, startTestService } from "../../services/platform/src/testing.ts";
import { serveChild } from "../lib/child.ts";
import type { GruposPeersInfo } from "./grupos-peers.ts";

export interface GruposInfo {
  port: number;
  databaseUrl: string;
  /** Empty grupos of BENCH_GRUPOS_COTAS cotas each (BENCH_GRUPOS_COUNT of them). */
  grupoIds: string[];
}

const peers = JSON.parse(process.env.BENCH_GRUPOS_PEERS ?? "{}") as GruposPeersInfo;
const count = Number(process.env.BENCH_GRUPOS_COUNT ?? "1");
const cotas = Number(process.env.BENCH_GRUPOS_COTAS ?? "10000");
const queue = `grupos.bench.${process.pid}`;
const running = await startTestService(service, {
  JWKS_URL: peers.jwksUrl,
  IDENTIDADE_URL: peers.identidadeUrl,
  CONSORCIADOS_URL: peers.consorciadosUrl,
  SERVICE_CLIENT_SECRET: peers.secret,
  GRUPOS_QUEUE: queue,
});
const stop = async () => {
  await running.stop();
  await deleteQueues([queue]);
};
try {
  const client = createClient(
    GrupoService,
    createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
  );
  // Two months ahead, on day 20, due on the 5th: a schedule that always holds.
  const first = new Date(Date.now() + 60 * 86_400_000);
  const grupoIds: string[] = [];
  for (let i = 0; i < count; i++) {
    const { grupo } = await client.createGrupo(
      {
        grupo: {
          codigo: `B${process.pid % 10000}-${i}`,
          segmento: Segmento.VEICULO_LEVE,
          bem: { descricao: "Automóvel de referência", precoCentavos: 9_000_000n },
          prazoMeses: 60,
          quantidadeCotas: cotas,
          percentualTaxaAdministracao: "15",
          percentualFundoReserva: "2",
          indice: Indice.IPCA,
          diaVencimento: 5,
          primeiraAssembleia: { year: first.getUTCFullYear(), month: first.getUTCMonth() + 1, day: 20 },
          regrasLance: { tiposPermitidos: [TipoLance.LIVRE] },
        },
      },
      { headers: { authorization: `Bearer ${peers.token}` } },
    );
    grupoIds.push(grupo?.id ?? "");
  }
  const info: GruposInfo = { port: running.service.port, databaseUrl: running.db.url, grupoIds };
  serveChild(info, stop);
} catch (error) {
  await stop();
  throw error;
}
