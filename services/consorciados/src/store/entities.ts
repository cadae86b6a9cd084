import { defineEntity, p } from "@mikro-orm/core";
import { Migration } from "@mikro-orm/migrations";

export type Status = "ATIVO" | "INATIVO" | "RESTRITO" | "ANONIMIZADO";

/** Nothing personal in clear: the data is sealed, the document and name only as keyed hashes. */
export const ConsorciadoRow = defineEntity({
  name: "ConsorciadoRow",
  tableName: "consorciado",
  properties: {
    id: p.uuid().primary(),
    tipo: p.string().$type<"FISICA" | "JURIDICA">(),
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
    cotaNumero: p.integer(),
    evento: p.string(),
    valorCentavos: p.bigint().nullable(),
    occurredAt: p.datetime(),
    grupoEncerradoAt: p.datetime().nullable(),
  },
});

export const entities = [ConsorciadoRow, ConsentimentoRow, SolicitacaoRow, ParticipacaoRow];

class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table consorciado (
      id uuid primary key,
      tipo text not null check (tipo in ('FISICA', 'JURIDICA')),
      status text not null check (status in ('ATIVO', 'INATIVO', 'RESTRITO', 'ANONIMIZADO')),
      documento_hash text null unique,
      nome_index text[] not null default '{}',
      data_key text null,
      dados text null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      erasure_requested_at timestamptz null,
      anonymization_due_at timestamptz null,
      anonymized_at timestamptz null,
      version int not null default 1)`);
    this.addSql("create index consorciado_nome_index on consorciado using gin (nome_index)");
    this.addSql(
      "create index consorciado_due on consorciado (anonymization_due_at) where anonymized_at is null",
    );
    this.addSql(`create table consentimento (
      id uuid primary key,
      consorciado_id uuid not null references consorciado (id),
      finalidade text not null,
      concedido boolean not null,
      canal text not null,
      registrado_por text not null,
      created_at timestamptz not null)`);
    this.addSql("create index consentimento_consorciado on consentimento (consorciado_id, created_at)");
    this.addSql(`create table solicitacao_titular (
      id uuid primary key,
      consorciado_id uuid not null references consorciado (id),
      tipo text not null,
      solicitado_por text not null,
      situacao text not null,
      requested_at timestamptz not null,
      completed_at timestamptz null)`);
    this.addSql("create index solicitacao_consorciado on solicitacao_titular (consorciado_id)");
    this.addSql(`create table participacao (
      id uuid primary key,
      consorciado_id uuid not null references consorciado (id),
      grupo_id text not null,
      cota_numero int not null,
      evento text not null,
      valor_centavos bigint null,
      occurred_at timestamptz not null,
      grupo_encerrado_at timestamptz null)`);
    this.addSql("create index participacao_consorciado on participacao (consorciado_id)");
  }
}

export const migrations = [{ name: "0001_consorciados", class: InitialSchema }];
