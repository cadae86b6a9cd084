// The restitution against the real services: identidade, consorciados, grupos and financeiro, each
// on its own database, over RabbitMQ. A grupo of 10 cotas, 5 adhered; four pay their first three
// parcelas, cota 5 pays half of the first and nothing more. The clock moves past the third due
// date and financeiro's inadimplência job excludes cota 5 (3 unpaid due dates): grupos marks it
// EXCLUIDA. At the next assembleia (its lance window opened by sorteios' job) cota 2 is drawn and
// cota 5 is drawn for restitution; the cash pays both. The refund in the apuração (computed
// read-only from cota 5's parcelas) is what financeiro books from the ContemplacaoProcessada, and
// its RestituicaoCalculada settles that step of the saga.
import { randomBytes, randomUUID } from "node:crypto";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Dec, percentOf } from "@consorcio/domain";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { LedgerService } from "@consorcio/gen/consorcio/financeiro/v1/ledger_service_pb.js";
import { RestituicaoMotivo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import { RestituicaoService } from "@consorcio/gen/consorcio/financeiro/v1/restituicao_service_pb.js";
import { type Cota, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  Indice,
  Segmento,
  TipoLance as TipoLanceGrupo,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { CotaService, GrupoService } from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import {
  AssembleiaStatus,
  ContemplacaoStatus,
  Modalidade,
  SagaStatus,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { AssembleiaService } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_service_pb.js";
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
} from "@consorcio/platform/testing.ts";
import { cpfArbitrary } from "@consorcio/testkit";
import fc from "fast-check";
import type { JSONWebKeySet } from "jose";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { service as financeiroService, INADIMPLENCIA_JOB } from "../../financeiro/src/service.ts";
import { financeiroEnv } from "../../financeiro/test/support.ts";
import { service as gruposService } from "../../grupos/src/service.ts";
import { service as identidadeService } from "../../identidade/src/service.ts";
import { AGENDAMENTO_JOB, JANELA_LANCES_JOB, service } from "../src/service.ts";

const PREMIOS = ["48602", "01927", "82187", "34246", "68744"]; // N = 10: candidates 2, 10, 7, 2, 7, ...
const PRECO = 100_000n; // R$ 1.000,00; 10 months: FC R$ 100,00 a parcela
const tag = randomUUID().slice(0, 8);
const queues = ["consorciados", "grupos", "financeiro", "sorteios"].map((s) => `sorteios.rest.${tag}.${s}`);
const clock = createTestClock(new Date("2027-01-05T12:00:00Z"));
const running: TestService[] = [];
const closers: Array<() => Promise<void>> = [];
let c: {
  grupos: Client<typeof GrupoService>;
  cotas: Client<typeof CotaService>;
  consorciados: Client<typeof ConsorciadoService>;
  parcelas: Client<typeof ParcelaService>;
  ledger: Client<typeof LedgerService>;
  restituicoes: Client<typeof RestituicaoService>;
  assembleias: Client<typeof AssembleiaService>;
};
let financeiro: TestService;
let sorteios: TestService;
let sorteiosDb: TestDatabase;
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
  const sorteiosEnv = {
    JWKS_URL: jwks.url,
    IDENTIDADE_URL: identidade.service.url,
    GRUPOS_URL: grupos.service.url,
    FINANCEIRO_URL: financeiro.service.url,
    SERVICE_CLIENT_SECRET: secrets.sorteios,
    SORTEIOS_QUEUE: queues[3] as string,
  };
  sorteiosDb = await createTestDatabase("sorteios");
  closers.push(() => sorteiosDb.drop());
  sorteios = await startTestService(service, sorteiosEnv, { clock, db: sorteiosDb });
  running.push(sorteios);
  const t = (s: TestService) => createConnectTransport({ baseUrl: s.service.url, httpVersion: "2" });
  const sorteiosTransport = t(sorteios);
  c = {
    grupos: createClient(GrupoService, t(grupos)),
    cotas: createClient(CotaService, t(grupos)),
    consorciados: createClient(ConsorciadoService, t(consorciados)),
    parcelas: createClient(ParcelaService, t(financeiro)),
    ledger: createClient(LedgerService, t(financeiro)),
    restituicoes: createClient(RestituicaoService, t(financeiro)),
    assembleias: createClient(AssembleiaService, sorteiosTransport),
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
  await deleteQueues(queues);
});

const as = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

const dia = (d: { year: number; month: number; day: number } | undefined) =>
  d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";
const mesSeguinte = (competencia: string, n: number) => {
  const [y, m] = competencia.split("-").map(Number) as [number, number];
  const total = y * 12 + (m - 1) + n;
  return `${Math.floor(total / 12)}-${String((total % 12) + 1).padStart(2, "0")}`;
};

test("a cota excluded by financeiro's inadimplência job is drawn for restitution and financeiro books the refund the apuração computed", async () => {
  const staff = as(tokens.staff);
  const { grupo } = await c.grupos.createGrupo(
    {
      grupo: {
        codigo: `R-${tag.toUpperCase()}`,
        nome: "Grupo da restituição",
        segmento: Segmento.VEICULO_LEVE,
        bem: { descricao: "Motocicleta de referência", precoCentavos: PRECO },
        prazoMeses: 10,
        quantidadeCotas: 10,
        percentualTaxaAdministracao: "10",
        percentualFundoReserva: "2",
        percentualPenalidadeRestituicao: "10",
        indice: Indice.IPCA,
        diaVencimento: 9,
        primeiraAssembleia: { year: 2027, month: 1, day: 21 },
        contemplacoesPorAssembleia: 1,
        regrasLance: { tiposPermitidos: [TipoLanceGrupo.LIVRE], percentualMinimoLivre: "5" },
      },
    },
    staff,
  );
  const grupoId = grupo?.id ?? "";
  const cotas: Cota[] = [];
  for (let i = 0; i < 5; i++) {
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
  const cota = (numero: number) => cotas.find((x) => x.numero === numero) as Cota;
  const primeira = await eventually(
    async () => (await c.parcelas.listParcelas({ cotaId: cota(5).id }, staff)).parcelas[0],
  );
  for (const n of [1, 2])
    await c.parcelas.generateCobranca(
      { grupoId, competencia: mesSeguinte(primeira.competencia, n), requestId: `cob-${grupoId}-${n}` },
      staff,
    );
  // Cotas 1 to 4 pay three parcelas; cota 5 pays half of its first one and nothing more.
  let vencimento3 = "";
  for (const x of cotas) {
    const parcelas = await eventually(async () => {
      const { parcelas } = await c.parcelas.listParcelas({ cotaId: x.id }, staff);
      return parcelas.length === 3 && parcelas;
    });
    vencimento3 = dia(parcelas[2]?.vencimento);
    for (const p of x.numero === 5 ? parcelas.slice(0, 1) : parcelas)
      await c.parcelas.registerPagamentoManual(
        {
          parcelaId: p.id,
          valorCentavos: x.numero === 5 ? p.valorCentavos / 2n : p.valorCentavos,
          dataPagamento: { year: 2027, month: 1, day: 5 },
          motivo: "pagamento no caixa (teste)",
          requestId: `pg-${p.id}`,
        },
        staff,
      );
  }
  await eventually(
    async () => (await c.ledger.getCaixaDisponivel({ grupoId }, staff)).fundoComumCentavos >= 120_000n,
  );

  // Past the third due date (and its grace): the job finds three unpaid due dates and excludes cota 5.
  const hoje = new Date(`${vencimento3}T15:00:00Z`);
  hoje.setUTCDate(hoje.getUTCDate() + 4);
  await clock.set(hoje);
  expect((await financeiro.service.runJob(INADIMPLENCIA_JOB)).outcome).toBe("succeeded");
  await eventually(
    async () =>
      (await c.cotas.getCota({ cotaId: cota(5).id }, staff)).cota?.situacao === CotaSituacao.EXCLUIDA,
    15_000,
  );
  for (const numero of [1, 2, 3, 4])
    expect((await c.cotas.getCota({ cotaId: cota(numero).id }, staff)).cota?.situacao).toBe(
      CotaSituacao.ATIVA,
    );

  // The next assembleia, scheduled and opened for lances by sorteios' jobs.
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  expect((await sorteios.service.runJob(JANELA_LANCES_JOB)).outcome).toBe("succeeded");
  const hojeTexto = hoje.toISOString().slice(0, 10);
  const a0 = (await c.assembleias.listAssembleias({ grupoId }, staff)).assembleias.find(
    (x) => dia(x.data) > hojeTexto,
  );
  if (!a0) throw new Error("no assembleia ahead");
  expect(a0.status).toBe(AssembleiaStatus.ABERTA_PARA_LANCES);
  const id = a0.id;
  const extracao = {
    numero: 6001,
    data: { year: hoje.getUTCFullYear(), month: hoje.getUTCMonth() + 1, day: hoje.getUTCDate() },
    premios: PREMIOS,
  };
  let a = (await c.assembleias.registerExtracao({ id, version: a0.version, extracao }, as(tokens.operadorA)))
    .assembleia;
  a = (await c.assembleias.confirmExtracao({ id, version: a?.version ?? 0, extracao }, as(tokens.operadorB)))
    .assembleia;
  const { apuracao } = await c.assembleias.runApuracao({ id, version: a?.version ?? 0 }, staff);
  const restituicao = apuracao?.contemplacoes.find((x) => x.modalidade === Modalidade.RESTITUICAO);
  expect(apuracao?.contemplacoes.map((x) => [x.cotaNumero, Modalidade[x.modalidade]])).toEqual([
    [2, "SORTEIO"],
    [5, "RESTITUICAO"],
  ]);
  // Half of the first parcela's FC share (10% of the bem) paid: 5% of R$ 1.000,00, less the 10% penalty.
  const pago = new Dec((primeira.valorCentavos / 2n).toString()).dividedBy(primeira.valorCentavos.toString());
  const bruto = percentOf(PRECO, new Dec(primeira.componentes?.fundoComumPercentual ?? "0").times(pago));
  const esperado = bruto - percentOf(bruto, new Dec(10));
  expect(esperado).toBeGreaterThan(4_000n);
  expect(restituicao?.custoCentavos).toBe(esperado);
  expect(restituicao?.status).toBe(ContemplacaoStatus.PROCESSADA);

  // financeiro books it from the ContemplacaoProcessada, for the same amount.
  const booked = await eventually(
    async () =>
      (await c.restituicoes.listRestituicoes({ grupoId }, staff)).restituicoes.find(
        (r) => r.cotaId === cota(5).id && r.motivo === RestituicaoMotivo.EXCLUSAO,
      ),
    15_000,
  );
  expect(booked.valorCentavos).toBe(restituicao?.custoCentavos);
  // Its RestituicaoCalculada settles that step of the saga.
  const saga = await eventually(async () => {
    const s = (await c.assembleias.getSaga({ id }, staff)).saga;
    return (
      s?.contemplacoes.find((x) => x.cotaNumero === 5)?.status === ContemplacaoStatus.CREDITO_LIBERADO && s
    );
  }, 15_000);
  expect(
    saga.passos
      .filter((p) => p.evento === "consorcio.financeiro.v1.RestituicaoCalculada")
      .map((p) => p.descricao),
  ).toEqual([`restituição calculada pelo financeiro: ${booked.valorCentavos} centavos`]);
  expect(saga.status).toBe(SagaStatus.EM_ANDAMENTO); // the sorteio's credit is still to be released
}, 120_000);
