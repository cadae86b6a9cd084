// Pure rules of a consorciado's data: what a valid record is, who may change what,
// how names are searched without storing them, when anonymisation is due.
import type { FieldViolation } from "@consorcio/platform";
import { cnpjViolation, cpfViolation, normalizeDocumento } from "./documentos.ts";

export type Status = "ATIVO" | "INATIVO" | "RESTRITO" | "ANONIMIZADO";
export type TipoPessoa = "FISICA" | "JURIDICA";

/** A consorciado as the use cases see it: `dados` is absent once anonymised. */
export interface Consorciado {
  id: string;
  tipo: TipoPessoa;
  status: Status;
  createdAt: Date;
  updatedAt: Date;
  version: number;
  anonymizationDueAt: Date | null;
  dados: DadosPessoais | undefined;
}

/** Personal data of a consorciado: all of it is sealed at rest under the person's data key. */
export interface DadosPessoais {
  tipo: TipoPessoa;
  pf?: { cpf: string; nome: string; dataNascimento?: { year: number; month: number; day: number } };
  pj?: { cnpj: string; razaoSocial: string; representanteNome: string; representanteCpf: string };
  endereco?: {
    cep: string;
    logradouro: string;
    numero: string;
    complemento: string;
    bairro: string;
    municipio: string;
    uf: string;
  };
  email: string;
  telefones: string[];
  contaBancaria?: { banco: string; agencia: string; conta: string; digito: string; tipo: number };
  chavePix: string;
  pep: boolean;
  ocultarNome: boolean;
}

export function documentoOf(dados: DadosPessoais): string {
  return normalizeDocumento(dados.pf?.cpf ?? dados.pj?.cnpj ?? "");
}

export function nomeOf(dados: DadosPessoais): string {
  return dados.pf?.nome ?? dados.pj?.razaoSocial ?? "";
}

const required = (value: string | undefined, field: string, what: string): FieldViolation[] =>
  value ? [] : [{ field, ruleId: "required", message: `${what} is required` }];

/**
 * Rules beyond the contract's field rules (which let empty fields through, so a
 * partial update can omit them); paths are relative to the request.
 */
export function dadosViolations(dados: DadosPessoais, prefix = "consorciado"): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (dados.pf) violations.push(...required(dados.pf.nome, `${prefix}.pf.nome`, "nome"));
  if (dados.pj) {
    violations.push(...required(dados.pj.razaoSocial, `${prefix}.pj.razao_social`, "razão social"));
    violations.push(
      ...required(dados.pj.representanteNome, `${prefix}.pj.representante_nome`, "representante"),
    );
  }
  if (dados.endereco) {
    for (const [key, field] of [
      ["cep", "cep"],
      ["logradouro", "logradouro"],
      ["municipio", "municipio"],
      ["uf", "uf"],
    ] as const) {
      violations.push(...required(dados.endereco[key], `${prefix}.endereco.${field}`, field));
    }
  }
  if (dados.contaBancaria) {
    for (const key of ["banco", "agencia", "conta"] as const) {
      violations.push(...required(dados.contaBancaria[key], `${prefix}.conta_bancaria.${key}`, key));
    }
  }
  if (dados.tipo === "FISICA") {
    if (!dados.pf)
      violations.push({
        field: `${prefix}.pf`,
        ruleId: "pf.required",
        message: "required for a pessoa física",
      });
    else {
      const v = cpfViolation(dados.pf.cpf, `${prefix}.pf.cpf`);
      if (v) violations.push(v);
    }
    if (dados.pj)
      violations.push({
        field: `${prefix}.pj`,
        ruleId: "pj.forbidden",
        message: "a pessoa física has no CNPJ",
      });
  } else {
    if (!dados.pj)
      violations.push({
        field: `${prefix}.pj`,
        ruleId: "pj.required",
        message: "required for a pessoa jurídica",
      });
    else {
      const v = cnpjViolation(dados.pj.cnpj, `${prefix}.pj.cnpj`);
      if (v) violations.push(v);
      const r = cpfViolation(dados.pj.representanteCpf, `${prefix}.pj.representante_cpf`);
      if (r) violations.push(r);
    }
  }
  return violations;
}

