// Cotas over real HTTP/2 with real identidade and consorciados: adesão (concurrent too),
// withdrawal, cessão, owner scoping, retries, and the events that change a cota's situation.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  CotaExcluidaSchema,
  InadimplenciaDetectadaSchema,
  InadimplenciaRegularizadaSchema,
} from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { CausaAlteracao, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaAderidaSchema,
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
  CotaTransferidaSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import {
  ContemplacaoCanceladaSchema,
  ContemplacaoProcessadaSchema,
} from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { grupoMessage } from "./fixtures.ts";
import { type Stack, startStack } from "./support.ts";

let stack: Stack;
let opts: { headers: Record<string, string> };

beforeAll(async () => {
  stack = await startStack();
  opts = stack.auth(stack.admin);
});
afterAll(() => stack?.stop());
afterEach(() => stack.clock.set(new Date("2027-01-05T12:00:00Z")));

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded");
}

async function novoGrupo(quantidadeCotas = 100) {
  const { grupo } = await stack.grupoClient.createGrupo({ grupo: grupoMessage({ quantidadeCotas }) }, opts);
  return grupo?.id ?? "";
}

async function situacao(cotaId: string) {
  return (await stack.cotaClient.getCota({ cotaId }, opts)).cota;
}

describe("adesão", () => {
  test("200 concurrent adesões to a grupo of 100: cotas 1..100 exactly, 100 clean refusals", async () => {
    const grupoId = await novoGrupo(100);
    const consorciados = await Promise.all(Array.from({ length: 20 }, () => stack.novoConsorciado()));
    // The domain counter on /metrics counts committed adesões only.
    const adesoes = async () => {
      const text = await (await fetch(`${stack.grupos.service.url}/metrics`)).text();
      return Number(/^consorcio_adesoes_total(?:\{[^}]*\})? (\d+)/m.exec(text)?.[1] ?? 0);
    };
    const before = await adesoes();
    const results = await Promise.allSettled(
      Array.from({ length: 200 }, (_, i) =>
        stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: consorciados[i % 20] ?? "" }, opts),
      ),
    );
    const numeros = results
      .filter((r) => r.status === "fulfilled")
      .map((r) => r.value.cota?.numero ?? 0)
      .sort((a, b) => a - b);
    expect(numeros).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    const refusals = results.filter((r) => r.status === "rejected").map((r) => ConnectError.from(r.reason));
    expect(refusals).toHaveLength(100);
    for (const refusal of refusals) {
      expect(refusal.code).toBe(Code.FailedPrecondition);
      expect(refusal.rawMessage).toMatch(/grupo full/);
    }
    expect(
      await stack.grupos.db.query(
        "select count(*)::int as n, count(distinct numero)::int as d from cota where grupo_id = $1",
        [grupoId],
      ),
    ).toEqual([{ n: 100, d: 100 }]);
    const { grupo } = await stack.grupoClient.getGrupo({ grupoId }, opts);
    expect(grupo?.cotasOcupadas).toBe(100);
    expect((await stack.grupoClient.listVagas({ grupoId }, opts)).totalVagas).toBe(0);
    expect((await stack.outbox(CotaAderidaSchema)).filter((e) => e.grupoId === grupoId)).toHaveLength(100);
    expect(await adesoes()).toBe(before + 100);
  }, 60_000);

  test("CotaAderida carries what billing the first parcela needs", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const { cota } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    expect(cota).toMatchObject({
      numero: 1,
      situacao: CotaSituacao.ATIVA,
      consorciadoId,
      dataAdesao: { year: 2027, month: 1, day: 5 },
    });
    const [evento] = (await stack.outbox(CotaAderidaSchema)).filter((e) => e.cotaId === cota?.id);
    expect(evento).toMatchObject({
      grupoId,
      consorciadoId,
      numero: 1,
      prazoMeses: 12,
      percentualTaxaAdministracao: "15",
      percentualFundoReserva: "2",
      diaVencimento: 9,
      mesPrimeiraParcela: 1,
    });
    expect(evento?.precoCentavos).toBe(30_000_000n);
    const [alterada] = (await stack.outbox(CotaSituacaoAlteradaSchema)).filter((e) => e.cotaId === cota?.id);
    expect(alterada).toMatchObject({ situacao: CotaSituacao.ATIVA, causa: CausaAlteracao.ADESAO });
  });

  test("an unknown consorciado is InvalidArgument on consorciado_id; an inactive one FailedPrecondition", async () => {
    const grupoId = await novoGrupo();
    const unknown = await failure(stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: uuidv7() }, opts));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/^consorciado_id: no such consorciado/);
    const consorciadoId = await stack.novoConsorciado();
    await stack.consorciadosClient.disableConsorciado({ id: consorciadoId }, opts);
    const inactive = await failure(stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts));
    expect(inactive.code).toBe(Code.FailedPrecondition);
    expect(inactive.rawMessage).toMatch(/consorciado_id: the consorciado is INATIVO/);
    expect(
      await stack.grupos.db.query("select count(*)::int as n from cota where grupo_id = $1", [grupoId]),
    ).toEqual([{ n: 0 }]);
    // An unknown grupo is NotFound.
    const other = await stack.novoConsorciado();
    expect(
      (await failure(stack.cotaClient.aderirGrupo({ grupoId: uuidv7(), consorciadoId: other }, opts))).code,
    ).toBe(Code.NotFound);
  });

  test("a retry with the same request_id returns the first cota and takes no second number", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const first = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId, requestId: "adesao-1" }, opts);
    const again = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId, requestId: "adesao-1" }, opts);
    expect(again).toEqual(first);
    expect(
      await stack.grupos.db.query("select count(*)::int as n from cota where grupo_id = $1", [grupoId]),
    ).toEqual([{ n: 1 }]);
    expect((await stack.outbox(CotaAderidaSchema)).filter((e) => e.grupoId === grupoId)).toHaveLength(1);
  });
});

