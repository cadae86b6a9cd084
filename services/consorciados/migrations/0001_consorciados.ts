import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
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
