import { cnpjArbitrary, cpfArbitrary, formatCnpj, formatCpf } from "@consorcio/testkit";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  anonymizationDue,
  applyMask,
  type DadosPessoais,
  dadosViolations,
  nomePrefixes,
  normalizeNome,
  STAFF_UPDATABLE,
} from "../src/domain/consorciado.ts";
import { cnpjViolation, cpfViolation, normalizeDocumento } from "../src/domain/documentos.ts";

describe("CPF and CNPJ", () => {
  test("valid CPFs pass with or without punctuation", () => {
    expect(cpfViolation("529.982.247-25", "cpf")).toBeUndefined();
    expect(cpfViolation("52998224725", "cpf")).toBeUndefined();
    fc.assert(
      fc.property(cpfArbitrary(), (value) => {
        expect(cpfViolation(value, "cpf")).toBeUndefined();
        expect(cpfViolation(formatCpf(value), "cpf")).toBeUndefined();
      }),
    );
  });
  test("a wrong check digit, all-equal digits or a wrong length is refused with its own rule", () => {
    expect(cpfViolation("529.982.247-24", "pf.cpf")).toMatchObject({
      field: "pf.cpf",
      ruleId: "cpf.check_digits",
    });
    expect(cpfViolation("111.111.111-11", "pf.cpf")?.ruleId).toBe("cpf.repeated");
    expect(cpfViolation("5299822472", "pf.cpf")?.ruleId).toBe("cpf.length");
  });
  test("any change to a check digit of a valid CPF is caught", () => {
    // (A change elsewhere can keep both check digits: mod-11 remainders 0 and 1 both give 0.)
    fc.assert(
      fc.property(
        cpfArbitrary(),
        fc.integer({ min: 9, max: 10 }),
        fc.integer({ min: 1, max: 9 }),
        (valid, position, delta) => {
          const digits = valid.split("");
          digits[position] = String((Number(digits[position]) + delta) % 10);
          expect(cpfViolation(digits.join(""), "cpf")?.ruleId).toBe("cpf.check_digits");
        },
      ),
    );
  });
  test("CNPJ: numeric and the alphanumeric format of July 2026", () => {
    expect(cnpjViolation("11.222.333/0001-81", "cnpj")).toBeUndefined();
    expect(cnpjViolation("12.ABC.345/01DE-35", "cnpj")).toBeUndefined();
    expect(cnpjViolation("12abc34501de35", "cnpj")).toBeUndefined();
    expect(cnpjViolation("12.ABC.345/01DE-36", "cnpj")?.ruleId).toBe("cnpj.check_digits");
    expect(cnpjViolation("00.000.000/0000-00", "cnpj")?.ruleId).toBe("cnpj.repeated");
    expect(cnpjViolation("12.ABC.345/01DE-3", "cnpj")?.ruleId).toBe("cnpj.length");
    expect(cnpjViolation("12.ABC.345/01DE-3A", "cnpj")?.ruleId).toBe("cnpj.format");
    expect(normalizeDocumento("12.abc.345/01de-35")).toBe("12ABC34501DE35");
    fc.assert(
      fc.property(cnpjArbitrary(), cnpjArbitrary({ alphanumeric: true }), (numeric, alphanumeric) => {
        expect(cnpjViolation(numeric, "cnpj")).toBeUndefined();
        expect(cnpjViolation(formatCnpj(alphanumeric), "cnpj")).toBeUndefined();
        expect(cnpjViolation(alphanumeric.toLowerCase(), "cnpj")).toBeUndefined();
      }),
    );
  });
});

describe("names and search", () => {
  test("names are searched without case or accents", () => {
    expect(normalizeNome("  JOÃO   da Conceição ")).toBe("joao da conceicao");
    expect(nomePrefixes("Ana Lú")).toEqual(["ana", "ana ", "ana l", "ana lu"]);
  });
  test("every prefix from 3 to 20 characters of a name is indexed", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3, maxLength: 40 }), (nome) => {
        const normalized = normalizeNome(nome);
        const prefixes = nomePrefixes(nome);
        for (let n = 3; n <= Math.min(20, normalized.length); n++)
          expect(prefixes).toContain(normalized.slice(0, n));
        expect(prefixes.every((p) => p.length >= 3 && p.length <= 20)).toBe(true);
      }),
    );
  });
});