describe("withdrawal", () => {
  test("within 7 days: CANCELADA, refunded in full, and the number is the next one given", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const cotas = [];
    for (let i = 0; i < 3; i++)
      cotas.push((await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts)).cota);
    await stack.clock.set(new Date("2027-01-12T20:00:00Z")); // 7 days after adesão, in Brasília
    const { cota } = await stack.cotaClient.desistirCota(
      { cotaId: cotas[1]?.id ?? "", requestId: "d-1" },
      opts,
    );
    expect(cota).toMatchObject({ situacao: CotaSituacao.CANCELADA, numero: 2 });
    // A retry answers the same; another withdrawal of it is FailedPrecondition.
    expect(
      (await stack.cotaClient.desistirCota({ cotaId: cota?.id ?? "", requestId: "d-1" }, opts)).cota,
    ).toEqual(cota);
    expect((await failure(stack.cotaClient.desistirCota({ cotaId: cota?.id ?? "" }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    const [cancelada] = (await stack.outbox(CotaCanceladaSchema)).filter((e) => e.cotaId === cota?.id);
    expect(cancelada).toMatchObject({
      restituicaoIntegral: true,
      causa: CausaAlteracao.DESISTENCIA,
      numero: 2,
    });
    const vagas = await stack.grupoClient.listVagas({ grupoId, pageSize: 2 }, opts);
    expect(vagas.numeros).toEqual([2, 4]);
    const next = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    expect(next.cota?.numero).toBe(2);
    // The cancelled cota stays listed, before the one that took its number.
    const { cotas: listed } = await stack.cotaClient.listCotas({ grupoId }, opts);
    expect(listed.map((c) => [c.numero, c.situacao])).toEqual([
      [1, CotaSituacao.ATIVA],
      [2, CotaSituacao.CANCELADA],
      [2, CotaSituacao.ATIVA],
      [3, CotaSituacao.ATIVA],
    ]);
    const ativas = await stack.cotaClient.listCotas({ grupoId, situacao: CotaSituacao.CANCELADA }, opts);
    expect(ativas.cotas.map((c) => c.id)).toEqual([cota?.id]);
  });

  test("after 7 days a withdrawal is FailedPrecondition", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const { cota } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    await stack.clock.set(new Date("2027-01-13T12:00:00Z"));
    const late = await failure(stack.cotaClient.desistirCota({ cotaId: cota?.id ?? "" }, opts));
    expect(late.code).toBe(Code.FailedPrecondition);
    expect(late.rawMessage).toMatch(/7 days/);
    expect((await situacao(cota?.id ?? ""))?.situacao).toBe(CotaSituacao.ATIVA);
  });
});

describe("cessão", () => {
  test("the cota passes to another consorciado with its number and history", async () => {
    const grupoId = await novoGrupo();
    const [cedente, cessionario] = [await stack.novoConsorciado(), await stack.novoConsorciado()];
    await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: cedente }, opts);
    const { cota } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: cedente }, opts);
    const cotaId = cota?.id ?? "";
    expect(
      (await failure(stack.cotaClient.transferCota({ cotaId, consorciadoId: cessionario, version: 9 }, opts)))
        .code,
    ).toBe(Code.Aborted);
    const same = await failure(stack.cotaClient.transferCota({ cotaId, consorciadoId: cedente }, opts));
    expect(same.code).toBe(Code.InvalidArgument);
    const unknown = await failure(stack.cotaClient.transferCota({ cotaId, consorciadoId: uuidv7() }, opts));
    expect(unknown.code).toBe(Code.InvalidArgument);
    const { cota: cedida } = await stack.cotaClient.transferCota(
      { cotaId, consorciadoId: cessionario, version: cota?.version ?? 0 },
      opts,
    );
    expect(cedida).toMatchObject({
      id: cotaId,
      numero: 2,
      consorciadoId: cessionario,
      situacao: CotaSituacao.ATIVA,
    });
    const { historico } = await stack.cotaClient.listHistoricoCota({ cotaId }, opts);
    expect(historico.map((h) => [h.sequencia, h.causa, h.consorciadoAnteriorId, h.consorciadoId])).toEqual([
      [1, CausaAlteracao.ADESAO, "", cedente],
      [2, CausaAlteracao.CESSAO, cedente, cessionario],
    ]);
    const [evento] = (await stack.outbox(CotaTransferidaSchema)).filter((e) => e.cotaId === cotaId);
    expect(evento).toMatchObject({
      numero: 2,
      cedenteConsorciadoId: cedente,
      cessionarioConsorciadoId: cessionario,
    });
    const doCessionario = await stack.cotaClient.listCotasDoConsorciado({ consorciadoId: cessionario }, opts);
    expect(doCessionario.cotas.map((c) => c.id)).toEqual([cotaId]);
    const doCedente = await stack.cotaClient.listCotasDoConsorciado({ consorciadoId: cedente }, opts);
    expect(doCedente.cotas.map((c) => c.numero)).toEqual([1]);
  });
});

