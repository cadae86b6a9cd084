// The saga with the real services: identidade (service tokens), consorciados, grupos and
// financeiro, each on its own database, over RabbitMQ. A grupo of 20 cotas whose first parcelas
// are paid in financeiro (the cash), an assembleia scheduled from grupos' cronograma, a sorteio
// and two lances livres; grupos marks the cotas CONTEMPLADA, financeiro books the credits and
// charges the lances; the winning lance goes unpaid past its deadline (financeiro's job emits
// LanceNaoPago), sorteios cancels it and contemplates the next lance, which is paid; the credits
// are released and the saga closes. Every event is delivered twice (a consumer publishes each
// again with its id) and sorteios is down while LanceNaoPago is published, then restarted.
import { randomBytes, randomUUID } from "node:crypto";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { CreditoService } from "@consorcio/gen/consorcio/financeiro/v1/credito_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { ParcelaTipo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import type { Cota } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  Indice,
  Segmento,
  TipoLance as TipoLanceGrupo,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import {
  ContemplacaoStatus,
  Modalidade,
  SagaStatus,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { AssembleiaService } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
import { TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { LanceService } from "@consorcio/gen/consorcio/sorteios/v1/lance_service_pb.js";
import { connectRabbitMqBus, createLogger, type EventBus } from "@consorcio/platform";
import { createTestClock } from "@consorcio/platform/clock.ts";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestS3,
  startTestService,
  type TestDatabase,
  type TestService,
  testServers,
} from "@consorcio/platform/testing.ts";
import { cpfArbitrary } from "@consorcio/testkit";
import fc from "fast-check";
import type { JSONWebKeySet } from "jose";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { service as financeiroService, LANCES_JOB } from "../../financeiro/src/service.ts";
import { financeiroEnv } from "../../financeiro/test/support.ts";
import { service as gruposService } from "../../grupos/src/service.ts";
import { service as identidadeService } from "../../identidade/src/service.ts";
import { AGENDAMENTO_JOB, service } from "../src/service.ts";

const PREMIOS = ["48602", "01927", "82187", "34246", "68744"]; // N = 20: base cota 2
const PRECO = 100_000n; // R$ 1.000,00; 10 months: FC R$ 100,00 a parcela
const tag = randomUUID().slice(0, 8);
const queues = ["consorciados", "grupos", "financeiro", "sorteios"].map((s) => `sorteios.e2e.${tag}.${s}`);
const clock = createTestClock(new Date("2027-01-05T12:00:00Z"));
const running: TestService[] = [];
const closers: Array<() => Promise<void>> = [];
let c: {
  grupos: Client<typeof GrupoService>;
  cotas: Client<typeof CotaService>;
  consorciados: Client<typeof ConsorciadoService>;
  parcelas: Client<typeof ParcelaService>;
  ledger: Client<typeof LedgerService>;
  creditos: Client<typeof CreditoService>;
  assembleias: Client<typeof AssembleiaService>;
  lances: Client<typeof LanceService>;
};
let financeiro: TestService;
let sorteiosEnv: Record<string, string>;
let sorteiosDb: TestDatabase;
let bus: EventBus;
const dupQueue = `sorteios.e2e.${tag}.duplicador`;
const duplicados: string[] = [];
let tokens: { staff: string; operadorA: string; operadorB: string };

beforeAll(async () => {
  const secrets = {
    grupos: randomBytes(24).toString("base64url"),
    financeiro: randomBytes(24).toString("base64url"),
    sorteios: randomBytes(24).toString("base64url"),
  };
  const identidade = await startTestService(identidadeService, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: `Adm-${randomBytes(12).toString("base64url")}`,
    SERVICE_ACCOUNTS: JSON.stringify(secrets),
  });
  running.push(identidade);
  const issuer = await createTestIssuer();
  const own = (await (
    await fetch(`${identidade.service.url}/.well-known/jwks.json`)
  ).json()) as JSONWebKeySet;
  const jwks = await serveJwks({ keys: [...own.keys, ...issuer.jwks.keys] });
  closers.push(() => jwks.close());
  const s3 = await startTestS3();
  closers.push(() => s3.close());
  const consorciados = await startTestService(consorciadosService, {
    PII_MASTER_KEY: randomBytes(32).toString("base64"),
    PII_INDEX_KEY: randomBytes(32).toString("base64"),
    JWKS_URL: jwks.url,
    CONSORCIADOS_QUEUE: queues[0] as string,
  });
  running.push(consorciados);
  const grupos = await startTestService(
    gruposService,
    {
      JWKS_URL: jwks.url,
      IDENTIDADE_URL: identidade.service.url,
      CONSORCIADOS_URL: consorciados.service.url,
      SERVICE_CLIENT_SECRET: secrets.grupos,
      GRUPOS_QUEUE: queues[1] as string,
    },
    { clock },
  );
  running.push(grupos);
  financeiro = await startTestService(
    financeiroService,
    { ...financeiroEnv, ...s3.env, JWKS_URL: jwks.url, FINANCEIRO_QUEUE: queues[2] as string },
    { clock },
  );
  running.push(financeiro);
  sorteiosEnv = {
    JWKS_URL: jwks.url,
    IDENTIDADE_URL: identidade.service.url,
    GRUPOS_URL: grupos.service.url,
    FINANCEIRO_URL: financeiro.service.url,
    SERVICE_CLIENT_SECRET: secrets.sorteios,
    SORTEIOS_QUEUE: queues[3] as string,
  };
  sorteiosDb = await createTestDatabase("sorteios");
  closers.push(() => sorteiosDb.drop());
  const sorteios = await startTestService(service, sorteiosEnv, { clock, db: sorteiosDb });
  running.push(sorteios);
  // Every event on the broker is delivered twice: this consumer publishes each one again, same id.
  bus = await connectRabbitMqBus({
    url: testServers.amqpUrl,
    logger: createLogger({ service: "t", level: "silent" }),
  });
  closers.unshift(() => bus.close());
  await bus.subscribe({
    queue: dupQueue,
    bindings: ["consorcio.grupos.#", "consorcio.financeiro.#", "consorcio.sorteios.#"],
    handler: async (m) => {
      if (m.headers["x-duplicado"]) return;
      duplicados.push(m.type);
      await bus.publish([
        {
          id: m.id,
          type: m.type,
          routingKey: m.type,
          body: m.body,
          headers: { ...m.headers, "x-duplicado": "1" },
          timestamp: m.timestamp,
        },
      ]);
    },
    maxAttempts: 3,
    retryDelayMs: 50,
  });
  const t = (s: TestService) => createConnectTransport({ baseUrl: s.service.url, httpVersion: "2" });
  const sorteiosTransport = t(sorteios);
  c = {
    grupos: createClient(GrupoService, t(grupos)),
    cotas: createClient(CotaService, t(grupos)),
    consorciados: createClient(ConsorciadoService, t(consorciados)),
    parcelas: createClient(ParcelaService, t(financeiro)),
    ledger: createClient(LedgerService, t(financeiro)),
    creditos: createClient(CreditoService, t(financeiro)),
    assembleias: createClient(AssembleiaService, sorteiosTransport),
    lances: createClient(LanceService, sorteiosTransport),
  };
  tokens = {
    staff: await issuer.token({
      roles: [Role.ADMIN, Role.GERENTE, Role.OPERADOR, Role.FINANCEIRO],
      subject: "staff",
    }),
    operadorA: await issuer.token({ roles: [Role.OPERADOR], subject: "operador-a" }),
    operadorB: await issuer.token({ roles: [Role.OPERADOR], subject: "operador-b" }),
  };
}, 60_000);

