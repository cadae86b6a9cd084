// A whole assembleia over real servers (PostgreSQL, RabbitMQ, HTTP/2): scheduling, lances of the
// three kinds with their refusals, the four-eyes extraction, the apuração with a sorteio and an
// excluded-cota restitution, its audit record and proof, and the saga with an unpaid lance passed
// to the next in rank. Then the same saga with every message delivered twice and sorteios
// restarted in the middle, ending in the same state.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  CreditoLiberadoSchema,
  LanceNaoPagoSchema,
  LancePagoSchema,
  RestituicaoCalculadaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { RestituicaoMotivo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { CausaAlteracao, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import { CotaSituacaoAlteradaSchema } from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import {
  AssembleiaStatus,
  ContemplacaoStatus,
  Modalidade,
  SagaStatus,
} from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  AssembleiaAgendadaSchema,
  AssembleiaEncerradaSchema,
  ContemplacaoCanceladaSchema,
  ContemplacaoProcessadaSchema,
  LanceRegistradoSchema,
  SorteioExecutadoSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { DateSchema } from "@consorcio/gen/google/type/date_pb.js";
import { connectRabbitMqBus, createLogger, type EventBus, type IncomingMessage } from "@consorcio/platform";
import { createTestIssuer, deleteQueues, eventually, testServers } from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { AGENDAMENTO_JOB } from "../src/service.ts";
import { addGrupo, bearer, type Issuer, PRECO, QUEUE_PREFIX, startPeers, startSorteios } from "./support.ts";

const PREMIOS = ["48602", "01927", "82187", "34246", "68744"];
const RESTITUICAO = 1_234_500n;
// Sorteio + restitution + fixo (70%) + embutido (40%) + one livre at 50%, and a little more.
const FUNDO_COMUM = PRECO + RESTITUICAO + 7_000_000n + 4_000_000n + 5_000_000n + 100_000n;
const logger = createLogger({ service: "test", level: "silent" });

let issuer: Issuer;
let peers: Awaited<ReturnType<typeof startPeers>>;
let sorteios: Awaited<ReturnType<typeof startSorteios>>;
let bus: EventBus;
const listenQueue = `${QUEUE_PREFIX}.listen.${randomUUID().slice(0, 8)}`;
const seen: IncomingMessage[] = [];
let staff: { operadorA: string; operadorB: string; gerente: string };

beforeAll(async () => {
  issuer = await createTestIssuer();
  peers = await startPeers(issuer);
  sorteios = await startSorteios(peers.url, issuer);
  bus = await connectRabbitMqBus({ url: testServers.amqpUrl, logger });
  await bus.subscribe({
    queue: listenQueue,
    bindings: ["consorcio.sorteios.v1.*"],
    handler: async (m) => {
      seen.push(m);
    },
    maxAttempts: 3,
    retryDelayMs: 50,
  });
  staff = {
    operadorA: await issuer.token({ roles: [Role.OPERADOR], subject: "operador-a" }),
    operadorB: await issuer.token({ roles: [Role.OPERADOR], subject: "operador-b" }),
    gerente: await issuer.token({ roles: [Role.GERENTE], subject: "gerente" }),
  };
});
afterAll(async () => {
  await sorteios?.stop();
  await sorteios?.db.drop();
  await bus?.close();
  await peers?.close();
  await deleteQueues([listenQueue, sorteios.queue]);
});

function eventsOf<D extends DescMessage>(
  schema: D,
  filter: (e: MessageShape<D>) => boolean,
): MessageShape<D>[] {
  return seen
    .filter((m) => m.type === schema.typeName)
    .map((m) => fromBinary(schema, m.body))
    .filter(filter);
}

async function publish<D extends DescMessage>(schema: D, event: MessageShape<D>, id = uuidv7()) {
  await bus.publish([
    {
      id,
      type: schema.typeName,
      routingKey: schema.typeName,
      body: toBinary(schema, event),
      headers: { actor: "financeiro" },
      timestamp: new Date(),
    },
  ]);
  return id;
}

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("expected a refusal");
}

/** Schedules, takes lances, enters the extraction with four eyes and runs the apuração. */
async function assembleiaApurada(options: { checks: boolean }) {
  const setup = addGrupo(peers.state, {
    fundoComumCentavos: FUNDO_COMUM,
    assembleia: "2026-12-10",
    situacoes: { 50: CotaSituacao.EXCLUIDA, 360: CotaSituacao.EXCLUIDA, 427: CotaSituacao.INADIMPLENTE },
  });
  const grupoId = setup.grupo.id;
  peers.state.restituicoes.set(setup.cota(360).id, RESTITUICAO);
  const { assembleias, lances } = sorteios;
  const g = bearer(staff.gerente);

  // The job schedules it from the cronograma, once however often it runs.
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  const listed = await assembleias.listAssembleias({ grupoId }, g);
  expect(listed.assembleias.map((a) => [a.numero, a.status])).toEqual([[1, AssembleiaStatus.AGENDADA]]);
  let a = listed.assembleias[0];
  if (!a) throw new Error("no assembleia");
  const id = a.id;
  const lance = (
    numero: number,
    tipo: TipoLance,
    percentual: string,
    percentualEmbutido = "",
    token = staff.operadorA,
  ) =>
    lances.submitLance(
      {
        assembleiaId: id,
        cotaId: setup.cota(numero).id,
        consorciadoId: setup.cota(numero).consorciadoId,
        tipo,
        percentual,
        percentualEmbutido,
      },
      bearer(token),
    );

  if (options.checks) {
    await eventually(
      async () => eventsOf(AssembleiaAgendadaSchema, (e) => e.grupoId === grupoId).length === 1,
    );
    expect((await refusal(lance(11, TipoLance.LIVRE, "40"))).code).toBe(Code.FailedPrecondition);
    expect((await refusal(assembleias.abrirLances({ id, version: a.version + 1 }, g))).code).toBe(
      Code.Aborted,
    );
  }
  a = (await assembleias.abrirLances({ id, version: a.version, requestId: `abrir-${id}` }, g)).assembleia;
  if (!a) throw new Error("no assembleia");

  // The consorciado of cota 11 bids for their own cota, then replaces the bid.
  const dono11 = await issuer.token({
    roles: [Role.CONSORCIADO],
    consorciadoId: setup.cota(11).consorciadoId,
  });
  expect((await lance(11, TipoLance.LIVRE, "40", "", dono11)).substituiu).toBe(false);
  const trocado = await lance(11, TipoLance.LIVRE, "50", "", dono11);
  expect([trocado.substituiu, trocado.lance?.percentual, trocado.lance?.valorCentavos]).toEqual([
    true,
    "50",
    5_000_000n,
  ]);
  await lance(200, TipoLance.FIXO, "");
  const embutido = await lance(20, TipoLance.EMBUTIDO, "60", "25");
  expect([embutido.lance?.valorCentavos, embutido.lance?.embutidoCentavos]).toEqual([6_000_000n, 2_500_000n]);
  await lance(193, TipoLance.LIVRE, "50");
  await lance(400, TipoLance.LIVRE, "10");

  if (options.checks) {
    const reason = async (p: Promise<unknown>) => {
      const e = await refusal(p);
      return [Code[e.code], e.rawMessage];
    };
    expect(await reason(lance(427, TipoLance.LIVRE, "40"))).toEqual([
      "FailedPrecondition",
      expect.stringMatching(/não é elegível/),
    ]);
    expect(await reason(lance(30, TipoLance.LIVRE, "5"))).toEqual([
      "FailedPrecondition",
      expect.stringMatching(/abaixo do mínimo/),
    ]);
    expect(await reason(lance(31, TipoLance.EMBUTIDO, "50", "31"))).toEqual([
      "FailedPrecondition",
      expect.stringMatching(/acima do limite/),
    ]);
    expect(await reason(lance(32, TipoLance.FIXO, "25"))).toEqual([
      "FailedPrecondition",
      expect.stringMatching(/lance fixo do grupo é 30/),
    ]);
    // Someone else's cota, with one's own consorciado id: refused.
    const alheia = lances.submitLance(
      {
        assembleiaId: id,
        cotaId: setup.cota(12).id,
        consorciadoId: setup.cota(11).consorciadoId,
        tipo: TipoLance.LIVRE,
        percentual: "40",
      },
      bearer(dono11),
    );
    expect((await refusal(alheia)).code).toBe(Code.PermissionDenied);
    // A consorciado lists only their own lances.
    const meus = await lances.listLances(
      { assembleiaId: id, consorciadoId: setup.cota(11).consorciadoId },
      bearer(dono11),
    );
    expect(meus.lances.map((l) => l.cotaNumero)).toEqual([11]);
    await eventually(async () => eventsOf(LanceRegistradoSchema, (e) => e.assembleiaId === id).length === 6);
  }

  // Four eyes: A enters the extraction, A may not confirm it, B must re-enter the same.
  const extracao = {
    numero: 5923,
    data: create(DateSchema, { year: 2026, month: 12, day: 5 }),
    premios: PREMIOS,
  };
  a = (await assembleias.registerExtracao({ id, version: a.version, extracao }, bearer(staff.operadorA)))
    .assembleia;
  if (!a) throw new Error("no assembleia");
  if (options.checks) {
    expect((await refusal(assembleias.runApuracao({ id, version: a.version }, g))).rawMessage).toMatch(
      /não foi confirmada/,
    );
    const mesmo = await refusal(
      assembleias.confirmExtracao({ id, version: a.version, extracao }, bearer(staff.operadorA)),
    );
    expect([mesmo.code, mesmo.rawMessage]).toEqual([
      Code.FailedPrecondition,
      expect.stringMatching(/outro usuário/),
    ]);
    const errado = { ...extracao, premios: [...PREMIOS.slice(0, 4), "68745"] };
    expect(
      (
        await refusal(
          assembleias.confirmExtracao({ id, version: a.version, extracao: errado }, bearer(staff.operadorB)),
        )
      ).rawMessage,
    ).toMatch(/difere/);
  }
  a = (await assembleias.confirmExtracao({ id, version: a.version, extracao }, bearer(staff.operadorB)))
    .assembleia;
  expect([a?.extracao?.registradaPor, a?.extracao?.confirmadaPor]).toEqual(["operador-a", "operador-b"]);
  if (!a) throw new Error("no assembleia");
  if (options.checks) {
    // Confirmed once: a second confirmation, by anyone, and a new registration are refused.
    for (const token of [staff.operadorB, staff.gerente]) {
      const again = await refusal(
        assembleias.confirmExtracao({ id, version: a.version, extracao }, bearer(token)),
      );
      expect([again.code, again.rawMessage]).toEqual([
        Code.FailedPrecondition,
        expect.stringMatching(/já foi confirmada/),
      ]);
    }
    expect(
      (
        await refusal(
          assembleias.registerExtracao({ id, version: a.version, extracao }, bearer(staff.operadorA)),
        )
      ).rawMessage,
    ).toMatch(/já foi confirmada/);
  }

  const run = await assembleias.runApuracao({ id, version: a.version, requestId: `apurar-${id}` }, g);
  // A retry with the same request id returns the first answer and draws nothing again.
  const again = await assembleias.runApuracao({ id, version: a.version, requestId: `apurar-${id}` }, g);
  expect(again.apuracao?.resultadoSha256).toBe(run.apuracao?.resultadoSha256);
  return { setup, id, run };
}

const resumo = (c: {
  cotaNumero: number;
  modalidade: Modalidade;
  status: ContemplacaoStatus;
  custoCentavos: bigint;
}) => [c.cotaNumero, Modalidade[c.modalidade], ContemplacaoStatus[c.status], c.custoCentavos];

let finalDoPrimeiro: unknown[];

describe("an assembleia", () => {
  let ctx: Awaited<ReturnType<typeof assembleiaApurada>>;

  test("lances of the three kinds, a sorteio and an excluded-cota restitution, with the audit record", async () => {
    ctx = await assembleiaApurada({ checks: true });
    const { run, id, setup } = ctx;
    const apuracao = run.apuracao;
    expect(run.assembleia?.status).toBe(AssembleiaStatus.APURADA);
    expect(apuracao?.candidatos.map((c) => c.numero)).toEqual([
      602, 860, 927, 192, 187, 218, 246, 424, 744, 874,
    ]);
    expect(apuracao?.numeroBase).toBe(102);
    expect(apuracao?.candidatosRestituicao.map((c) => [c.cota, c.motivo])).toEqual([
      [102, "cota inelegível"],
      [360, ""],
      ...[427, 192, 187, 218, 246, 424, 244, 374].map((c) => [c, "sorteio já concluído"]),
    ]);
    expect(apuracao?.contemplacoes.map(resumo)).toEqual([
      [102, "SORTEIO", "PROCESSADA", PRECO],
      // Settled only when financeiro reports the refund booked (RestituicaoCalculada).
      [360, "RESTITUICAO", "PROCESSADA", RESTITUICAO],
      [200, "LANCE_FIXO", "PROCESSADA", 7_000_000n],
      [20, "LANCE_LIVRE", "PROCESSADA", 4_000_000n],
      // 193 and 11 both bid 50% at distance 91 from the base 102: the higher cota wins.
      [193, "LANCE_LIVRE", "PROCESSADA", 5_000_000n],
    ]);
    expect(apuracao?.lances.map((l) => [l.cotaNumero, l.distanciaBase, l.motivo])).toEqual([
      [200, 98, ""],
      [20, 82, ""],
      [193, 91, ""],
      [11, 91, "sem caixa"],
      [400, 298, "sem caixa"],
    ]);
    expect(apuracao?.saldoFinalCentavos).toBe(100_000n);
    expect(apuracao?.entradaSha256).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.parse(apuracao?.entradaJson ?? "{}").fundoComumCentavos).toBe(FUNDO_COMUM.toString());
    // The refund was computed from the drawn cota's parcelas, read-only; nothing booked by sorteios.
    const ids = new Set(setup.cotas.map((c) => c.id));
    expect(peers.state.parcelaCalls.filter((c) => ids.has(c))).toEqual([setup.cota(360).id]);
    expect(JSON.parse(apuracao?.entradaJson ?? "{}").restituicoes).toEqual([
      { cota: 360, valorCentavos: RESTITUICAO.toString() },
    ]);

    // The stored assembleia re-runs to the same result.
    const verify = await sorteios.assembleias.verifyApuracao({ id }, bearer(staff.gerente));
    expect([verify.conforme, verify.resultadoSha256Recalculado]).toEqual([true, apuracao?.resultadoSha256]);
    // Tampering with the stored inputs is found.
    await sorteios.db.query(
      "update apuracao set entrada_json = replace(entrada_json, '\"contemplacoesPlanejadas\":1', '\"contemplacoesPlanejadas\":2') where assembleia_id = $1",
      [id],
    );
    const tampered = await sorteios.assembleias.verifyApuracao({ id }, bearer(staff.gerente));
    expect(tampered.conforme).toBe(false);
    expect(tampered.divergencias).toContain("o hash da entrada não confere com a entrada armazenada");
    await sorteios.db.query("update apuracao set entrada_json = $2 where assembleia_id = $1", [
      id,
      apuracao?.entradaJson,
    ]);
    expect((await sorteios.assembleias.verifyApuracao({ id }, bearer(staff.gerente))).conforme).toBe(true);

    // Published by grupo and cota number only.
    const consorciado = await issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: randomUUID() });
    const { resultado } = await sorteios.assembleias.getResultado({ id }, bearer(consorciado));
    expect(resultado?.contemplacoes.map((c) => c.cotaNumero)).toEqual([102, 360, 200, 20, 193]);
    const publicado = JSON.stringify(resultado, (_k, v) => (typeof v === "bigint" ? String(v) : v));
    for (const cota of setup.cotas) expect(publicado).not.toContain(cota.consorciadoId);

    // The window is closed now.
    const tarde = sorteios.lances.submitLance(
      {
        assembleiaId: id,
        cotaId: setup.cota(5).id,
        consorciadoId: setup.cota(5).consorciadoId,
        tipo: TipoLance.LIVRE,
        percentual: "40",
      },
      bearer(staff.operadorA),
    );
    expect((await refusal(tarde)).rawMessage).toMatch(/janela de lances/);

    await eventually(async () => eventsOf(SorteioExecutadoSchema, (e) => e.assembleiaId === id).length === 1);
    const processadas = await eventually(async () => {
      const es = eventsOf(ContemplacaoProcessadaSchema, (e) => e.assembleiaId === id);
      return es.length === 5 && es;
    });
    const embutido = processadas.find((e) => e.cotaNumero === 20);
    expect([
      embutido?.modalidade,
      embutido?.creditoCentavos,
      embutido?.lanceCentavos,
      embutido?.lanceEmbutidoCentavos,
    ]).toEqual([Modalidade.LANCE_LIVRE, PRECO, 6_000_000n, 2_500_000n]);
    expect(embutido?.cotaId).toBe(setup.cota(20).id);
  });

  test("the saga: an unpaid lance is cancelled and passed to the next in rank, then closes", async () => {
    const { id, setup } = ctx;
    const g = bearer(staff.gerente);
    const porCota = async () =>
      new Map(
        ((await sorteios.assembleias.getSaga({ id }, g)).saga?.contemplacoes ?? []).map((c) => [
          c.cotaNumero,
          c,
        ]),
      );
    const inicial = await porCota();
    const idDe = (cota: number) => inicial.get(cota)?.id ?? "";
    const ev = (cota: number) => ({
      contemplacaoId: idDe(cota),
      assembleiaId: id,
      cotaId: setup.cota(cota).id,
      grupoId: setup.grupo.id,
    });

    await publish(
      CotaSituacaoAlteradaSchema,
      create(CotaSituacaoAlteradaSchema, {
        cotaId: setup.cota(102).id,
        grupoId: setup.grupo.id,
        numero: 102,
        situacao: CotaSituacao.CONTEMPLADA,
        contemplada: true,
        causa: CausaAlteracao.CONTEMPLACAO,
      }),
    );
    // financeiro books the refund: a withdrawal's refund of the same cota is not this step.
    const restituicao = (motivo: RestituicaoMotivo, valorCentavos: bigint) =>
      create(RestituicaoCalculadaSchema, {
        restituicaoId: uuidv7(),
        cotaId: setup.cota(360).id,
        grupoId: setup.grupo.id,
        motivo,
        valorCentavos,
      });
    await publish(RestituicaoCalculadaSchema, restituicao(RestituicaoMotivo.DESISTENCIA, 999n));
    await publish(RestituicaoCalculadaSchema, restituicao(RestituicaoMotivo.EXCLUSAO, RESTITUICAO));
    await eventually(async () => (await porCota()).get(360)?.status === ContemplacaoStatus.CREDITO_LIBERADO);
    await publish(LancePagoSchema, create(LancePagoSchema, { ...ev(200), lanceCentavos: 3_000_000n }));
    await publish(LancePagoSchema, create(LancePagoSchema, { ...ev(20), lanceCentavos: 3_500_000n }));
    await publish(LanceNaoPagoSchema, create(LanceNaoPagoSchema, ev(193)));
    const compensada = await eventually(async () => {
      const c = (await porCota()).get(11);
      return c?.status === ContemplacaoStatus.PROCESSADA && c;
    });
    expect(compensada.substituiContemplacaoId).toBe(idDe(193));
    expect((await porCota()).get(193)?.status).toBe(ContemplacaoStatus.CANCELADA);
    const cancelada = await eventually(
      async () => eventsOf(ContemplacaoCanceladaSchema, (e) => e.assembleiaId === id)[0],
    );
    expect([cancelada.cotaId, cancelada.contemplacaoId]).toEqual([setup.cota(193).id, idDe(193)]);
    // The compensation is made today: its lance deadline runs from today, not the assembleia.
    const compensacao = await eventually(
      async () => eventsOf(ContemplacaoProcessadaSchema, (e) => e.contemplacaoId === compensada.id)[0],
    );
    expect([compensacao.dataAssembleia?.day, compensacao.dataContemplacao?.day]).toEqual([10, 1]);

    await publish(
      LancePagoSchema,
      create(LancePagoSchema, {
        contemplacaoId: compensada.id,
        assembleiaId: id,
        cotaId: setup.cota(11).id,
        grupoId: setup.grupo.id,
      }),
    );
    for (const cota of [102, 200, 20])
      await publish(
        CreditoLiberadoSchema,
        create(CreditoLiberadoSchema, {
          contemplacaoId: idDe(cota),
          cotaId: setup.cota(cota).id,
          grupoId: setup.grupo.id,
        }),
      );
    await publish(
      CreditoLiberadoSchema,
      create(CreditoLiberadoSchema, {
        contemplacaoId: compensada.id,
        cotaId: setup.cota(11).id,
        grupoId: setup.grupo.id,
      }),
    );

    const saga = await eventually(async () => {
      const s = (await sorteios.assembleias.getSaga({ id }, g)).saga;
      return s?.status === SagaStatus.CONCLUIDA && s;
    });
    finalDoPrimeiro = saga.contemplacoes.map(resumo);
    expect(finalDoPrimeiro).toEqual([
      [102, "SORTEIO", "CREDITO_LIBERADO", PRECO],
      [360, "RESTITUICAO", "CREDITO_LIBERADO", RESTITUICAO],
      [200, "LANCE_FIXO", "CREDITO_LIBERADO", 7_000_000n],
      [20, "LANCE_LIVRE", "CREDITO_LIBERADO", 4_000_000n],
      [193, "LANCE_LIVRE", "CANCELADA", 5_000_000n],
      [11, "LANCE_LIVRE", "CREDITO_LIBERADO", 5_000_000n],
    ]);
    expect(
      saga.passos.some((p) => p.descricao === "cota marcada CONTEMPLADA pelo grupos" && p.cotaNumero === 102),
    ).toBe(true);
    expect(
      saga.passos.filter((p) => p.evento === RestituicaoCalculadaSchema.typeName).map((p) => p.descricao),
    ).toEqual([`restituição calculada pelo financeiro: ${RESTITUICAO} centavos`]);
    expect((await sorteios.assembleias.getAssembleia({ id }, g)).assembleia?.status).toBe(
      AssembleiaStatus.ENCERRADA,
    );
    await eventually(
      async () => eventsOf(AssembleiaEncerradaSchema, (e) => e.assembleiaId === id).length === 1,
    );
    const { lances } = await sorteios.lances.listLances({ assembleiaId: id }, g);
    expect(lances.map((l) => [l.cotaNumero, l.status])).toEqual([
      [11, 2],
      [20, 2],
      [193, 4],
      [200, 2],
      [400, 3],
    ]);
  });
});