describe("LGPD", () => {
  test("anonymisation is due 5 years after the later of the request and the last grupo's closing", () => {
    const requested = new Date("2026-11-28T00:00:00Z");
    expect(anonymizationDue(requested, undefined).toISOString()).toBe("2031-11-28T00:00:00.000Z");
    expect(anonymizationDue(requested, new Date("2030-01-10T00:00:00Z")).toISOString()).toBe(
      "2035-01-10T00:00:00.000Z",
    );
    expect(anonymizationDue(requested, new Date("2020-01-10T00:00:00Z")).toISOString()).toBe(
      "2031-11-28T00:00:00.000Z",
    );
  });
  const base: DadosPessoais = {
    tipo: "FISICA",
    pf: { cpf: "52998224725", nome: "Maria Souza" },
    email: "maria@example.com",
    telefones: ["11999990000"],
    chavePix: "",
    pep: false,
    ocultarNome: false,
  };
  test("a mask changes only the named fields", () => {
    const incoming: DadosPessoais = {
      ...base,
      pf: { cpf: "", nome: "Outro Nome" },
      email: "novo@example.com",
      telefones: [],
    };
    const next = applyMask(base, incoming, ["email"]);
    expect(next).toEqual({ ...base, email: "novo@example.com" });
    expect(applyMask(base, incoming, ["pf.nome"]).pf).toEqual({ cpf: "52998224725", nome: "Outro Nome" });
  });
  test("a mask of any staff paths takes exactly those from the request, and keeps CPF and kind", () => {
    const incoming: DadosPessoais = {
      tipo: "JURIDICA",
      pf: { cpf: "00000000000", nome: "Outro Nome", dataNascimento: { year: 1990, month: 1, day: 2 } },
      email: "novo@example.com",
      telefones: ["11888880000"],
      chavePix: "chave",
      pep: true,
      ocultarNome: true,
      endereco: {
        cep: "01310100",
        logradouro: "Rua Nova",
        numero: "1",
        complemento: "",
        bairro: "",
        municipio: "São Paulo",
        uf: "SP",
      },
    };
    fc.assert(
      fc.property(fc.subarray([...STAFF_UPDATABLE]), (paths) => {
        const next = applyMask(base, incoming, paths);
        expect(next.tipo).toBe(base.tipo);
        expect(next.pf?.cpf).toBe(base.pf?.cpf);
        const taken = (path: string) => paths.includes(path);
        expect(next.email).toBe(taken("email") ? incoming.email : base.email);
        expect(next.telefones).toEqual(taken("telefones") ? incoming.telefones : base.telefones);
        expect(next.chavePix).toBe(taken("chave_pix") ? incoming.chavePix : base.chavePix);
        expect(next.pep).toBe(taken("pep") ? incoming.pep : base.pep);
        expect(next.ocultarNome).toBe(taken("ocultar_nome") ? incoming.ocultarNome : base.ocultarNome);
        expect(next.endereco).toEqual(taken("endereco") ? incoming.endereco : base.endereco);
        expect(next.pf?.nome).toBe(taken("pf.nome") ? incoming.pf?.nome : base.pf?.nome);
        // A PF has no PJ fields to take, whatever the mask names.
        expect(next.pj).toBeUndefined();
        // The current record is never changed in place.
        expect(base.email).toBe("maria@example.com");
      }),
    );
  });
  test("a PF needs its CPF and name; a PJ its CNPJ and representative", () => {
    expect(dadosViolations(base)).toEqual([]);
    expect(dadosViolations({ ...base, pf: { cpf: "52998224725", nome: "" } }).map((v) => v.field)).toEqual([
      "consorciado.pf.nome",
    ]);
    const pj: DadosPessoais = {
      ...base,
      tipo: "JURIDICA",
      pj: { cnpj: "12ABC34501DE35", razaoSocial: "ACME", representanteNome: "Rep", representanteCpf: "123" },
    };
    delete pj.pf;
    expect(dadosViolations(pj).map((v) => v.ruleId)).toEqual(["cpf.length"]);
  });
});