/** Fields a consorciado may change themselves: contacts, address, refund data. */
export const OWNER_UPDATABLE = new Set([
  "endereco",
  "email",
  "telefones",
  "conta_bancaria",
  "chave_pix",
  "ocultar_nome",
]);
/** Fields staff may change. CPF/CNPJ and the kind of person never change. */
export const STAFF_UPDATABLE = new Set([
  ...OWNER_UPDATABLE,
  "pf.nome",
  "pf.data_nascimento",
  "pj.razao_social",
  "pj.representante_nome",
  "pj.representante_cpf",
  "pep",
]);

/** Lower case, no accents, single spaces: the form names are searched in. */
export function normalizeNome(nome: string): string {
  return nome
    .normalize("NFD")
    .replace(/\p{Diacritic}/gu, "")
    .toLowerCase()
    .replace(/\s+/g, " ")
    .trim();
}

export const PREFIX_MIN = 3;
export const PREFIX_MAX = 20;

/** Every prefix of the normalized name from 3 to 20 characters: what a prefix search can match. */
export function nomePrefixes(nome: string): string[] {
  const normalized = normalizeNome(nome);
  const prefixes: string[] = [];
  for (let length = PREFIX_MIN; length <= Math.min(PREFIX_MAX, normalized.length); length++) {
    prefixes.push(normalized.slice(0, length));
  }
  return prefixes;
}

/** Contract and financial records are kept at least 5 years after the grupo closes (DOMAIN.md §7). */
export const RETENTION_YEARS = 5;

/** Anonymisation is due 5 years after the later of the request and the end of the person's last grupo. */
export function anonymizationDue(requestedAt: Date, lastGrupoClosedAt: Date | undefined): Date {
  const base = lastGrupoClosedAt && lastGrupoClosedAt > requestedAt ? lastGrupoClosedAt : requestedAt;
  const due = new Date(base);
  due.setUTCFullYear(due.getUTCFullYear() + RETENTION_YEARS);
  return due;
}

/** What fields of a record read after its data key was shredded. */
export const ANONIMIZADO = "[anonimizado]";

/** The current data with the masked fields taken from the request. */
export function applyMask(
  current: DadosPessoais,
  incoming: DadosPessoais,
  paths: readonly string[],
): DadosPessoais {
  const next: DadosPessoais = structuredClone(current);
  for (const path of paths) {
    switch (path) {
      case "endereco":
        if (incoming.endereco) next.endereco = incoming.endereco;
        else delete next.endereco;
        break;
      case "conta_bancaria":
        if (incoming.contaBancaria) next.contaBancaria = incoming.contaBancaria;
        else delete next.contaBancaria;
        break;
      case "email":
        next.email = incoming.email;
        break;
      case "telefones":
        next.telefones = incoming.telefones;
        break;
      case "chave_pix":
        next.chavePix = incoming.chavePix;
        break;
      case "ocultar_nome":
        next.ocultarNome = incoming.ocultarNome;
        break;
      case "pep":
        next.pep = incoming.pep;
        break;
      case "pf.nome":
        if (next.pf) next.pf.nome = incoming.pf?.nome ?? "";
        break;
      case "pf.data_nascimento":
        if (next.pf) {
          if (incoming.pf?.dataNascimento) next.pf.dataNascimento = incoming.pf.dataNascimento;
          else delete next.pf.dataNascimento;
        }
        break;
      case "pj.razao_social":
        if (next.pj) next.pj.razaoSocial = incoming.pj?.razaoSocial ?? "";
        break;
      case "pj.representante_nome":
        if (next.pj) next.pj.representanteNome = incoming.pj?.representanteNome ?? "";
        break;
      case "pj.representante_cpf":
        if (next.pj) next.pj.representanteCpf = incoming.pj?.representanteCpf ?? "";
        break;
    }
  }
  return next;
}