describe("redelivery and restart", () => {
  test("every message twice (same id and a fresh id), sorteios restarted mid-saga: the same end state", async () => {
    const { id, setup } = await assembleiaApurada({ checks: false });
    const g = bearer(staff.gerente);
    const saga = async () => (await sorteios.assembleias.getSaga({ id }, g)).saga;
    const inicial = new Map((await saga())?.contemplacoes.map((c) => [c.cotaNumero, c.id]) ?? []);
    const idDe = (cota: number) => inicial.get(cota) ?? "";
    const ev = (cota: number, contemplacaoId = idDe(cota)) => ({
      contemplacaoId,
      assembleiaId: id,
      cotaId: setup.cota(cota).id,
      grupoId: setup.grupo.id,
    });
    const ids = new Set<string>();
    const twice = async <D extends DescMessage>(schema: D, event: MessageShape<D>) => {
      const first = await publish(schema, event);
      await publish(schema, event, first);
      ids.add(first).add(await publish(schema, event));
    };
    await twice(
      RestituicaoCalculadaSchema,
      create(RestituicaoCalculadaSchema, {
        restituicaoId: uuidv7(),
        cotaId: setup.cota(360).id,
        grupoId: setup.grupo.id,
        motivo: RestituicaoMotivo.EXCLUSAO,
        valorCentavos: RESTITUICAO,
      }),
    );
    await twice(LancePagoSchema, create(LancePagoSchema, ev(200)));
    await twice(LancePagoSchema, create(LancePagoSchema, ev(20)));
    await twice(LanceNaoPagoSchema, create(LanceNaoPagoSchema, ev(193)));
    const compensada = await eventually(async () =>
      (await saga())?.contemplacoes.find((c) => c.cotaNumero === 11),
    );

    // Restart: stop sorteios, publish while it is down, start it again on the same database and queue.
    const { db, queue, clock } = sorteios;
    await sorteios.stop();
    await twice(LanceNaoPagoSchema, create(LanceNaoPagoSchema, ev(193)));
    await twice(LancePagoSchema, create(LancePagoSchema, ev(11, compensada.id)));
    for (const cota of [102, 200, 20])
      await twice(CreditoLiberadoSchema, create(CreditoLiberadoSchema, ev(cota)));
    await twice(CreditoLiberadoSchema, create(CreditoLiberadoSchema, ev(11, compensada.id)));
    sorteios = await startSorteios(peers.url, issuer, { db, queue, clock });

    const fim = await eventually(async () => {
      const s = await saga();
      return s?.status === SagaStatus.CONCLUIDA && s;
    }, 20_000);
    // Every delivery handled (each id once in the inbox), none applied twice.
    await eventually(async () => {
      const [row] = await db.query<{ n: string }>(
        "select count(*) as n from platform_inbox where consumer = $1 and message_id = any($2::text[])",
        [queue, [...ids]],
      );
      return Number(row?.n) === ids.size;
    }, 20_000);
    const depois = (await saga())?.contemplacoes.map(resumo);
    expect(fim.contemplacoes.map(resumo)).toEqual(finalDoPrimeiro);
    expect(depois).toEqual(finalDoPrimeiro);
    expect(eventsOf(ContemplacaoCanceladaSchema, (e) => e.assembleiaId === id)).toHaveLength(1);
    await eventually(
      async () => eventsOf(ContemplacaoProcessadaSchema, (e) => e.assembleiaId === id).length === 6,
    );
    expect(eventsOf(AssembleiaEncerradaSchema, (e) => e.assembleiaId === id).length).toBeLessThanOrEqual(1);
    await eventually(
      async () => eventsOf(AssembleiaEncerradaSchema, (e) => e.assembleiaId === id).length === 1,
    );
  }, 60_000);
});

