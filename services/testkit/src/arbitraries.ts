// fast-check generators of Brazilian documents and personal data, valid as consorciados expects.
import fc from "fast-check";

/** Check digit of the mod-11 scheme of CPF and CNPJ: 0 when the remainder is below 2. */
function checkDigit(values: readonly number[], weights: readonly number[]): number {
  const sum = values.reduce((total, value, i) => total + value * (weights[i] ?? 0), 0);
  const remainder = sum % 11;
  return remainder < 2 ? 0 : 11 - remainder;
}

/** A valid CPF: 11 digits (not all equal), unformatted. */
export const cpfArbitrary = (): fc.Arbitrary<string> =>
  fc
    .array(fc.integer({ min: 0, max: 9 }), { minLength: 9, maxLength: 9 })
    .filter((digits) => digits.some((d) => d !== digits[0]))
    .map((digits) => {
      const first = checkDigit(digits, [10, 9, 8, 7, 6, 5, 4, 3, 2]);
      const second = checkDigit([...digits, first], [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
      return [...digits, first, second].join("");
    });

const CNPJ_WEIGHTS = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
const ALPHANUMERIC = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

/**
 * A valid CNPJ, unformatted. Since July 2026 the first 12 characters may be letters: each
 * counts as its ASCII code minus 48 (A = 17), the two check digits stay numeric.
 */
export const cnpjArbitrary = (options: { alphanumeric?: boolean } = {}): fc.Arbitrary<string> => {
  const alphabet = options.alphanumeric ? ALPHANUMERIC : ALPHANUMERIC.slice(0, 10);
  return fc
    .array(fc.constantFrom(...alphabet), { minLength: 12, maxLength: 12 })
    .filter((chars) => chars.some((c) => c !== chars[0]))
    .map((chars) => {
      const values = chars.map((c) => c.charCodeAt(0) - 48);
      const first = checkDigit(values, CNPJ_WEIGHTS.slice(1));
      const second = checkDigit([...values, first], CNPJ_WEIGHTS);
      return `${chars.join("")}${first}${second}`;
    });
};

/** CPF as printed: 529.982.247-25. */
export const formatCpf = (value: string): string =>
  value.replace(/^(\d{3})(\d{3})(\d{3})(\d{2})$/, "$1.$2.$3-$4");

/** CNPJ as printed: 12.ABC.345/01DE-35. */
export const formatCnpj = (value: string): string =>
  value.replace(/^(\w{2})(\w{3})(\w{3})(\w{4})(\d{2})$/, "$1.$2.$3/$4-$5");

const PRENOMES = [
  "Ana",
  "João",
  "Maria",
  "José",
  "Antônio",
  "Conceição",
  "Luís",
  "Márcia",
  "Iára",
  "Gonçalo",
];
const SOBRENOMES = [
  "Souza",
  "Conceição",
  "Gonçalves",
  "Araújo",
  "Simões",
  "Magalhães",
  "Brandão",
  "da Silva",
];

/** A person's name, accents included: "Conceição Araújo Simões". */
export const nomeArbitrary = (): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom(...PRENOMES),
      fc.array(fc.constantFrom(...SOBRENOMES), { minLength: 1, maxLength: 3 }),
    )
    .map(([prenome, sobrenomes]) => [prenome, ...sobrenomes].join(" "));

/** A company name: "Brandão & Simões Ltda". */
export const razaoSocialArbitrary = (): fc.Arbitrary<string> =>
  fc
    .tuple(
      fc.constantFrom(...SOBRENOMES),
      fc.constantFrom(...SOBRENOMES),
      fc.constantFrom("Ltda", "S.A.", "ME"),
    )
    .map(([a, b, tipo]) => `${a} & ${b} ${tipo}`);

/** An address on an example domain, unique enough for tests. */
export const emailArbitrary = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.stringMatching(/^[a-z][a-z0-9]{2,11}$/), fc.stringMatching(/^[a-z0-9]{6}$/))
    .map(([user, tag]) => `${user}.${tag}@example.com`);

/** A mobile number with its area code: 11 digits, 9 after the DDD (DDDs 11 to 99 without 0s). */
export const telefoneArbitrary = (): fc.Arbitrary<string> =>
  fc
    .tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.stringMatching(/^[0-9]{8}$/))
    .map(([a, b, rest]) => `${a}${b}9${rest}`);

/** The 27 federative units. */
export const UFS: readonly string[] =
  "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO".split(" ");

/** A CEP as printed: 01310-100. */
export const cepArbitrary = (): fc.Arbitrary<string> =>
  fc.stringMatching(/^[0-9]{8}$/).map((digits) => `${digits.slice(0, 5)}-${digits.slice(5)}`);

const LOGRADOUROS = ["Av. Paulista", "Rua da Conceição", "Travessa São João", "Praça Tiradentes", "Rua Açaí"];
const MUNICIPIOS = ["São Paulo", "Belém", "Florianópolis", "Goiânia", "Maceió", "Ribeirão Preto"];

export interface EnderecoGerado {
  cep: string;
  logradouro: string;
  numero: string;
  municipio: string;
  uf: string;
}

/** An address in the shape of consorcio.consorciados.v1.Endereco. */
export const enderecoArbitrary = (): fc.Arbitrary<EnderecoGerado> =>
  fc.record({
    cep: cepArbitrary(),
    logradouro: fc.constantFrom(...LOGRADOUROS),
    numero: fc.integer({ min: 1, max: 9999 }).map(String),
    municipio: fc.constantFrom(...MUNICIPIOS),
    uf: fc.constantFrom(...UFS),
  });

/** One sample of an arbitrary, for tests that need a single valid value rather than a property. */
export function sample<T>(arbitrary: fc.Arbitrary<T>): T {
  const [value] = fc.sample(arbitrary, 1);
  if (value === undefined) throw new Error("the arbitrary produced nothing");
  return value;
}
