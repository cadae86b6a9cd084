// Protobuf messages <-> the domain's DadosPessoais.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Consorciado,
  ConsorciadoSchema,
  ConsorciadoStatus,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import type { InferEntity } from "@mikro-orm/core";
import { ANONIMIZADO, type DadosPessoais } from "./domain/consorciado.ts";
import { normalizeDocumento } from "./domain/documentos.ts";
import type { ConsorciadoRow } from "./store/entities.ts";

export type Row = InferEntity<typeof ConsorciadoRow>;

export function dadosFromMessage(message: Consorciado): DadosPessoais {
  const dados: DadosPessoais = {
    tipo: message.tipo === TipoPessoa.JURIDICA ? "JURIDICA" : "FISICA",
    email: message.email.trim().toLowerCase(),
    telefones: [...message.telefones],
    chavePix: message.chavePix,
    pep: message.pep,
    ocultarNome: message.ocultarNome,
  };
  if (message.pessoa.case === "pf") {
    const pf = message.pessoa.value;
    dados.pf = { cpf: normalizeDocumento(pf.cpf), nome: pf.nome.trim() };
    if (pf.dataNascimento) {
      dados.pf.dataNascimento = {
        year: pf.dataNascimento.year,
        month: pf.dataNascimento.month,
        day: pf.dataNascimento.day,
      };
    }
  } else if (message.pessoa.case === "pj") {
    const pj = message.pessoa.value;
    dados.pj = {
      cnpj: normalizeDocumento(pj.cnpj),
      razaoSocial: pj.razaoSocial.trim(),
      representanteNome: pj.representanteNome.trim(),
      representanteCpf: normalizeDocumento(pj.representanteCpf),
    };
  }
  if (message.endereco) {
    const { cep, logradouro, numero, complemento, bairro, municipio, uf } = message.endereco;
    dados.endereco = { cep: cep.replace("-", ""), logradouro, numero, complemento, bairro, municipio, uf };
  }
  if (message.contaBancaria) {
    const { banco, agencia, conta, digito, tipo } = message.contaBancaria;
    dados.contaBancaria = { banco, agencia, conta, digito, tipo };
  }
  return dados;
}

const STATUS: Record<Row["status"], ConsorciadoStatus> = {
  ATIVO: ConsorciadoStatus.ATIVO,
  INATIVO: ConsorciadoStatus.INATIVO,
  RESTRITO: ConsorciadoStatus.RESTRITO,
  ANONIMIZADO: ConsorciadoStatus.ANONIMIZADO,
};

export function statusFromMessage(status: ConsorciadoStatus): Row["status"] | undefined {
  return (
    (Object.entries(STATUS).find(([, value]) => value === status)?.[0] as Row["status"] | undefined) ??
    undefined
  );
}

/** The record as the API shows it; an anonymised one keeps only its id, kind, status and times. */
export function toMessage(row: Row, dados: DadosPessoais | undefined): Consorciado {
  const message = create(ConsorciadoSchema, {
    id: row.id,
    tipo: row.tipo === "JURIDICA" ? TipoPessoa.JURIDICA : TipoPessoa.FISICA,
    status: STATUS[row.status],
    createTime: timestampFromDate(row.createdAt),
    updateTime: timestampFromDate(row.updatedAt),
    version: row.version,
    ...(row.anonymizationDueAt ? { anonimizacaoDueTime: timestampFromDate(row.anonymizationDueAt) } : {}),
  });
  if (!dados) {
    message.pessoa =
      row.tipo === "JURIDICA"
        ? {
            case: "pj",
            value: {
              $typeName: "consorcio.consorciados.v1.PessoaJuridica",
              cnpj: ANONIMIZADO,
              razaoSocial: ANONIMIZADO,
              representanteNome: ANONIMIZADO,
              representanteCpf: ANONIMIZADO,
            },
          }
        : {
            case: "pf",
            value: {
              $typeName: "consorcio.consorciados.v1.PessoaFisica",
              cpf: ANONIMIZADO,
              nome: ANONIMIZADO,
            },
          };
    return message;
  }
  message.email = dados.email;
  message.telefones = dados.telefones;
  message.chavePix = dados.chavePix;
  message.pep = dados.pep;
  message.ocultarNome = dados.ocultarNome;
  if (dados.pf) {
    message.pessoa = {
      case: "pf",
      value: {
        $typeName: "consorcio.consorciados.v1.PessoaFisica",
        cpf: dados.pf.cpf,
        nome: dados.pf.nome,
        ...(dados.pf.dataNascimento
          ? { dataNascimento: { $typeName: "google.type.Date", ...dados.pf.dataNascimento } }
          : {}),
      },
    };
  }
  if (dados.pj)
    message.pessoa = {
      case: "pj",
      value: { $typeName: "consorcio.consorciados.v1.PessoaJuridica", ...dados.pj },
    };
  if (dados.endereco)
    message.endereco = { $typeName: "consorcio.consorciados.v1.Endereco", ...dados.endereco };
  if (dados.contaBancaria)
    message.contaBancaria = { $typeName: "consorcio.consorciados.v1.ContaBancaria", ...dados.contaBancaria };
  return message;
}
