import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table grupo (
      id uuid primary key,
      codigo text not null unique,
      segmento text not null,
      status text not null check (status in ('EM_FORMACAO', 'ATIVO', 'EM_ENCERRAMENTO', 'ENCERRADO')),
      quantidade_cotas int not null check (quantidade_cotas between 2 and 10000),
      cotas_ocupadas int not null default 0,
      parametros jsonb not null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      ativado_at timestamptz null,
      encerramento_inicio_at timestamptz null,
      encerrado_at timestamptz null,
      version int not null default 1,
      check (cotas_ocupadas between 0 and quantidade_cotas))`);
    this.addSql("create index grupo_status_segmento on grupo (status, segmento, id)");
    this.addSql(`create table cota (
      id uuid primary key,
      grupo_id uuid not null references grupo (id),
      numero int not null check (numero >= 1),
      consorciado_id uuid not null,
      situacao text not null check (situacao in
        ('ATIVA', 'INADIMPLENTE', 'CONTEMPLADA', 'EXCLUIDA', 'QUITADA', 'CANCELADA')),
      contemplada boolean not null default false,
      contemplacao_id text null,
      data_adesao text not null check (data_adesao ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
      adesao_at timestamptz not null,
      cancelada_at timestamptz null,
      updated_at timestamptz not null,
      version int not null default 1)`);
    // A number belongs to at most one cota holding it; a cancelled cota frees it.
    this.addSql(
      "create unique index cota_numero_ocupado on cota (grupo_id, numero) where situacao <> 'CANCELADA'",
    );
    this.addSql("create index cota_grupo_numero on cota (grupo_id, numero, id)");
    this.addSql("create index cota_consorciado on cota (consorciado_id, id)");
    this.addSql(`create table cota_historico (
      id uuid primary key,
      cota_id uuid not null references cota (id),
      sequencia int not null,
      causa text not null,
      situacao_anterior text null,
      situacao text not null,
      contemplada boolean not null,
      consorciado_anterior_id uuid null,
      consorciado_id uuid not null,
      origem_id text not null,
      actor text not null,
      occurred_at timestamptz not null,
      unique (cota_id, sequencia))`);
  }
}
