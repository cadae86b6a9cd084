// Grupos over real HTTP/2: parameters, lifecycle, cronograma, reads, retries and hostile input.
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  CotaAderidaSchema,
  GrupoAtivadoSchema,
  GrupoCriadoSchema,
  GrupoEncerradoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { GrupoStatus, Segmento } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "vitest";
import { grupoMessage } from "./fixtures.ts";
import { type Stack, startStack } from "./support.ts";

let stack: Stack;
let opts: { headers: Record<string, string> };

beforeAll(async () => {
  stack = await startStack();
  opts = stack.auth(stack.admin);
});
// Tests that move the clock put it back.
afterEach(() => stack.clock.set(new Date("2027-01-05T12:00:00Z")));
afterAll(() => stack?.stop());

const iso = (d: { year: number; month: number; day: number } | undefined) =>
  d ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "";

async function codeOf(
  call: Promise<unknown>,
): Promise<{ code: Code; violations: string[]; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = ConnectError.from(error);
    const violations = e.rawMessage
      .split("; ")
      .map((part) => part.split(":")[0] ?? "")
      .filter(Boolean);
    return { code: e.code, violations, message: e.rawMessage };
  }
  throw new Error("the call succeeded");
}

describe("grupo parameters", () => {
  test("a grupo is created EM_FORMACAO with every parameter, its defaults filled, and GrupoCriado", async () => {
    const { grupo } = await stack.grupoClient.createGrupo(
      { grupo: grupoMessage({ percentualTaxaAntecipada: "1.5" }) },
      opts,
    );
    expect(grupo).toMatchObject({
      status: GrupoStatus.EM_FORMACAO,
      prazoMeses: 12,
      quantidadeCotas: 100,
      percentualTaxaAdministracao: "15",
      percentualTaxaAntecipada: "1.5",
      percentualSeguroMensal: "0",
      contemplacoesPorAssembleia: 1,
      parcelasAtrasoExclusao: 3,
      encargos: { percentualMulta: "2", percentualJurosMensal: "1", percentualGrupo: "50" },
      regrasLance: { percentualMaximoEmbutido: "30", prazoPagamentoDiasUteis: 3, percentualFixo: "30" },
      regrasSorteio: { premiosConsiderados: 5 },
      cotasOcupadas: 0,
      version: 1,
    });
    expect(grupo?.bem?.precoCentavos).toBe(30_000_000n);
    const got = await stack.grupoClient.getGrupo({ grupoId: grupo?.id ?? "" }, opts);
    expect(got.grupo).toEqual(grupo);
    const events = await stack.outbox(GrupoCriadoSchema);
    expect(events.find((e) => e.grupoId === grupo?.id)?.grupo?.codigo).toBe(grupo?.codigo);
  });

  test("a rule broken is InvalidArgument naming the fields, and nothing is written", async () => {
    const before = await stack.grupos.db.query("select count(*)::int as n from grupo");
    const bad = grupoMessage({
      prazoMeses: 300,
      percentualTaxaAdministracao: "0",
      percentualTaxaAntecipada: "20",
      diaVencimento: 25,
      encargos: { percentualGrupo: "40" },
    });
    const { code, message } = await codeOf(stack.grupoClient.createGrupo({ grupo: bad }, opts));
    expect(code).toBe(Code.InvalidArgument);
    expect(message).toMatch(/prazo_meses/);
    // Past the contract's rules, the domain's: all of them at once.
    const { message: domain } = await codeOf(
      stack.grupoClient.createGrupo(
        {
          grupo: grupoMessage({
            percentualTaxaAdministracao: "0",
            percentualTaxaAntecipada: "20",
            diaVencimento: 25,
            encargos: { percentualGrupo: "40" },
          }),
        },
        opts,
      ),
    );
    for (const field of [
      "grupo.percentual_taxa_administracao",
      "grupo.percentual_taxa_antecipada",
      "grupo.dia_vencimento",
      "grupo.encargos.percentual_grupo",
    ])
      expect(domain).toContain(field);
    expect(await stack.grupos.db.query("select count(*)::int as n from grupo")).toEqual(before);
  });

  test("hostile input (NUL, control characters, huge strings, bad enums) is InvalidArgument", async () => {
    const cases = [
      grupoMessage({ nome: "Grupo\u0000" }),
      grupoMessage({ codigo: "IM\u00000" }),
      grupoMessage({ bem: { descricao: "x".repeat(1_000_000), precoCentavos: 30_000_000n } }),
      grupoMessage({ bem: { descricao: "Casa\u0007", precoCentavos: 30_000_000n } }),
      grupoMessage({ segmento: 99 as Segmento }),
      grupoMessage({ percentuaisFundoComum: ["NaN"] }),
      grupoMessage({ percentualFundoReserva: "-1" }),
      grupoMessage({ bem: { descricao: "Casa", precoCentavos: -1n } }),
    ];
    for (const grupo of cases)
      expect((await codeOf(stack.grupoClient.createGrupo({ grupo }, opts))).code).toBe(Code.InvalidArgument);
    expect(
      (await codeOf(stack.grupoClient.createGrupo({ grupo: grupoMessage(), requestId: "r\u0000" }, opts)))
        .code,
    ).toBe(Code.InvalidArgument);
    expect((await codeOf(stack.grupoClient.getGrupo({ grupoId: "not-a-uuid\u0000" }, opts))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await codeOf(stack.grupoClient.listGrupos({ pageToken: "\u0000garbage" }, opts))).code).toBe(
      Code.InvalidArgument,
    );
  });

  test("codigo is unique: a second grupo with it is AlreadyExists", async () => {
    const grupo = grupoMessage();
    await stack.grupoClient.createGrupo({ grupo }, opts);
    expect((await codeOf(stack.grupoClient.createGrupo({ grupo }, opts))).code).toBe(Code.AlreadyExists);
  });

  test("a retry with the same request_id returns the first grupo and creates nothing more", async () => {
    const grupo = grupoMessage();
    const first = await stack.grupoClient.createGrupo({ grupo, requestId: "create-once" }, opts);
    const again = await stack.grupoClient.createGrupo({ grupo, requestId: "create-once" }, opts);
    expect(again.grupo).toEqual(first.grupo);
    expect(
      await stack.grupos.db.query("select count(*)::int as n from grupo where codigo = $1", [grupo.codigo]),
    ).toEqual([{ n: 1 }]);
    // The same id for another request is refused.
    expect(
      (await codeOf(stack.grupoClient.createGrupo({ grupo: grupoMessage(), requestId: "create-once" }, opts)))
        .code,
    ).toBe(Code.FailedPrecondition);
  });

  test("UpdateGrupo: any parameter while forming, with the version read; a stale one is Aborted", async () => {
    const { grupo } = await stack.grupoClient.createGrupo({ grupo: grupoMessage() }, opts);
    const id = grupo?.id ?? "";
    const { grupo: updated } = await stack.grupoClient.updateGrupo(
      {
        grupo: { id, version: 1, prazoMeses: 24, bem: { precoCentavos: 40_000_000n } },
        updateMask: { paths: ["prazo_meses", "bem.preco_centavos"] },
      },
      opts,
    );
    expect(updated).toMatchObject({
      prazoMeses: 24,
      version: 2,
      bem: { descricao: "Apartamento de referência" },
    });
    expect(updated?.bem?.precoCentavos).toBe(40_000_000n);
    expect(
      (
        await codeOf(
          stack.grupoClient.updateGrupo(
            { grupo: { id, version: 1, prazoMeses: 36 }, updateMask: { paths: ["prazo_meses"] } },
            opts,
          ),
        )
      ).code,
    ).toBe(Code.Aborted);
    expect(
      (
        await codeOf(
          stack.grupoClient.updateGrupo(
            { grupo: { id, version: 2, prazoMeses: 36 }, updateMask: { paths: ["status"] } },
            opts,
          ),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
    // The merged set is validated as a whole: a cap below the TA advance's TA is refused.
    expect(
      (
        await codeOf(
          stack.grupoClient.updateGrupo(
            { grupo: { id, version: 2, diaVencimento: 22 }, updateMask: { paths: ["dia_vencimento"] } },
            opts,
          ),
        )
      ).violations,
    ).toContain("grupo.dia_vencimento");
  });
});

describe("cronograma", () => {
  test("Carnival and a national holiday never hold an assembleia or a due date", async () => {
    const { grupo } = await stack.grupoClient.createGrupo({ grupo: grupoMessage() }, opts);
    const { datas } = await stack.grupoClient.getCronograma({ grupoId: grupo?.id ?? "" }, opts);
    expect(datas).toHaveLength(12);
    // February 2027: due on the 9th, Carnival Tuesday → Ash Wednesday the 10th.
    expect(iso(datas[1]?.vencimentoPrevisto)).toBe("2027-02-09");
    expect(iso(datas[1]?.vencimento)).toBe("2027-02-10");
    // April 2027: the assembleia of the 21st, Tiradentes → the 22nd.
    expect(iso(datas[3]?.assembleiaPrevista)).toBe("2027-04-21");
    expect(iso(datas[3]?.assembleia)).toBe("2027-04-22");
    // An assembleia named for Carnival Monday moves past Carnival.
    const carnaval = await stack.grupoClient.createGrupo(
      { grupo: grupoMessage({ primeiraAssembleia: { year: 2027, month: 2, day: 8 }, diaVencimento: 1 }) },
      opts,
    );
    const { datas: fevereiro } = await stack.grupoClient.getCronograma(
      { grupoId: carnaval.grupo?.id ?? "" },
      opts,
    );
    expect(iso(fevereiro[0]?.assembleia)).toBe("2027-02-10");
  });
});

describe("lifecycle", () => {
  test("EM_FORMACAO → ATIVO → EM_ENCERRAMENTO → ENCERRADO, each when its date has come", async () => {
    const { grupo } = await stack.grupoClient.createGrupo({ grupo: grupoMessage({ prazoMeses: 2 }) }, opts);
    const grupoId = grupo?.id ?? "";
    // Before its first assembleia, and without a cota, a grupo is not constituted.
    expect((await codeOf(stack.grupoClient.ativarGrupo({ grupoId }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    const consorciadoId = await stack.novoConsorciado();
    await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    expect((await codeOf(stack.grupoClient.ativarGrupo({ grupoId }, opts))).message).toMatch(/2027-01-21/);
    await stack.clock.set(new Date("2027-01-21T13:00:00Z"));
    // A stale version is Aborted; a retry with the same request_id answers the same.
    expect((await codeOf(stack.grupoClient.ativarGrupo({ grupoId, version: 7 }, opts))).code).toBe(
      Code.Aborted,
    );
    const ativo = await stack.grupoClient.ativarGrupo({ grupoId, requestId: "ativar-1" }, opts);
    expect(ativo.grupo?.status).toBe(GrupoStatus.ATIVO);
    expect(await stack.grupoClient.ativarGrupo({ grupoId, requestId: "ativar-1" }, opts)).toEqual(ativo);
    expect((await codeOf(stack.grupoClient.ativarGrupo({ grupoId }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    expect((await stack.outbox(GrupoAtivadoSchema)).filter((e) => e.grupoId === grupoId)).toHaveLength(1);
    // A vaga taken once the grupo is ATIVO is billed from the next assembleia's month.
    const tardia = await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    const [aderida] = (await stack.outbox(CotaAderidaSchema)).filter((e) => e.cotaId === tardia.cota?.id);
    expect(aderida?.mesPrimeiraParcela).toBe(2);
    // The contract's parameters are fixed now; the name is not.
    const version = ativo.grupo?.version ?? 0;
    const fixed = await codeOf(
      stack.grupoClient.updateGrupo(
        {
          grupo: { id: grupoId, version, percentualTaxaAdministracao: "12" },
          updateMask: { paths: ["percentual_taxa_administracao"] },
        },
        opts,
      ),
    );
    expect(fixed.code).toBe(Code.FailedPrecondition);
    const renamed = await stack.grupoClient.updateGrupo(
      { grupo: { id: grupoId, version, nome: "Novo nome" }, updateMask: { paths: ["nome"] } },
      opts,
    );
    expect(renamed.grupo?.nome).toBe("Novo nome");
    // Encerramento after the last assembleia (22 Feb 2027: the 21st is a Sunday).
    await stack.clock.set(new Date("2027-02-19T13:00:00Z"));
    expect((await codeOf(stack.grupoClient.iniciarEncerramentoGrupo({ grupoId }, opts))).message).toMatch(
      /2027-02-22/,
    );
    await stack.clock.set(new Date("2027-02-22T13:00:00Z"));
    expect((await codeOf(stack.grupoClient.encerrarGrupo({ grupoId }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    const emEncerramento = await stack.grupoClient.iniciarEncerramentoGrupo({ grupoId }, opts);
    expect(emEncerramento.grupo?.status).toBe(GrupoStatus.EM_ENCERRAMENTO);
    // No adesão once the grupo is closing.
    expect((await codeOf(stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts))).code).toBe(
      Code.FailedPrecondition,
    );
    const encerrado = await stack.grupoClient.encerrarGrupo({ grupoId }, opts);
    expect(encerrado.grupo?.status).toBe(GrupoStatus.ENCERRADO);
    expect(encerrado.grupo?.encerramentoTime).toBeDefined();
    const [evento] = (await stack.outbox(GrupoEncerradoSchema)).filter((e) => e.grupoId === grupoId);
    expect(evento?.encerramentoTime?.seconds).toBe(BigInt(Date.parse("2027-02-22T13:00:00Z") / 1000));
    // Through the broker, consorciados dates its participants' history: their retention clock runs.
    const participacao = await eventually(async () => {
      const rows = await stack.consorciados.db.query<{ evento: string; grupo_encerrado_at: Date | null }>(
        "select evento, grupo_encerrado_at from participacao where grupo_id = $1",
        [grupoId],
      );
      return rows.length === 2 && rows.every((r) => r.grupo_encerrado_at) ? rows : undefined;
    });
    expect(participacao).toMatchObject([
      { evento: "ADESAO", grupo_encerrado_at: new Date("2027-02-22T13:00:00Z") },
      { evento: "ADESAO", grupo_encerrado_at: new Date("2027-02-22T13:00:00Z") },
    ]);
    for (const call of [
      () => stack.grupoClient.ativarGrupo({ grupoId }, opts),
      () => stack.grupoClient.iniciarEncerramentoGrupo({ grupoId }, opts),
      () => stack.grupoClient.encerrarGrupo({ grupoId }, opts),
      () =>
        stack.grupoClient.updateGrupo(
          {
            grupo: { id: grupoId, version: encerrado.grupo?.version ?? 0, nome: "x" },
            updateMask: { paths: ["nome"] },
          },
          opts,
        ),
    ])
      expect((await codeOf(call())).code).toBe(Code.FailedPrecondition);
  });
});

describe("reads", () => {
  test("ListGrupos pages newest first, by status and segment", async () => {
    const created: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { grupo } = await stack.grupoClient.createGrupo(
        { grupo: grupoMessage({ segmento: Segmento.MOTOCICLETA }) },
        opts,
      );
      created.push(grupo?.id ?? "");
    }
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await stack.grupoClient.listGrupos(
        { segmento: Segmento.MOTOCICLETA, status: GrupoStatus.EM_FORMACAO, pageSize: 2, pageToken },
        opts,
      );
      expect(page.grupos.length).toBeLessThanOrEqual(2);
      for (const g of page.grupos) {
        expect(g.segmento).toBe(Segmento.MOTOCICLETA);
        seen.push(g.id);
      }
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toEqual([...created].reverse());
    const ativos = await stack.grupoClient.listGrupos(
      { segmento: Segmento.MOTOCICLETA, status: GrupoStatus.ATIVO },
      opts,
    );
    expect(ativos.grupos).toEqual([]);
    const auditor = stack.auth(await stack.issuer.token({ roles: [Role.AUDITOR] }));
    expect(
      (await stack.grupoClient.listGrupos({ comVagas: true, pageSize: 500 }, auditor)).grupos.length,
    ).toBeGreaterThan(0);
  });

  test("ListVagas pages the free numbers", async () => {
    const { grupo } = await stack.grupoClient.createGrupo(
      { grupo: grupoMessage({ quantidadeCotas: 5 }) },
      opts,
    );
    const grupoId = grupo?.id ?? "";
    const consorciadoId = await stack.novoConsorciado();
    await stack.cotaClient.aderirGrupo({ grupoId, consorciadoId }, opts);
    const first = await stack.grupoClient.listVagas({ grupoId, pageSize: 3 }, opts);
    expect(first).toMatchObject({ numeros: [2, 3, 4], totalVagas: 4 });
    const rest = await stack.grupoClient.listVagas(
      { grupoId, pageSize: 3, pageToken: first.nextPageToken },
      opts,
    );
    expect(rest).toMatchObject({ numeros: [5], nextPageToken: "" });
  });
});
