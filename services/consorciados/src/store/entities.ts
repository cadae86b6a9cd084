import { defineEntity, p } from "@mikro-orm/core";

import type { Status, TipoPessoa } from "../domain/consorciado.ts";

/** Nothing personal in clear: the data is sealed, the document and name only as keyed hashes. */
export const ConsorciadoRow = defineEntity({
  name: "ConsorciadoRow",
  tableName: "consorciado",
  properties: {
    id: p.uuid().primary(),
    tipo: p.string().$type<TipoPessoa>(),
    status: p.string().$type<Status>(),
    /** HMAC of the normalized CPF/CNPJ: lookups and uniqueness. Null once anonymised. */
    documentoHash: p.string().nullable().unique(),
    /** HMACs of the name's prefixes, for prefix search. */
    nomeIndex: p.array().$type<string[]>(),
    /** The person's data key, wrapped by the master key. Deleted to shred the data. */
    dataKey: p.text().nullable(),
    /** Every personal datum, sealed with the data key. */
    dados: p.text().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
    updatedAt: p
      .datetime()
      .onCreate(() => new Date())
      .onUpdate(() => new Date()),
    erasureRequestedAt: p.datetime().nullable(),
    anonymizationDueAt: p.datetime().nullable(),
    anonymizedAt: p.datetime().nullable(),
    version: p.integer().version(),
  },
});

export const ConsentimentoRow = defineEntity({
  name: "ConsentimentoRow",
  tableName: "consentimento",
  properties: {
    id: p.uuid().primary(),
    consorciadoId: p.uuid().index(),
    finalidade: p.string(),
    concedido: p.boolean(),
    canal: p.string(),
    registradoPor: p.string(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});

/** Data subject requests (export, erasure) and their outcome (LGPD art. 18, 19). */
export const SolicitacaoRow = defineEntity({
  name: "SolicitacaoRow",
  tableName: "solicitacao_titular",
  properties: {
    id: p.uuid().primary(),
    consorciadoId: p.uuid().index(),
    tipo: p.string().$type<"EXPORTACAO" | "ELIMINACAO">(),
    solicitadoPor: p.string(),
    /** EXECUTADA, AGENDADA (erasure waiting for the retention), CONCLUIDA. */
    situacao: p.string(),
    requestedAt: p.datetime().onCreate(() => new Date()),
    completedAt: p.datetime().nullable(),
  },
});

/** Participation history (cotas, contemplations, exclusions), fed by other services' events. */
export const ParticipacaoRow = defineEntity({
  name: "ParticipacaoRow",
  tableName: "participacao",
  properties: {
    id: p.uuid().primary(),
    consorciadoId: p.uuid().index(),
    grupoId: p.string(),
    /** The cota in grupos, when the row came from its events. */
    cotaId: p.uuid().nullable(),
    cotaNumero: p.integer(),
    evento: p.string(),
    valorCentavos: p.bigint().nullable(),
    occurredAt: p.datetime(),
    grupoEncerradoAt: p.datetime().nullable(),
  },
});

/** Grupos known to be closed (GrupoEncerrado): the retention of their participants runs from then. */
export const GrupoEncerradoRow = defineEntity({
  name: "GrupoEncerradoRow",
  tableName: "grupo_encerrado",
  properties: {
    grupoId: p.string().primary(),
    encerradoAt: p.datetime(),
  },
});

export const entities = [
  ConsorciadoRow,
  ConsentimentoRow,
  SolicitacaoRow,
  ParticipacaoRow,
  GrupoEncerradoRow,
];
