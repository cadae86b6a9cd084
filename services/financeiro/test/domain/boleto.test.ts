import { addDays, civilDate } from "@consorcio/domain";
import * as boletoUtils from "@mrmgomes/boleto-utils";
import validator from "boleto-brasileiro-validator";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  type Beneficiario,
  buildBoleto,
  dataDoFator,
  fatorVencimento,
  gerarNossoNumero,
  LAYOUTS_BANCOS,
  linhaDigitavelDe,
  parseCodigoBarras,
  parseLinhaDigitavel,
} from "../../src/domain/boleto.ts";

const BENEFICIARIOS = {
  "001": { banco: "001", agencia: "1234", conta: "12345", carteira: "17", convenio: "1234567" },
  "033": { banco: "033", agencia: "1234", conta: "1234567", carteira: "101", convenio: "7654321" },
  "104": { banco: "104", agencia: "1234", conta: "123456", carteira: "14", convenio: "123456" },
  "237": { banco: "237", agencia: "1234", conta: "1234567", carteira: "09" },
  "341": { banco: "341", agencia: "0057", conta: "12345", carteira: "109" },
} satisfies Record<string, Beneficiario>;
type Banco = keyof typeof BENEFICIARIOS;
const ben = (banco: string): Beneficiario => {
  const b = BENEFICIARIOS[banco as Banco];
  if (!b) throw new Error(`no test beneficiário for ${banco}`);
  return b;
};

