import { cnpj, cpf } from "cpf-cnpj-validator";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  cepArbitrary,
  cnpjArbitrary,
  cpfArbitrary,
  emailArbitrary,
  enderecoArbitrary,
  formatCnpj,
  formatCpf,
  nomeArbitrary,
  telefoneArbitrary,
  UFS,
} from "../src/arbitraries.ts";

// cpf-cnpj-validator is the independent judge of the check digits the generators compute.
describe("arbitraries", () => {
  test("CPFs are valid, formatted or not", () => {
    fc.assert(
      fc.property(cpfArbitrary(), (value) => {
        expect(value).toMatch(/^\d{11}$/);
        expect(cpf.isValid(value)).toBe(true);
        expect(cpf.isValid(formatCpf(value))).toBe(true);
      }),
    );
  });
  test("numeric and alphanumeric CNPJs are valid", () => {
    fc.assert(
      fc.property(cnpjArbitrary(), (value) => {
        expect(value).toMatch(/^\d{14}$/);
        expect(cnpj.isValid(value)).toBe(true);
      }),
    );
    let letters = 0;
    fc.assert(
      fc.property(cnpjArbitrary({ alphanumeric: true }), (value) => {
        expect(value).toMatch(/^[0-9A-Z]{12}\d{2}$/);
        expect(cnpj.isValid(value)).toBe(true);
        expect(formatCnpj(value)).toMatch(/^\w{2}\.\w{3}\.\w{3}\/\w{4}-\d{2}$/);
        if (/[A-Z]/.test(value)) letters++;
      }),
    );
    expect(letters).toBeGreaterThan(50);
  });
  test("personal data has the shapes consorciados accepts", () => {
    fc.assert(
      fc.property(
        nomeArbitrary(),
        emailArbitrary(),
        telefoneArbitrary(),
        cepArbitrary(),
        enderecoArbitrary(),
        (nome, email, telefone, cep, endereco) => {
          expect(nome).toMatch(/^\p{L}+( \p{L}+)+$/u);
          expect(email).toMatch(/^[a-z0-9.]+@example\.com$/);
          expect(telefone).toMatch(/^[1-9]{2}9\d{8}$/);
          expect(cep).toMatch(/^\d{5}-\d{3}$/);
          expect(UFS).toContain(endereco.uf);
        },
      ),
    );
    expect(fc.sample(nomeArbitrary(), 200).some((nome) => /[^\p{ASCII}]/u.test(nome))).toBe(true);
  });
});
