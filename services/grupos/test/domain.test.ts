import {
  addDays,
  type CivilDate,
  civilDate,
  compareDates,
  daysBetween,
  isBusinessDay,
  isoDate,
} from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { adesaoRecusa, type GrupoStatus, passoCiclo, updateRecusa } from "../src/domain/ciclo.ts";
import {
  ADERIDA,
  aplicar,
  type Comando,
  cessaoRecusa,
  type EstadoCota,
  PRAZO_DESISTENCIA_DIAS,
  type Situacao,
} from "../src/domain/cota.ts";
import { cronograma, cronogramaViolations, proximoMes } from "../src/domain/cronograma.ts";
import { dataCivil } from "../src/domain/datas.ts";
import { parametrosViolations, withDefaults } from "../src/domain/parametros.ts";
import { parametrosValidos } from "./fixtures.ts";

const hoje = civilDate(2027, 1, 5);
const fields = (p: Parameters<typeof withDefaults>[0], today: CivilDate | undefined = hoje) =>
  parametrosViolations(withDefaults(p), today).map((v) => v.field);

describe("grupo parameters", () => {
  test("a valid set passes and takes the documented defaults", () => {
    const p = withDefaults(parametrosValidos());
    expect(parametrosViolations(p, hoje)).toEqual([]);
    expect(p).toMatchObject({
      seguroMensal: "0",
      contemplacoesPorAssembleia: 1,
      parcelasAtrasoExclusao: 3,
      encargos: { multa: "2", jurosMensal: "1", grupo: "50" },
      regrasLance: { maximoEmbutido: "30", prazoPagamentoDiasUteis: 3, minimoLivre: "0" },
      regrasSorteio: { extracao: "ULTIMA_ANTES_DA_ASSEMBLEIA", premios: 5 },
      penalidadeRestituicao: "0",
    });
  });
  test("percentages are canonical decimals", () => {
    const p = withDefaults(parametrosValidos({ taxaAdministracao: "15.0000", fundoReserva: "2.50" }));
    expect([p.taxaAdministracao, p.fundoReserva]).toEqual(["15", "2.5"]);
  });
  test("prazo 1..240 and cotas 2..10000", () => {
    for (const prazoMeses of [1, 240]) expect(fields(parametrosValidos({ prazoMeses }))).toEqual([]);
    for (const prazoMeses of [0, 241])
      expect(fields(parametrosValidos({ prazoMeses }))).toContain("grupo.prazo_meses");
    for (const quantidadeCotas of [2, 10_000])
      expect(fields(parametrosValidos({ quantidadeCotas }))).toEqual([]);
    for (const quantidadeCotas of [1, 10_001])
      expect(fields(parametrosValidos({ quantidadeCotas }))).toContain("grupo.quantidade_cotas");
  });
  test("percentages within sane bounds", () => {
    expect(fields(parametrosValidos({ taxaAdministracao: "0" }))).toContain(
      "grupo.percentual_taxa_administracao",
    );
    expect(fields(parametrosValidos({ taxaAdministracao: "50.0001" }))).toContain(
      "grupo.percentual_taxa_administracao",
    );
    expect(fields(parametrosValidos({ fundoReserva: "21" }))).toContain("grupo.percentual_fundo_reserva");
    expect(fields(parametrosValidos({ seguroMensal: "1.5" }))).toContain("grupo.percentual_seguro_mensal");
    expect(fields(parametrosValidos({ encargos: { multa: "2.01", jurosMensal: "", grupo: "" } }))).toContain(
      "grupo.encargos.percentual_multa",
    );
    expect(fields(parametrosValidos({ encargos: { multa: "", jurosMensal: "", grupo: "49.99" } }))).toContain(
      "grupo.encargos.percentual_grupo",
    );
    expect(fields(parametrosValidos({ taxaAdministracao: "1e2" }))).toContain(
      "grupo.percentual_taxa_administracao",
    );
  });
  test("the TA advance is part of the TA: above 0 and at most the TA", () => {
    expect(fields(parametrosValidos({ taxaAntecipada: "15" }))).toEqual([]);
    expect(fields(parametrosValidos({ taxaAntecipada: "15.01" }))).toContain(
      "grupo.percentual_taxa_antecipada",
    );
    expect(fields(parametrosValidos({ taxaAntecipada: "0" }))).toContain("grupo.percentual_taxa_antecipada");
  });
  test("lance rules: a type at least, the fixed % only and always with FIXO, the embutido cap ≤ 50", () => {
    const lance = parametrosValidos().regrasLance;
    expect(fields(parametrosValidos({ regrasLance: { ...lance, tipos: [] } }))).toContain(
      "grupo.regras_lance.tipos_permitidos",
    );
    expect(fields(parametrosValidos({ regrasLance: { ...lance, tipos: ["FIXO"] } }))).toContain(
      "grupo.regras_lance.percentual_fixo",
    );
    expect(fields(parametrosValidos({ regrasLance: { ...lance, tipos: ["FIXO"], fixo: "30" } }))).toEqual([]);
    expect(fields(parametrosValidos({ regrasLance: { ...lance, fixo: "30" } }))).toContain(
      "grupo.regras_lance.percentual_fixo",
    );
    expect(fields(parametrosValidos({ regrasLance: { ...lance, maximoEmbutido: "60" } }))).toContain(
      "grupo.regras_lance.percentual_maximo_embutido",
    );
  });
  test("a non-linear plan has one value per month summing to exactly 100", () => {
    const plano = ["40", "30", "30"];
    expect(fields(parametrosValidos({ prazoMeses: 3, fundoComumMensal: plano }))).toEqual([]);
    expect(
      fields(parametrosValidos({ prazoMeses: 3, fundoComumMensal: ["40", "30", "29.9999999999"] })),
    ).toEqual(["grupo.percentuais_fundo_comum"]);
    expect(fields(parametrosValidos({ prazoMeses: 4, fundoComumMensal: plano }))).toEqual([
      "grupo.percentuais_fundo_comum",
    ]);
    // 100 / 3 has no exact decimal: a third each is refused, 33.33 + 33.33 + 33.34 passes.
    expect(
      fields(parametrosValidos({ prazoMeses: 3, fundoComumMensal: ["33.33", "33.33", "33.34"] })),
    ).toEqual([]);
  });
  test("the schedule starts after today, on day 1..28, with the due day before the assembleia's", () => {
    expect(fields(parametrosValidos({ primeiraAssembleia: { year: 2027, month: 1, day: 5 } }))).toEqual([
      "grupo.primeira_assembleia",
    ]);
    expect(fields(parametrosValidos({ primeiraAssembleia: { year: 2027, month: 1, day: 29 } }))).toEqual([
      "grupo.primeira_assembleia",
    ]);
    expect(fields(parametrosValidos({ primeiraAssembleia: { year: 2027, month: 2, day: 30 } }))).toEqual([
      "grupo.primeira_assembleia",
    ]);
    expect(fields(parametrosValidos({ primeiraAssembleia: undefined }))).toEqual([
      "grupo.primeira_assembleia",
    ]);
    expect(fields(parametrosValidos({ diaVencimento: 21 }))).toEqual(["grupo.dia_vencimento"]);
  });
  test("a due date pushed onto its assembleia by a holiday makes the schedule inconsistent", () => {
    // Due 21 Apr 2027 (Tiradentes) moves to Thursday 22: the day of the assembleia.
    const abril = { prazoMeses: 1, diaVencimento: 21, primeiraAssembleia: civilDate(2027, 4, 22) };
    expect(cronogramaViolations(abril)).toMatchObject([{ field: "grupo.dia_vencimento" }]);
    expect(cronogramaViolations(abril)[0]?.message).toMatch(/month 1 /);
    // The same days in June (21 is a Monday) hold.
    expect(cronogramaViolations({ ...abril, primeiraAssembleia: civilDate(2027, 6, 22) })).toEqual([]);
  });
  test("dates are Brasília's calendar days", () => {
    expect(isoDate(dataCivil(new Date("2027-01-01T02:00:00Z")))).toBe("2026-12-31");
    expect(isoDate(dataCivil(new Date("2027-01-01T03:00:00Z")))).toBe("2027-01-01");
  });
});