describe("owner scoping", () => {
  test("a consorciado reads and withdraws only their own cotas", async () => {
    const grupoId = await novoGrupo();
    const [ana, bia] = [await stack.novoConsorciado(), await stack.novoConsorciado()];
    const { cota: daAna } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: ana }, opts);
    const { cota: daBia } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId: bia }, opts);
    const asAna = stack.auth(await stack.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: ana }));
    expect((await stack.cotaClient.getCota({ cotaId: daAna?.id ?? "" }, asAna)).cota?.id).toBe(daAna?.id);
    expect((await failure(stack.cotaClient.getCota({ cotaId: daBia?.id ?? "" }, asAna))).code).toBe(
      Code.PermissionDenied,
    );
    expect(
      (await stack.cotaClient.listCotasDoConsorciado({ consorciadoId: ana }, asAna)).cotas.map((c) => c.id),
    ).toEqual([daAna?.id]);
    expect((await failure(stack.cotaClient.listCotasDoConsorciado({ consorciadoId: bia }, asAna))).code).toBe(
      Code.PermissionDenied,
    );
    expect((await failure(stack.cotaClient.listHistoricoCota({ cotaId: daBia?.id ?? "" }, asAna))).code).toBe(
      Code.PermissionDenied,
    );
    expect((await failure(stack.cotaClient.desistirCota({ cotaId: daBia?.id ?? "" }, asAna))).code).toBe(
      Code.PermissionDenied,
    );
    expect((await failure(stack.cotaClient.listCotas({ grupoId }, asAna))).code).toBe(Code.PermissionDenied);
    const { cota } = await stack.cotaClient.desistirCota({ cotaId: daAna?.id ?? "" }, asAna);
    expect(cota?.situacao).toBe(CotaSituacao.CANCELADA);
    expect((await situacao(daBia?.id ?? ""))?.situacao).toBe(CotaSituacao.ATIVA);
  });
});

