// Pure rules: typed values, validity, index corrections, flag evaluation (fast-check).
import { evaluateFlag, flagBucket } from "@consorcio/domain/feature-flag.ts";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { correctionRefusal, mesKey, normalizeVariacao } from "../src/domain/indice.ts";
import {
  decodeValor,
  encodeValor,
  maskViolations,
  PARAMETRO_UPDATABLE,
  textViolations,
  type Valor,
  validityViolations,
  valorViolations,
  vigente,
} from "../src/domain/parametro.ts";

describe("parameter values", () => {
  test("a value must be of the declared type", () => {
    expect(valorViolations("INTEGER", { tipo: "INTEGER", value: 3n })).toEqual([]);
    expect(valorViolations("INTEGER", { tipo: "TEXT", value: "3" })[0]?.ruleId).toBe("parametro.valor.tipo");
    expect(valorViolations("DECIMAL", { tipo: "DECIMAL", value: "1e3" })[0]?.ruleId).toBe(
      "parametro.valor.decimal",
    );
    expect(valorViolations(undefined, undefined)[0]?.field).toBe("parametro.tipo");
    expect(valorViolations("BOOL", undefined)[0]?.field).toBe("parametro.valor");
    expect(valorViolations("TEXT", { tipo: "TEXT", value: "a\u001bb" })).toHaveLength(1);
    expect(valorViolations("TEXT", { tipo: "TEXT", value: "linha 1\nlinha 2\tfim" })).toEqual([]);
  });

  test("stored text decodes to the same value", () => {
    const valores = fc.oneof(
      fc.boolean().map((value): Valor => ({ tipo: "BOOL", value })),
      fc
        .bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })
        .map((value): Valor => ({ tipo: "INTEGER", value })),
      fc.string({ maxLength: 50 }).map((value): Valor => ({ tipo: "TEXT", value })),
    );
    fc.assert(
      fc.property(valores, (valor) => {
        expect(decodeValor(valor.tipo, encodeValor(valor))).toEqual(valor);
      }),
    );
    expect(encodeValor({ tipo: "DECIMAL", value: "2.5000" })).toBe("2.5");
  });

  test("validity: from inclusive, until exclusive; until after from", () => {
    const from = new Date("2027-01-01T00:00:00Z");
    const until = new Date("2027-02-01T00:00:00Z");
    expect(vigente(from, until, from)).toBe(true);
    expect(vigente(from, until, until)).toBe(false);
    expect(vigente(from, until, new Date(from.getTime() - 1))).toBe(false);
    expect(vigente(null, null, from)).toBe(true);
    expect(validityViolations(until, from)).toHaveLength(1);
    expect(validityViolations(from, from)).toHaveLength(1);
    expect(validityViolations(from, null)).toEqual([]);
  });

  test("masks: only updatable fields, never empty", () => {
    expect(maskViolations(["valor", "description"], PARAMETRO_UPDATABLE)).toEqual([]);
    expect(maskViolations([], PARAMETRO_UPDATABLE)).toHaveLength(1);
    expect(maskViolations(["tipo"], PARAMETRO_UPDATABLE)[0]?.message).toContain("tipo");
  });

  test("free text: no control characters but tab and line breaks", () => {
    expect(textViolations("d", "ok\tok\r\n")).toEqual([]);
    expect(textViolations("d", "\u0000")).toHaveLength(1);
    expect(textViolations("d", "\u007f")).toHaveLength(1);
  });
});

describe("index values", () => {
  test("variations are canonical exact decimals, sign allowed", () => {
    expect(normalizeVariacao("0.4500")).toBe("0.45");
    expect(normalizeVariacao("-0.120")).toBe("-0.12");
    expect(normalizeVariacao("-0")).toBe("0");
    expect(() => normalizeVariacao("1e-3")).toThrow(RangeError);
    expect(() => normalizeVariacao("0.1234567")).toThrow(RangeError);
    expect(mesKey("IPCA", 2027, 3)).toBe("IPCA:2027-03");
  });

  const current = { revisao: 2, valorPercentual: "0.45", fonte: "IBGE", usado: false };
  test("a correction names the latest revision, changes something, and owns up to a used value", () => {
    const ok = { revisao: 2, valorPercentual: "0.47", fonte: "IBGE", corrigeValorUsado: false };
    expect(correctionRefusal(current, ok)).toBeUndefined();
    expect(correctionRefusal(current, { ...ok, revisao: 1 })?.kind).toBe("stale");
    expect(correctionRefusal(current, { ...ok, valorPercentual: "0.4500" })?.kind).toBe("unchanged");
    expect(
      correctionRefusal(current, { ...ok, valorPercentual: "0.45", fonte: "IBGE/SIDRA" }),
    ).toBeUndefined();
    expect(correctionRefusal({ ...current, usado: true }, ok)?.kind).toBe("used");
    expect(
      correctionRefusal({ ...current, usado: true }, { ...ok, corrigeValorUsado: true }),
    ).toBeUndefined();
  });
});

describe("feature flags", () => {
  test("the bucket is stable and in 0..99", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (key, subject) => {
        const bucket = flagBucket(key, subject);
        expect(bucket).toBe(flagBucket(key, subject));
        expect(bucket).toBeGreaterThanOrEqual(0);
        expect(bucket).toBeLessThan(100);
      }),
    );
    // The separator keeps (key, subject) pairs apart that a plain concatenation would merge.
    expect(
      flagBucket("a", "bc") === flagBucket("ab", "c") && flagBucket("x", "yz") === flagBucket("xy", "z"),
    ).toBe(false);
  });

  test("raising the rollout only adds subjects; 0% nobody, 100% everybody", () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }),
        fc.string(),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 100 }),
        (key, subject, p, q) => {
          const [low, high] = p <= q ? [p, q] : [q, p];
          const at = (rolloutPercent: number) =>
            evaluateFlag({ key, enabled: true, rolloutPercent, roles: [] }, subject, []).enabled;
          if (at(low)) expect(at(high)).toBe(true);
          expect(at(0)).toBe(false);
          expect(at(100)).toBe(true);
        },
      ),
    );
  });

  test("off beats everything; roles restrict before the rollout", () => {
    const flag = { key: "f", enabled: true, rolloutPercent: 100, roles: [2, 5] };
    expect(evaluateFlag(flag, "s", [5]).reason).toBe("ROLLOUT_IN");
    expect(evaluateFlag(flag, "s", [1]).reason).toBe("ROLE_EXCLUDED");
    expect(evaluateFlag(flag, "s", []).reason).toBe("ROLE_EXCLUDED");
    expect(evaluateFlag({ ...flag, enabled: false }, "s", [5]).reason).toBe("DISABLED");
  });

  test("a rollout reaches about its share of many subjects", () => {
    const subjects = Array.from({ length: 10_000 }, (_, i) => `user-${i}`);
    const share =
      subjects.filter(
        (s) => evaluateFlag({ key: "k", enabled: true, rolloutPercent: 25, roles: [] }, s, []).enabled,
      ).length / subjects.length;
    expect(share).toBeGreaterThan(0.22);
    expect(share).toBeLessThan(0.28);
  });
});