describe("cronograma", () => {
  test("Carnival and Tiradentes hold no assembleia or due date", () => {
    const datas = cronograma({
      prazoMeses: 12,
      diaVencimento: 9,
      primeiraAssembleia: civilDate(2027, 1, 21),
    });
    const fev = datas[1];
    // 9 Feb 2027 is Carnival Tuesday: the due date moves to Ash Wednesday (banks open from noon).
    expect(fev && isoDate(fev.vencimentoPrevisto)).toBe("2027-02-09");
    expect(fev && isoDate(fev.vencimento)).toBe("2027-02-10");
    // 21 Apr 2027 (Tiradentes, a Wednesday): the assembleia moves to Thursday 22.
    const abr = datas[3];
    expect(abr && isoDate(abr.assembleia)).toBe("2027-04-22");
    expect(datas.map((d) => isoDate(d.assembleia))).toEqual([
      "2027-01-21",
      "2027-02-22",
      "2027-03-22",
      "2027-04-22",
      "2027-05-21",
      "2027-06-21",
      "2027-07-21",
      "2027-08-23",
      "2027-09-21",
      "2027-10-21",
      "2027-11-22",
      "2027-12-21",
    ]);
    // An assembleia on Carnival Monday moves past both Carnival days.
    const carnaval = cronograma({
      prazoMeses: 1,
      diaVencimento: 1,
      primeiraAssembleia: civilDate(2027, 2, 8),
    });
    expect(carnaval.map((d) => isoDate(d.assembleia))).toEqual(["2027-02-10"]);
  });
  test("property: every date is a business day, at most a week after the one named, in order", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2025, max: 2060 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 2, max: 28 }),
        fc.integer({ min: 1, max: 240 }),
        (year, month, day, prazoMeses) => {
          const agenda = { prazoMeses, diaVencimento: 1, primeiraAssembleia: civilDate(year, month, day) };
          const datas = cronograma(agenda);
          expect(datas).toHaveLength(prazoMeses);
          for (const [i, d] of datas.entries()) {
            expect(d.mes).toBe(i + 1);
            for (const [real, prevista] of [
              [d.assembleia, d.assembleiaPrevista],
              [d.vencimento, d.vencimentoPrevisto],
            ] as const) {
              expect(isBusinessDay(real)).toBe(true);
              const moved = daysBetween(prevista, real);
              expect(moved).toBeGreaterThanOrEqual(0);
              expect(moved).toBeLessThanOrEqual(6);
              for (let k = 0; k < moved; k++) expect(isBusinessDay(addDays(prevista, k))).toBe(false);
            }
            const previous = datas[i - 1];
            if (previous) expect(compareDates(d.assembleia, previous.assembleia)).toBeGreaterThan(0);
          }
          if (cronogramaViolations(agenda).length === 0)
            for (const d of datas) expect(compareDates(d.vencimento, d.assembleia)).toBeLessThan(0);
        },
      ),
      { numRuns: 150 },
    );
  });
  test("the next month is the first whose assembleia is still to come after today", () => {
    const datas = cronograma({ prazoMeses: 3, diaVencimento: 9, primeiraAssembleia: civilDate(2027, 1, 21) });
    expect(proximoMes(datas, civilDate(2027, 1, 20))).toBe(1);
    expect(proximoMes(datas, civilDate(2027, 1, 21))).toBe(2);
    expect(proximoMes(datas, civilDate(2027, 2, 22))).toBe(3);
    expect(proximoMes(datas, civilDate(2027, 3, 23))).toBe(4);
  });
});