describe("events that change a cota's situation", () => {
  test("inadimplência, regularização, contemplação and its cancellation, each idempotent", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const { cota } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    const cotaId = cota?.id ?? "";
    const atraso = await stack.publish(InadimplenciaDetectadaSchema, {
      cotaId,
      grupoId,
      parcelaId: uuidv7(),
      parcelasVencidas: 1,
    });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.INADIMPLENTE);
    // Redelivered (same id) and repeated (a second overdue parcela): no second change.
    await stack.publish(InadimplenciaDetectadaSchema, { cotaId, grupoId, parcelasVencidas: 1 }, atraso);
    await stack.publish(InadimplenciaDetectadaSchema, { cotaId, grupoId, parcelasVencidas: 2 });
    // A cota in arrears cannot be withdrawn.
    expect((await failure(stack.cotaClient.desistirCota({ cotaId }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    await stack.publish(InadimplenciaRegularizadaSchema, { cotaId, grupoId });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.ATIVA);
    const contemplacaoId = uuidv7();
    await stack.publish(ContemplacaoProcessadaSchema, {
      contemplacaoId,
      assembleiaId: uuidv7(),
      grupoId,
      cotaId,
      modalidade: Modalidade.SORTEIO,
      creditoCentavos: 30_000_000n,
    });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.CONTEMPLADA);
    expect(await situacao(cotaId)).toMatchObject({ contemplada: true, contemplacaoId });
    // A contemplated cota in arrears is never excluded.
    await stack.publish(InadimplenciaDetectadaSchema, { cotaId, grupoId, parcelasVencidas: 1 });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.INADIMPLENTE);
    await stack.publish(CotaExcluidaSchema, { cotaId, grupoId, parcelasVencidas: 3 });
    await stack.publish(InadimplenciaRegularizadaSchema, { cotaId, grupoId });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.CONTEMPLADA);
    // The lance was not paid: the contemplação is cancelled and the cota competes again.
    await stack.publish(ContemplacaoCanceladaSchema, { contemplacaoId, cotaId, grupoId });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.ATIVA);
    const { historico } = await stack.cotaClient.listHistoricoCota({ cotaId }, opts);
    expect(historico.map((h) => h.causa)).toEqual([
      CausaAlteracao.ADESAO,
      CausaAlteracao.INADIMPLENCIA,
      CausaAlteracao.REGULARIZACAO,
      CausaAlteracao.CONTEMPLACAO,
      CausaAlteracao.INADIMPLENCIA,
      CausaAlteracao.REGULARIZACAO,
      CausaAlteracao.CONTEMPLACAO_CANCELADA,
    ]);
    const alteracoes = (await stack.outbox(CotaSituacaoAlteradaSchema)).filter((e) => e.cotaId === cotaId);
    expect(alteracoes.map((e) => [e.situacaoAnterior, e.situacao, e.causa])).toEqual([
      [CotaSituacao.UNSPECIFIED, CotaSituacao.ATIVA, CausaAlteracao.ADESAO],
      [CotaSituacao.ATIVA, CotaSituacao.INADIMPLENTE, CausaAlteracao.INADIMPLENCIA],
      [CotaSituacao.INADIMPLENTE, CotaSituacao.ATIVA, CausaAlteracao.REGULARIZACAO],
      [CotaSituacao.ATIVA, CotaSituacao.CONTEMPLADA, CausaAlteracao.CONTEMPLACAO],
      [CotaSituacao.CONTEMPLADA, CotaSituacao.INADIMPLENTE, CausaAlteracao.INADIMPLENCIA],
      [CotaSituacao.INADIMPLENTE, CotaSituacao.CONTEMPLADA, CausaAlteracao.REGULARIZACAO],
      [CotaSituacao.CONTEMPLADA, CotaSituacao.ATIVA, CausaAlteracao.CONTEMPLACAO_CANCELADA],
    ]);
    expect(alteracoes[1]?.origemId).toBe(atraso);
  }, 30_000);

  test("an excluded cota is EXCLUIDA and no longer changes hands; events of unknown cotas are dropped", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    const { cota } = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    const cotaId = cota?.id ?? "";
    const desconhecida = await stack.publish(CotaExcluidaSchema, {
      cotaId: uuidv7(),
      grupoId,
      parcelasVencidas: 3,
    });
    await stack.publish(InadimplenciaDetectadaSchema, { cotaId, grupoId, parcelasVencidas: 1 });
    await stack.publish(CotaExcluidaSchema, { cotaId, grupoId, parcelasVencidas: 3 });
    await eventually(async () => (await situacao(cotaId))?.situacao === CotaSituacao.EXCLUIDA);
    const other = await stack.novoConsorciado();
    expect((await failure(stack.cotaClient.transferCota({ cotaId, consorciadoId: other }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    // Nothing dead-lettered: the unknown cota's event was consumed and dropped.
    await eventually(async () => {
      const rows = await stack.grupos.db.query("select 1 from platform_inbox where message_id = $1", [
        desconhecida,
      ]);
      return rows.length === 1;
    });
  });
});

describe("consorciados unreachable", () => {
  test("adesão is Unavailable, naming what could not be checked", async () => {
    const grupoId = await novoGrupo();
    const consorciadoId = await stack.novoConsorciado();
    await stack.consorciados.service.stop();
    const down = await failure(stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts));
    expect(down.code).toBe(Code.Unavailable);
    expect(down.rawMessage).toMatch(/consorciados unavailable/);
  });
});
