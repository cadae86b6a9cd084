// The lance window by the clock: the job opens an AGENDADA assembleia LANCES_ABERTURA_DIAS (10)
// before its date and closes the window LANCES_ENCERRAMENTO_DIAS (1) before it; moving the test
// clock runs it, and running it again (or on two replicas at once) changes nothing. Manual
// AbrirLances/EncerrarLances keep working beside it. Over real PostgreSQL and HTTP/2.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { type Assembleia, AssembleiaStatus } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { TipoLance } from "@consorcio/gen/consorcio/sorteios/v1/lance_pb.js";
import { createTestIssuer, deleteQueues } from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { faseJanela } from "../src/domain/janela.ts";
import { AGENDAMENTO_JOB, JANELA_LANCES_JOB } from "../src/service.ts";
import { addGrupo, bearer, type Issuer, startPeers, startSorteios } from "./support.ts";

let issuer: Issuer;
let peers: Awaited<ReturnType<typeof startPeers>>;
let sorteios: Awaited<ReturnType<typeof startSorteios>>;
let gerente: ReturnType<typeof bearer>;

beforeAll(async () => {
  issuer = await createTestIssuer();
  peers = await startPeers(issuer);
  sorteios = await startSorteios(peers.url, issuer);
  gerente = bearer(await issuer.token({ roles: [Role.GERENTE], subject: "gerente" }));
});
afterAll(async () => {
  await sorteios?.stop();
  await sorteios?.db.drop();
  await peers?.close();
  await deleteQueues([sorteios.queue]);
});

describe("faseJanela", () => {
  const janela = { aberturaDias: 10, encerramentoDias: 1 };
  test("before, open from 10 days ahead, closed from the day before", () => {
    expect(faseJanela(janela, "2026-12-20", "2026-12-09")).toBe("ANTES");
    expect(faseJanela(janela, "2026-12-20", "2026-12-10")).toBe("ABERTA");
    expect(faseJanela(janela, "2026-12-20", "2026-12-18")).toBe("ABERTA");
    expect(faseJanela(janela, "2026-12-20", "2026-12-19")).toBe("ENCERRADA");
    expect(faseJanela(janela, "2026-12-20", "2027-01-02")).toBe("ENCERRADA");
    expect(faseJanela({ aberturaDias: 3, encerramentoDias: 0 }, "2027-01-01", "2026-12-30")).toBe("ABERTA");
    expect(faseJanela({ aberturaDias: 3, encerramentoDias: 0 }, "2027-01-01", "2027-01-01")).toBe(
      "ENCERRADA",
    );
  });
});

