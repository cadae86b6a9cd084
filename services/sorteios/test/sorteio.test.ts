// The Loteria Federal rule of DOMAIN.md §4: the worked example, uniformity, fallback and wrap.
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { cotaDoCandidato, digitos, MOTIVO, numerosCandidatos, sortear, span } from "../src/domain/sorteio.ts";

const EXEMPLO = ["48602", "01927", "82187", "34246", "68744"];
const premio = fc.integer({ min: 0, max: 99999 }).map((n) => String(n).padStart(5, "0"));
const premios = fc.array(premio, { minLength: 5, maxLength: 5 });

describe("the worked example (N = 500)", () => {
  test("w, the ten candidates and their cotas", () => {
    expect(digitos(500)).toBe(3);
    expect(digitos(80)).toBe(2);
    expect(digitos(2000)).toBe(4);
    expect(numerosCandidatos(EXEMPLO, 500)).toEqual([602, 860, 927, 192, 187, 218, 246, 424, 744, 874]);
    const { candidatos } = sortear(500, EXEMPLO, () => true);
    expect(candidatos.map((c) => c.cota)).toEqual([102, 360, 427, 192, 187, 218, 246, 424, 244, 374]);
  });

  test("cota 102 wins when eligible, 360 when 102 is not", () => {
    const todas = sortear(500, EXEMPLO, () => true);
    expect(todas.sorteadas).toEqual([102]);
    expect(todas.numeroBase).toBe(102);
    expect(todas.candidatos[0]?.motivo).toBe("");
    expect(todas.candidatos[1]?.motivo).toBe(MOTIVO.concluido);
    const sem102 = sortear(500, EXEMPLO, (c) => c !== 102);
    expect(sem102.sorteadas).toEqual([360]);
    expect(sem102.numeroBase).toBe(102);
    expect(sem102.candidatos[0]?.motivo).toBe(MOTIVO.inelegivel);
  });

  test("several winners take the candidates in order", () => {
    expect(sortear(500, EXEMPLO, () => true, 3).sorteadas).toEqual([102, 360, 427]);
  });
});

describe("equivalence mod N", () => {
  test("discards at and above the span, 0 means N", () => {
    expect(span(300)).toBe(900);
    expect(cotaDoCandidato(900, 300)).toBe(0);
    expect(cotaDoCandidato(300, 300)).toBe(300);
    expect(cotaDoCandidato(0, 300)).toBe(300);
    expect(cotaDoCandidato(1, 300)).toBe(1);
    expect(sortear(300, ["00950", "00999", "00000", "12345", "11111"], () => true).candidatos[0]).toEqual({
      ordem: 1,
      numero: 950,
      cota: 0,
      motivo: MOTIVO.descartado(950, 900),
    });
  });

  test("uniformity: every cota owns the same count of candidate values, for every N from 2 to 10,000", () => {
    for (let n = 2; n <= 10_000; n++) {
      const counts = new Uint32Array(n + 1);
      const limite = 10 ** digitos(n);
      for (let v = 0; v < limite; v++) {
        const c = cotaDoCandidato(v, n);
        counts[c] = (counts[c] ?? 0) + 1;
      }
      const each = span(n) / n;
      for (let c = 1; c <= n; c++) {
        if (counts[c] !== each) throw new Error(`N=${n}: cota ${c} owns ${counts[c]}, expected ${each}`);
      }
      expect(counts[0]).toBe(limite - span(n));
    }
  }, 60_000);
});

describe("fallback", () => {
  test("no eligible candidate: the next eligible cota above the base wins", () => {
    // Candidates give 102, 360, 427, 192, 187, 218, 246, 424, 244, 374: all ineligible.
    const candidatas = new Set([102, 360, 427, 192, 187, 218, 246, 424, 244, 374, 103, 104]);
    const r = sortear(500, EXEMPLO, (c) => !candidatas.has(c));
    expect(r.numeroBase).toBe(102);
    expect(r.sorteadas).toEqual([105]);
    expect(r.candidatos.every((c) => c.motivo === MOTIVO.inelegivel)).toBe(true);
  });

  test("wraps past N to 1", () => {
    // N = 500, first prize's last digits 499 → base 499; only cotas 3 and 7 eligible.
    const r = sortear(500, ["00499", "00499", "00499", "00499", "00499"], (c) => c === 7 || c === 3);
    expect(r.numeroBase).toBe(499);
    expect(r.sorteadas).toEqual([3]);
  });

  test("no eligible cota at all: no winner", () => {
    expect(sortear(500, EXEMPLO, () => false).sorteadas).toEqual([]);
  });

  test("property: the winner is eligible and is the first eligible candidate, else the next above the base", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 10_000 }),
        premios,
        fc.array(fc.integer({ min: 1, max: 10_000 }), { maxLength: 200 }),
        (n, p, inelegiveis) => {
          const fora = new Set(inelegiveis);
          const elegivel = (c: number) => !fora.has(c);
          const r = sortear(n, p, elegivel);
          const valido = r.candidatos.find((c) => c.cota !== 0);
          expect(r.numeroBase).toBe(valido?.cota ?? 0);
          const primeiro = r.candidatos.find((c) => c.cota !== 0 && elegivel(c.cota));
          if (primeiro) expect(r.sorteadas).toEqual([primeiro.cota]);
          else if (r.numeroBase !== 0 && [...Array(n).keys()].some((i) => elegivel(i + 1))) {
            const [w] = r.sorteadas;
            expect(w).toBeDefined();
            const d = (((w as number) - r.numeroBase + n) % n) as number;
            for (let k = 1; k < d; k++) expect(elegivel(((r.numeroBase - 1 + k) % n) + 1)).toBe(false);
          }
        },
      ),
    );
  });

  test("determinism: same inputs, same draw", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 99_999 }), premios, (n, p) => {
        expect(sortear(n, p, (c) => c % 3 !== 0, 2)).toEqual(sortear(n, p, (c) => c % 3 !== 0, 2));
      }),
    );
  });
});