describe("grupo lifecycle", () => {
  const datas = cronograma({ prazoMeses: 3, diaVencimento: 9, primeiraAssembleia: civilDate(2027, 1, 21) });
  const grupo = (status: GrupoStatus, cotasOcupadas = 10) => ({ status, datas, cotasOcupadas });
  test("EM_FORMACAO → ATIVO → EM_ENCERRAMENTO → ENCERRADO, each on its date", () => {
    expect(passoCiclo(grupo("EM_FORMACAO"), "ATIVAR", civilDate(2027, 1, 20))).toHaveProperty("recusa");
    expect(passoCiclo(grupo("EM_FORMACAO", 0), "ATIVAR", civilDate(2027, 1, 21))).toHaveProperty("recusa");
    expect(passoCiclo(grupo("EM_FORMACAO"), "ATIVAR", civilDate(2027, 1, 21))).toEqual({ status: "ATIVO" });
    expect(passoCiclo(grupo("ATIVO"), "INICIAR_ENCERRAMENTO", civilDate(2027, 3, 19))).toHaveProperty(
      "recusa",
    );
    expect(passoCiclo(grupo("ATIVO"), "INICIAR_ENCERRAMENTO", civilDate(2027, 3, 22))).toEqual({
      status: "EM_ENCERRAMENTO",
    });
    expect(passoCiclo(grupo("EM_ENCERRAMENTO"), "ENCERRAR", civilDate(2027, 3, 22))).toEqual({
      status: "ENCERRADO",
    });
  });
  test("property: a step from any other status is refused", () => {
    const steps = ["ATIVAR", "INICIAR_ENCERRAMENTO", "ENCERRAR"] as const;
    const origin = { ATIVAR: "EM_FORMACAO", INICIAR_ENCERRAMENTO: "ATIVO", ENCERRAR: "EM_ENCERRAMENTO" };
    fc.assert(
      fc.property(
        fc.constantFrom<GrupoStatus>("EM_FORMACAO", "ATIVO", "EM_ENCERRAMENTO", "ENCERRADO"),
        fc.constantFrom(...steps),
        (status, passo) => {
          const result = passoCiclo(grupo(status), passo, civilDate(2030, 1, 1));
          expect("status" in result).toBe(origin[passo] === status);
        },
      ),
    );
  });
  test("parameters the contract fixes cannot change once ATIVO; nothing changes once ENCERRADO", () => {
    expect(updateRecusa("EM_FORMACAO", ["prazo_meses", "bem.preco_centavos"])).toBeUndefined();
    expect(updateRecusa("ATIVO", ["nome"])).toBeUndefined();
    expect(updateRecusa("ATIVO", ["nome", "percentual_taxa_administracao"])).toMatch(
      /percentual_taxa_administracao/,
    );
    expect(updateRecusa("EM_ENCERRAMENTO", ["dia_vencimento"])).toMatch(/fixed/);
    expect(updateRecusa("ENCERRADO", ["nome"])).toMatch(/ENCERRADO/);
  });
  test("adesão while forming, and while ATIVO with an assembleia ahead", () => {
    expect(adesaoRecusa("EM_FORMACAO", 1, 12)).toBeUndefined();
    expect(adesaoRecusa("ATIVO", 12, 12)).toBeUndefined();
    expect(adesaoRecusa("ATIVO", 13, 12)).toMatch(/no assembleia left/);
    expect(adesaoRecusa("EM_ENCERRAMENTO", 1, 12)).toBeDefined();
    expect(adesaoRecusa("ENCERRADO", 1, 12)).toBeDefined();
  });
});