test("the job opens and closes the lance windows as the clock moves, once, beside the manual calls", async () => {
  const { assembleias, lances, clock } = sorteios;
  const at = (day: string) => clock.set(new Date(`${day}T15:00:00Z`)); // noon in São Paulo
  await at("2026-12-01");
  const caixa = { fundoComumCentavos: 0n, n: 20 };
  const cedo = addGrupo(peers.state, { ...caixa, assembleia: "2026-12-20" });
  const perto = addGrupo(peers.state, { ...caixa, assembleia: "2026-12-05" });
  const manual = addGrupo(peers.state, { ...caixa, assembleia: "2026-12-20" });
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  const of = async (grupoId: string): Promise<Assembleia> => {
    const a = (await assembleias.listAssembleias({ grupoId }, gerente)).assembleias[0];
    if (!a) throw new Error(`no assembleia for ${grupoId}`);
    return a;
  };
  const lance = async (setup: typeof cedo) =>
    lances.submitLance(
      {
        assembleiaId: (await of(setup.grupo.id)).id,
        cotaId: setup.cota(3).id,
        consorciadoId: setup.cota(3).consorciadoId,
        tipo: TipoLance.LIVRE,
        percentual: "40",
      },
      gerente,
    );
  const refused = async (call: Promise<unknown>) => {
    try {
      await call;
    } catch (e) {
      return ConnectError.from(e).code;
    }
    return undefined;
  };
  // An operator opens one by hand, ahead of its window.
  let m = await of(manual.grupo.id);
  m = (await assembleias.abrirLances({ id: m.id, version: m.version }, gerente)).assembleia ?? m;

  // 1 December: the one 4 days ahead is in its window, the one 19 days ahead is not.
  expect((await sorteios.service.runJob(JANELA_LANCES_JOB)).outcome).toBe("succeeded");
  expect((await of(cedo.grupo.id)).status).toBe(AssembleiaStatus.AGENDADA);
  expect((await of(perto.grupo.id)).status).toBe(AssembleiaStatus.ABERTA_PARA_LANCES);
  expect((await of(manual.grupo.id)).version).toBe(m.version);
  expect(await refused(lance(cedo))).toBe(Code.FailedPrecondition);
  expect((await lance(perto)).lance?.percentual).toBe("40");

  // 10 December (the clock's move runs the job): the early one opens, the near one closed on the 4th.
  await at("2026-12-10");
  const aberta = await of(cedo.grupo.id);
  expect(aberta.status).toBe(AssembleiaStatus.ABERTA_PARA_LANCES);
  expect(aberta.lancesEncerradosTime).toBeUndefined();
  expect((await of(perto.grupo.id)).lancesEncerradosTime).toBeDefined();
  expect(await refused(lance(perto))).toBe(Code.FailedPrecondition);
  expect((await lance(cedo)).lance?.percentual).toBe("40");
  // Two replicas at once, then again: the versions do not move.
  const versoes = async () =>
    Promise.all([cedo, perto, manual].map(async (s) => (await of(s.grupo.id)).version));
  const antes = await versoes();
  const runs = await Promise.all([
    sorteios.service.runJob(JANELA_LANCES_JOB),
    sorteios.service.runJob(JANELA_LANCES_JOB),
  ]);
  expect(runs.map((r) => r.outcome)).toEqual(["succeeded", "succeeded"]);
  expect(await versoes()).toEqual(antes);
  // Opened by hand the day before its assembleia (the cut-off), before the job runs: no lance.
  const vespera = addGrupo(peers.state, { ...caixa, assembleia: "2026-12-11" });
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  const v = await of(vespera.grupo.id);
  await assembleias.abrirLances({ id: v.id, version: v.version }, gerente);
  expect((await of(vespera.grupo.id)).lancesEncerradosTime).toBeUndefined();
  expect(await refused(lance(vespera))).toBe(Code.FailedPrecondition);
  // The manual one is still open; the operator closes it by hand.
  m = await of(manual.grupo.id);
  expect([m.status, m.lancesEncerradosTime]).toEqual([AssembleiaStatus.ABERTA_PARA_LANCES, undefined]);
  m = (await assembleias.encerrarLances({ id: m.id, version: m.version }, gerente)).assembleia ?? m;

  // 19 December, the day before: the window of the early one closes; the manual one is untouched.
  await at("2026-12-19");
  expect((await of(cedo.grupo.id)).lancesEncerradosTime).toBeDefined();
  expect(await refused(lance(cedo))).toBe(Code.FailedPrecondition);
  expect((await of(manual.grupo.id)).version).toBe(m.version);
  // One scheduled after its cut-off opens already closed, so it can still be apurada.
  const tarde = addGrupo(peers.state, { ...caixa, assembleia: "2026-12-20" });
  expect((await sorteios.service.runJob(AGENDAMENTO_JOB)).outcome).toBe("succeeded");
  expect((await sorteios.service.runJob(JANELA_LANCES_JOB)).outcome).toBe("succeeded");
  const t = await of(tarde.grupo.id);
  expect([t.status, t.lancesEncerradosTime !== undefined]).toEqual([
    AssembleiaStatus.ABERTA_PARA_LANCES,
    true,
  ]);
}, 60_000);