describe("boleto", () => {
  test("due-date factor: 1000 on 22/02/2025 after 9999 on 21/02/2025; counted from 07/10/1997 before", () => {
    expect(fatorVencimento(civilDate(2025, 2, 21))).toBe(9999);
    expect(fatorVencimento(civilDate(2025, 2, 22))).toBe(1000);
    expect(fatorVencimento(civilDate(2025, 2, 23))).toBe(1001);
    expect(fatorVencimento(civilDate(2000, 7, 3))).toBe(1000);
    expect(fatorVencimento(civilDate(2026, 3, 10))).toBe(1381);
    expect(dataDoFator(1381)).toEqual(civilDate(2026, 3, 10));
    expect(dataDoFator(9999, civilDate(2025, 1, 1))).toEqual(civilDate(2025, 2, 21));
    expect(() => fatorVencimento(civilDate(1999, 1, 1))).toThrow(/vencimento/);
  });

  test("nosso número with each bank's check digit", () => {
    // Bradesco's worked example: carteira 19, nosso número 00000000002 → DV 8.
    expect(gerarNossoNumero({ ...ben("237"), carteira: "19" }, 2n).nossoNumero).toBe("00000000002-8");
    // Santander's manual: 566612457800 → DV 2 (modulo 11, weights 2–9).
    expect(gerarNossoNumero(ben("033"), 566612457800n).nossoNumero).toBe("566612457800-2");
    // Itaú: DAC over agência, conta, carteira and nosso número.
    const itau = gerarNossoNumero(ben("341"), 12345678n);
    expect(itau.digitos).toBe("12345678");
    expect(itau.dv).toMatch(/^\d$/);
    expect(gerarNossoNumero(ben("001"), 42n)).toMatchObject({
      nossoNumero: "12345670000000042",
      dv: "",
    });
    expect(() => gerarNossoNumero({ ...ben("001"), convenio: undefined }, 1n)).toThrow(/convenio/);
    expect(() => gerarNossoNumero({ ...ben("001"), banco: "999" }, 1n)).toThrow(/banco/);
    expect(() => gerarNossoNumero(ben("237"), 10n ** 11n)).toThrow(/sequencial/);
  });

  test("a known boleto: barcode and linha digitável agree", () => {
    const b = buildBoleto({
      beneficiario: ben("237"),
      sequencial: 123n,
      vencimento: civilDate(2026, 3, 10),
      valorCentavos: 58_500n,
    });
    expect(b.codigoBarras).toHaveLength(44);
    expect(b.linhaDigitavel).toHaveLength(47);
    expect(b.codigoBarras.slice(0, 4)).toBe("2379");
    expect(b.codigoBarras.slice(5, 19)).toBe("13810000058500");
    expect(b.campoLivre).toBe("1234090000000012312345670");
    expect(boletoUtils.validarBoleto(b.linhaDigitavel)).toMatchObject({ sucesso: true, valor: 585 });
    expect(boletoUtils.linhaDigitavel2CodBarras(b.linhaDigitavel)).toBe(b.codigoBarras);
    expect(parseLinhaDigitavel(b.linhaDigitavelFormatada)).toMatchObject({
      banco: "237",
      valorCentavos: 58_500n,
      vencimento: civilDate(2026, 3, 10),
      codigoBarras: b.codigoBarras,
    });
  });

  test("property: for every bank, barcode and linha digitável agree and their check digits hold (boleto-utils)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(LAYOUTS_BANCOS)),
        fc.bigInt({ min: 1n, max: 99_999_999n }),
        fc.integer({ min: 0, max: 8_000 }),
        fc.bigInt({ min: 1n, max: 9_999_999_999n }),
        (banco, sequencial, dias, valor) => {
          const vencimento = addDays(civilDate(2025, 2, 22), dias);
          const b = buildBoleto({
            beneficiario: ben(banco),
            sequencial,
            vencimento,
            valorCentavos: valor,
          });
          expect(b.codigoBarras).toMatch(/^\d{44}$/);
          expect(b.linhaDigitavel).toMatch(/^\d{47}$/);
          expect(linhaDigitavelDe(b.codigoBarras)).toBe(b.linhaDigitavel);
          // Maintained validators, not our code: boleto-brasileiro-validator checks the general digit of the
          // barcode and all four digits of the linha; boleto-utils converts one form into the other. (boleto-utils'
          // own barcode check applies the arrecadação rule, where remainders 0 and 1 give 0 instead of 1.)
          expect(validator.boletoBancarioCodigoBarras(b.codigoBarras)).toBe(true);
          expect(validator.boletoBancarioLinhaDigitavel(b.linhaDigitavel, true)).toBe(true);
          expect(boletoUtils.codBarras2LinhaDigitavel(b.codigoBarras, false)).toBe(b.linhaDigitavel);
          expect(boletoUtils.linhaDigitavel2CodBarras(b.linhaDigitavel)).toBe(b.codigoBarras);
          const lido = parseLinhaDigitavel(b.linhaDigitavel);
          expect(lido.valorCentavos).toBe(valor);
          expect(lido.vencimento).toEqual(vencimento);
          expect(parseCodigoBarras(b.codigoBarras).linhaDigitavel).toBe(b.linhaDigitavel);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a changed digit is caught by the check digits", () => {
    const b = buildBoleto({
      beneficiario: ben("341"),
      sequencial: 777n,
      vencimento: civilDate(2026, 5, 4),
      valorCentavos: 123_456n,
    });
    fc.assert(
      // The three fields (mod 10) and the general digit catch any change of one digit; a change in the factor or
      // value is caught by the mod-11 general digit except where two sums fold to the same digit.
      fc.property(fc.integer({ min: 0, max: 32 }), fc.integer({ min: 1, max: 9 }), (pos, delta) => {
        const digits = b.linhaDigitavel.split("");
        digits[pos] = String((Number(digits[pos]) + delta) % 10);
        const changed = digits.join("");
        expect(() => parseLinhaDigitavel(changed)).toThrow();
      }),
    );
    expect(() => parseLinhaDigitavel("123")).toThrow(/47 digits/);
  });

  test("a real-world linha digitável (boleto-brasileiro-validator's sample) reads with its factor's cycle", () => {
    const sample = "23793.38128 60007.827136 95000.063305 9 75520000370000";
    expect(validator.boletoBancarioLinhaDigitavel(sample, true)).toBe(true);
    const lido = parseLinhaDigitavel(sample, civilDate(2018, 6, 1));
    expect(lido).toMatchObject({ banco: "237", moeda: "9", fatorVencimento: 7552, valorCentavos: 370_000n });
    expect(lido.vencimento).toEqual(civilDate(2018, 6, 11));
    // Without a reference the factor is read in the cycle that began on 22/02/2025.
    expect(parseLinhaDigitavel(sample).vencimento).toEqual(civilDate(2043, 1, 31));
    expect(linhaDigitavelDe(lido.codigoBarras)).toBe(sample.replace(/[ .]/g, ""));
  });

  test("value and bank limits", () => {
    expect(() =>
      buildBoleto({ beneficiario: ben("237"), sequencial: 1n, valorCentavos: 10_000_000_000n }),
    ).toThrow(/valorCentavos/);
    expect(
      buildBoleto({ beneficiario: ben("237"), sequencial: 1n, valorCentavos: 100n }).fatorVencimento,
    ).toBe(0);
  });
});