describe("SimulateSorteio, public", () => {
  test("no token: the worked example of DOMAIN.md, step by step", async () => {
    const r = await sorteios.sorteio.simulateSorteio({
      quantidadeCotas: 500,
      premios: PREMIOS,
      cotasInelegiveis: [102],
    });
    expect(r.candidatos.map((c) => [c.ordem, c.numero, c.cota])).toEqual(
      [602, 860, 927, 192, 187, 218, 246, 424, 744, 874].map((n, i) => [
        i + 1,
        n,
        [102, 360, 427, 192, 187, 218, 246, 424, 244, 374][i],
      ]),
    );
    expect([r.numeroBase, r.cotaSorteada, r.candidatos[0]?.motivo, r.candidatos[1]?.motivo]).toEqual([
      102,
      360,
      "cota inelegível",
      "",
    ]);
  });

  test("bad input is InvalidArgument", async () => {
    const bad = [
      { quantidadeCotas: 500, premios: PREMIOS.slice(0, 4) },
      { quantidadeCotas: 500, premios: [...PREMIOS.slice(0, 4), "1234"] },
      { quantidadeCotas: 0, premios: PREMIOS },
      { quantidadeCotas: 500, premios: PREMIOS, cotasInelegiveis: [501] },
    ];
    for (const req of bad)
      expect((await refusal(sorteios.sorteio.simulateSorteio(req))).code).toBe(Code.InvalidArgument);
  });
});