afterAll(async () => {
  for (const s of running.reverse()) await s.stop().catch(() => undefined);
  for (const close of closers) await close().catch(() => undefined);
  await deleteQueues([...queues, dupQueue]);
});

const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

test("the contemplação saga across grupos and financeiro: an unpaid lance passed to the next, every message delivered twice, sorteios restarted mid-saga", async () => {
  const staff = as(tokens.staff);
  const { grupo } = await c.grupos.createGrupo(
    {
      grupo: {
        codigo: `S-${tag.toUpperCase()}`,
        nome: "Grupo do sorteio",
        segmento: Segmento.VEICULO_LEVE,
        bem: { descricao: "Motocicleta de referência", precoCentavos: PRECO },
        prazoMeses: 10,
        quantidadeCotas: 20,
        percentualTaxaAdministracao: "10",
        percentualFundoReserva: "2",
        indice: Indice.IPCA,
        diaVencimento: 9,
        primeiraAssembleia: { year: 2027, month: 1, day: 21 },
        contemplacoesPorAssembleia: 1,
        regrasLance: {
          tiposPermitidos: [TipoLanceGrupo.LIVRE, TipoLanceGrupo.FIXO, TipoLanceGrupo.EMBUTIDO],
          percentualFixo: "30",
          percentualMinimoLivre: "5",
        },
      },
    },
    staff,
  );
  const grupoId = grupo?.id ?? "";
  // Twenty adesões (each a consorciado in consorciados), and each first parcela paid in financeiro.
  const cotas: Cota[] = [];
  for (let i = 0; i < 20; i++) {
    const { consorciado } = await c.consorciados.createConsorciado(
      {
        consorciado: {
          tipo: TipoPessoa.FISICA,
          pessoa: { case: "pf", value: { cpf: fc.sample(cpfArbitrary(), 1)[0] ?? "", nome: "Ana Souza" } },
          email: "ana@example.com",
        },
      },
      staff,
    );
    const { cota } = await c.cotas.aderirGrupo({ grupoId, consorciadoId: consorciado?.id ?? "" }, staff);
    if (!cota) throw new Error("no cota");
    cotas.push(cota);
  }
  const cota = (numero: number) => cotas.find((x) => x.numero === numero) ?? (cotas[0] as (typeof cotas)[0]);
  for (const x of cotas) {
    const parcela = await eventually(
      async () => (await c.parcelas.listParcelas({ cotaId: x.id }, staff)).parcelas[0],
    );
    await c.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: parcela.valorCentavos,
        dataPagamento: { year: 2027, month: 1, day: 5 },
        motivo: "pagamento no caixa (teste)",
        requestId: `pg-${parcela.id}`,
      },
      staff,
    );
  }
  const caixa = await eventually(async () => {
    const r = await c.ledger.getCaixaDisponivel({ grupoId }, staff);
    return r.fundoComumCentavos === 20n * 10_000n && r;
  });
  expect(caixa.fundoComumCentavos).toBe(200_000n);

  // sorteios schedules the assembleia from grupos' cronograma.
  expect((await running[4]?.service.runJob(AGENDAMENTO_JOB))?.outcome).toBe("succeeded");
  let a = (await c.assembleias.listAssembleias({ grupoId }, staff)).assembleias[0];
  if (!a) throw new Error("no assembleia");
  const id = a.id;
  a = (await c.assembleias.abrirLances({ id, version: a.version }, staff)).assembleia;
  for (const [numero, percentual] of [
    [5, "50"],
    [7, "40"],
  ] as const)
    await c.lances.submitLance(
      {
        assembleiaId: id,
        cotaId: cota(numero).id,
        consorciadoId: cota(numero).consorciadoId,
        tipo: TipoLance.LIVRE,
        percentual,
      },
      staff,
    );
  const extracao = { numero: 5931, data: { year: 2027, month: 1, day: 20 }, premios: PREMIOS };
  a = (await c.assembleias.registerExtracao({ id, version: a?.version ?? 0, extracao }, as(tokens.operadorA)))
    .assembleia;
  a = (await c.assembleias.confirmExtracao({ id, version: a?.version ?? 0, extracao }, as(tokens.operadorB)))
    .assembleia;
  const { apuracao } = await c.assembleias.runApuracao({ id, version: a?.version ?? 0 }, staff);
  // Sorteio R$ 1.000 + lance 50% (R$ 500) fit R$ 2.000; the 40% lance (R$ 600 more) does not.
  expect(
    apuracao?.contemplacoes.map((x) => [x.cotaNumero, Modalidade[x.modalidade], x.custoCentavos]),
  ).toEqual([
    [2, "SORTEIO", 100_000n],
    [5, "LANCE_LIVRE", 50_000n],
  ]);
  const idDe = (numero: number) => apuracao?.contemplacoes.find((x) => x.cotaNumero === numero)?.id ?? "";

  // grupos marks both CONTEMPLADA; financeiro books both credits.
  for (const numero of [2, 5])
    await eventually(
      async () => (await c.cotas.getCota({ cotaId: cota(numero).id }, staff)).cota?.contemplada === true,
      15_000,
    );
  const sagaDe = async () => (await c.assembleias.getSaga({ id }, staff)).saga;
  await eventually(
    async () => (await sagaDe())?.passos.filter((p) => p.descricao.startsWith("cota marcada")).length === 2,
    15_000,
  );
  const credito5 = await eventually(
    async () => (await c.creditos.getCredito({ contemplacaoId: idDe(5) }, staff)).credito,
  );
  expect(credito5.lanceCentavos).toBe(50_000n);

  // Cota 5 does not pay by the deadline (3 business days): financeiro's job says LanceNaoPago,
  // while sorteios is down; it restarts on its database and its queue, and goes on from there.
  await running[4]?.service.stop();
  await clock.set(new Date("2027-01-27T12:00:00Z"));
  await financeiro.service.runJob(LANCES_JOB);
  const restarted = await startTestService(service, sorteiosEnv, { clock, db: sorteiosDb });
  running[4] = restarted;
  const transport = createConnectTransport({ baseUrl: restarted.service.url, httpVersion: "2" });
  c.assembleias = createClient(AssembleiaService, transport);
  const saga = await eventually(async () => {
    const s = await sagaDe();
    const sete = s?.contemplacoes.find((x) => x.cotaNumero === 7);
    return sete && s;
  }, 15_000);
  expect(saga.contemplacoes.map((x) => [x.cotaNumero, ContemplacaoStatus[x.status]])).toEqual([
    [2, "PROCESSADA"],
    [5, "CANCELADA"],
    [7, "PROCESSADA"],
  ]);
  const sete = saga.contemplacoes.find((x) => x.cotaNumero === 7);
  expect(sete?.substituiContemplacaoId).toBe(idDe(5));
  // grupos reverts cota 5 and marks cota 7.
  await eventually(
    async () => (await c.cotas.getCota({ cotaId: cota(5).id }, staff)).cota?.contemplada === false,
    15_000,
  );
  await eventually(
    async () => (await c.cotas.getCota({ cotaId: cota(7).id }, staff)).cota?.contemplada === true,
    15_000,
  );

  // Cota 7 pays its lance: LancePago.
  const lance7 = await eventually(async () =>
    (await c.parcelas.listParcelas({ cotaId: cota(7).id }, staff)).parcelas.find(
      (p) => p.tipo === ParcelaTipo.LANCE,
    ),
  );
  // Its deadline runs from the day it was contemplated (the compensation, after cota 5's deadline
  // passed), not from the assembleia's date: it is later than cota 5's.
  const lance5 = (await c.parcelas.listParcelas({ cotaId: cota(5).id }, staff)).parcelas.find(
    (p) => p.tipo === ParcelaTipo.LANCE,
  );
  const dia = (d: { year: number; month: number; day: number } | undefined) =>
    d ? d.year * 10_000 + d.month * 100 + d.day : 0;
  expect(dia(lance7.vencimento)).toBeGreaterThan(dia(lance5?.vencimento));
  for (let pagamento = 1; pagamento <= 3; pagamento++) {
    const { parcela } = await c.parcelas.getParcela({ id: lance7.id }, staff);
    const falta = (parcela?.valorCentavos ?? 0n) - (parcela?.pagoCentavos ?? 0n);
    if (falta <= 0n) break;
    await c.parcelas.registerPagamentoManual(
      {
        parcelaId: lance7.id,
        valorCentavos: falta,
        dataPagamento: { year: 2027, month: 1, day: 27 },
        motivo: "lance pago (teste)",
        requestId: `pg-${lance7.id}-${pagamento}`,
      },
      staff,
    );
  }
  await eventually(
    async () =>
      (await sagaDe())?.contemplacoes.find((x) => x.cotaNumero === 7)?.status ===
      ContemplacaoStatus.LANCE_PAGO,
    15_000,
  );

  // The credits are released: CreditoLiberado closes the saga.
  for (const numero of [2, 7]) {
    const contemplacaoId = numero === 7 ? (sete?.id ?? "") : idDe(2);
    await c.creditos.registerGarantias(
      { contemplacaoId, descricao: "alienação fiduciária", requestId: `g-${contemplacaoId}` },
      staff,
    );
    await c.creditos.liberarCredito({ contemplacaoId, requestId: `l-${contemplacaoId}` }, staff);
  }
  const fim = await eventually(async () => {
    const s = await sagaDe();
    return s?.status === SagaStatus.CONCLUIDA && s;
  }, 15_000);
  expect(fim.contemplacoes.map((x) => [x.cotaNumero, ContemplacaoStatus[x.status]])).toEqual([
    [2, "CREDITO_LIBERADO"],
    [5, "CANCELADA"],
    [7, "CREDITO_LIBERADO"],
  ]);
  // Every saga message came twice, and nothing happened twice. The duplicator reads every event
  // on the shared broker (other tests' too), so it may lag behind the saga: wait for it.
  const tipos = [
    "consorcio.sorteios.v1.ContemplacaoProcessada",
    "consorcio.sorteios.v1.ContemplacaoCancelada",
    "consorcio.financeiro.v1.LanceNaoPago",
    "consorcio.financeiro.v1.LancePago",
    "consorcio.financeiro.v1.CreditoLiberado",
    "consorcio.grupos.v1.CotaSituacaoAlterada",
  ];
  await eventually(async () => tipos.every((type) => duplicados.includes(type)), 15_000);
  const creditos = await c.creditos.listCreditos({ grupoId }, staff);
  expect(creditos.creditos.map((x) => [x.cotaId, x.situacao]).length).toBe(3);
  expect(fim.passos.filter((p) => p.descricao === "lance não pago: contemplação cancelada")).toHaveLength(1);
  expect(fim.passos.filter((p) => p.evento.endsWith("AssembleiaEncerrada"))).toHaveLength(1);
}, 120_000);