describe("cota state machine", () => {
  const adesao = civilDate(2027, 1, 10);
  const comando = fc.oneof(
    fc
      .record({ causa: fc.constant("DESISTENCIA" as const), dias: fc.integer({ min: 0, max: 10 }) })
      .map(
        ({ dias }): Comando => ({ causa: "DESISTENCIA", dataAdesao: adesao, hoje: addDays(adesao, dias) }),
      ),
    fc.constant<Comando>({ causa: "INADIMPLENCIA" }),
    fc.constant<Comando>({ causa: "REGULARIZACAO" }),
    fc.constant<Comando>({ causa: "EXCLUSAO" }),
    fc
      .record({ id: fc.constantFrom("c1", "c2"), restituicao: fc.boolean() })
      .map(({ id, restituicao }): Comando => ({ causa: "CONTEMPLACAO", contemplacaoId: id, restituicao })),
    fc
      .constantFrom("c1", "c2")
      .map((id): Comando => ({ causa: "CONTEMPLACAO_CANCELADA", contemplacaoId: id })),
    fc.constant<Comando>({ causa: "QUITACAO" }),
  );
  /** The only cause that may bring a cota into each situation. */
  const ENTRADA: Record<Situacao, readonly string[]> = {
    ATIVA: ["REGULARIZACAO", "CONTEMPLACAO_CANCELADA"],
    INADIMPLENTE: ["INADIMPLENCIA"],
    CONTEMPLADA: ["CONTEMPLACAO", "REGULARIZACAO"],
    EXCLUIDA: ["EXCLUSAO"],
    QUITADA: ["QUITACAO"],
    CANCELADA: ["DESISTENCIA"],
  };

  test("property: each situation is entered only by its owner; the invariants hold on every path", () => {
    fc.assert(
      fc.property(fc.array(comando, { maxLength: 30 }), (comandos) => {
        let estado: EstadoCota = ADERIDA;
        for (const c of comandos) {
          const result = aplicar(estado, c);
          if (result.tipo !== "alterada") continue;
          const next = result.estado;
          if (next.situacao !== estado.situacao) expect(ENTRADA[next.situacao]).toContain(c.causa);
          // Terminal situations never change.
          expect(["CANCELADA", "QUITADA"]).not.toContain(estado.situacao);
          // A contemplated cota is never excluded; an excluded or cancelled one holds no credit.
          if (estado.contemplada) expect(next.situacao).not.toBe("EXCLUIDA");
          if (["EXCLUIDA", "CANCELADA", "ATIVA"].includes(next.situacao))
            expect(next.contemplada).toBe(false);
          if (next.situacao === "CONTEMPLADA" || next.situacao === "QUITADA")
            expect(next.contemplada).toBe(true);
          if (next.contemplada) expect(next.contemplacaoId).not.toBeNull();
          estado = next;
        }
      }),
      { numRuns: 500 },
    );
  });
  test("property: a fact applied twice changes nothing the second time (redelivered events)", () => {
    fc.assert(
      fc.property(fc.array(comando, { maxLength: 20 }), comando, (before, c) => {
        let estado: EstadoCota = ADERIDA;
        for (const b of before) {
          const r = aplicar(estado, b);
          if (r.tipo === "alterada") estado = r.estado;
        }
        const first = aplicar(estado, c);
        if (first.tipo !== "alterada" || c.causa === "DESISTENCIA") return;
        expect(aplicar(first.estado, c).tipo).not.toBe("alterada");
      }),
      { numRuns: 500 },
    );
  });
  test("withdrawal within 7 days of adesão, of an ATIVA cota only", () => {
    const at = (dias: number): Comando => ({
      causa: "DESISTENCIA",
      dataAdesao: adesao,
      hoje: addDays(adesao, dias),
    });
    expect(aplicar(ADERIDA, at(PRAZO_DESISTENCIA_DIAS))).toMatchObject({ estado: { situacao: "CANCELADA" } });
    expect(aplicar(ADERIDA, at(PRAZO_DESISTENCIA_DIAS + 1))).toMatchObject({ tipo: "ilegal" });
    const inadimplente: EstadoCota = { ...ADERIDA, situacao: "INADIMPLENTE" };
    expect(aplicar(inadimplente, at(1))).toMatchObject({ tipo: "ilegal" });
  });
  test("a contemplated cota in arrears stays contemplated, is never excluded, and comes back CONTEMPLADA", () => {
    const contemplada = aplicar(ADERIDA, { causa: "CONTEMPLACAO", contemplacaoId: "c1", restituicao: false });
    expect(contemplada).toMatchObject({ estado: { situacao: "CONTEMPLADA", contemplada: true } });
    if (contemplada.tipo !== "alterada") throw new Error("unreachable");
    const atraso = aplicar(contemplada.estado, { causa: "INADIMPLENCIA" });
    if (atraso.tipo !== "alterada") throw new Error("unreachable");
    expect(atraso.estado).toMatchObject({ situacao: "INADIMPLENTE", contemplada: true });
    expect(aplicar(atraso.estado, { causa: "EXCLUSAO" })).toMatchObject({ tipo: "ilegal" });
    expect(aplicar(atraso.estado, { causa: "REGULARIZACAO" })).toMatchObject({
      estado: { situacao: "CONTEMPLADA" },
    });
  });
  test("a cancelled contemplação reverts only its own cota's credit", () => {
    const contemplada: EstadoCota = { situacao: "CONTEMPLADA", contemplada: true, contemplacaoId: "c1" };
    expect(aplicar(contemplada, { causa: "CONTEMPLACAO_CANCELADA", contemplacaoId: "c2" })).toEqual({
      tipo: "inalterada",
    });
    expect(aplicar(contemplada, { causa: "CONTEMPLACAO_CANCELADA", contemplacaoId: "c1" })).toEqual({
      tipo: "alterada",
      estado: ADERIDA,
    });
  });
  test("an excluded cota drawn for restitution stays EXCLUIDA", () => {
    const excluida: EstadoCota = { situacao: "EXCLUIDA", contemplada: false, contemplacaoId: null };
    expect(aplicar(excluida, { causa: "CONTEMPLACAO", contemplacaoId: "r1", restituicao: true })).toEqual({
      tipo: "alterada",
      estado: { ...excluida, contemplacaoId: "r1" },
    });
    expect(aplicar(ADERIDA, { causa: "CONTEMPLACAO", contemplacaoId: "r1", restituicao: true }).tipo).toBe(
      "ilegal",
    );
  });
  test("cessão only of a cota in good standing", () => {
    expect(cessaoRecusa(ADERIDA)).toBeUndefined();
    expect(cessaoRecusa({ situacao: "CONTEMPLADA", contemplada: true, contemplacaoId: "c" })).toBeUndefined();
    for (const situacao of ["INADIMPLENTE", "EXCLUIDA", "QUITADA", "CANCELADA"] as const)
      expect(cessaoRecusa({ ...ADERIDA, situacao })).toBeDefined();
  });
});
