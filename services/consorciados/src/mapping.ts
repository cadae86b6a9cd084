// Protobuf messages <-> the domain types: the only place (with routes.ts) that knows the contract.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Canal,
  type Consentimento as ConsentimentoMessage,
  ConsentimentoSchema,
  type Consorciado as ConsorciadoMessage,
  ConsorciadoSchema,
  ConsorciadoStatus,
  Finalidade,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import type {
  Canal as CanalName,
  Consentimento,
  ConsentimentoInput,
  Finalidade as FinalidadeName,
} from "./domain/consentimento.ts";
import {
  ANONIMIZADO,
  type Consorciado,
  type DadosPessoais,
  type Status,
  type TipoPessoa as TipoName,
} from "./domain/consorciado.ts";
import { normalizeDocumento } from "./domain/documentos.ts";

export function dadosFromMessage(message: ConsorciadoMessage): DadosPessoais {
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

const STATUS: Record<Status, ConsorciadoStatus> = {
  ATIVO: ConsorciadoStatus.ATIVO,
  INATIVO: ConsorciadoStatus.INATIVO,
  RESTRITO: ConsorciadoStatus.RESTRITO,
  ANONIMIZADO: ConsorciadoStatus.ANONIMIZADO,
};

/** UNSPECIFIED (no filter) is undefined. */
export function statusFromMessage(status: ConsorciadoStatus): Status | undefined {
  return (Object.entries(STATUS) as [Status, ConsorciadoStatus][]).find(([, value]) => value === status)?.[0];
}

export const statusToMessage = (status: Status): ConsorciadoStatus => STATUS[status];

export const tipoToMessage = (tipo: TipoName): TipoPessoa =>
  tipo === "JURIDICA" ? TipoPessoa.JURIDICA : TipoPessoa.FISICA;

/** The request's enums by name; the contract's rules refuse UNSPECIFIED before this runs. */
export function consentimentoFromMessage(input: {
  finalidade: Finalidade;
  concedido: boolean;
  canal: Canal;
}): ConsentimentoInput {
  return {
    finalidade: Finalidade[input.finalidade] as FinalidadeName,
    concedido: input.concedido,
    canal: Canal[input.canal] as CanalName,
  };
}

export function consentimentoToMessage(c: Consentimento): ConsentimentoMessage {
  return create(ConsentimentoSchema, {
    id: c.id,
    consorciadoId: c.consorciadoId,
    finalidade: Finalidade[c.finalidade],
    concedido: c.concedido,
    canal: Canal[c.canal],
    createTime: timestampFromDate(c.createdAt),
    registradoPor: c.registradoPor,
  });
}

/** The record as the API shows it; an anonymised one keeps only its id, kind, status and times. */
export function toMessage(consorciado: Consorciado): ConsorciadoMessage {
  const { dados } = consorciado;
  const message = create(ConsorciadoSchema, {
    id: consorciado.id,
    tipo: tipoToMessage(consorciado.tipo),
    status: STATUS[consorciado.status],
    createTime: timestampFromDate(consorciado.createdAt),
    updateTime: timestampFromDate(consorciado.updatedAt),
    version: consorciado.version,
    ...(consorciado.anonymizationDueAt
      ? { anonimizacaoDueTime: timestampFromDate(consorciado.anonymizationDueAt) }
      : {}),
  });
  if (!dados) {
    message.pessoa =
      consorciado.tipo === "JURIDICA"
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
