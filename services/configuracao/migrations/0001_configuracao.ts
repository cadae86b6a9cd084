import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table parametro (
      key text primary key,
      tipo text not null check (tipo in ('BOOL', 'INTEGER', 'DECIMAL', 'TEXT')),
      valor text not null,
      description text not null default '',
      valid_from timestamptz null,
      valid_until timestamptz null,
      created_at timestamptz not null,
      updated_at timestamptz not null,
      updated_by text not null,
      version int not null default 1,
      check (valid_from is null or valid_until is null or valid_from < valid_until))`);
    this.addSql(`create table feature_flag (
      key text primary key,
      description text not null default '',
      enabled boolean not null,
      rollout_percent int not null check (rollout_percent between 0 and 100),
      roles text[] not null default '{}',
      created_at timestamptz not null,
      updated_at timestamptz not null,
      updated_by text not null,
      version int not null default 1)`);
    this.addSql(`create table indice_valor (
      id uuid primary key,
      indice text not null check (indice in ('INCC', 'IPCA', 'IGPM')),
      referencia text not null check (referencia ~ '^[0-9]{4}-(0[1-9]|1[0-2])$'),
      revisao int not null check (revisao > 0),
      valor_percentual text not null,
      fonte text not null,
      motivo text not null default '',
      atual boolean not null,
      created_at timestamptz not null,
      registrado_por text not null,
      first_use_at timestamptz null,
      unique (indice, referencia, revisao))`);
    this.addSql("create unique index indice_valor_atual on indice_valor (indice, referencia) where atual");
    // A revision is a fact: only which one is the latest and its first use may change, never the
    // value, and no revision is deleted (defence in depth under the service's own rules).
    this.addSql(`create function indice_valor_imutavel() returns trigger language plpgsql as $$
      begin
        if tg_op = 'DELETE' then
          raise exception 'indice_valor revisions are never deleted';
        end if;
        if (new.id, new.indice, new.referencia, new.revisao, new.valor_percentual, new.fonte,
            new.motivo, new.created_at, new.registrado_por)
           is distinct from
           (old.id, old.indice, old.referencia, old.revisao, old.valor_percentual, old.fonte,
            old.motivo, old.created_at, old.registrado_por)
           or (old.first_use_at is not null and new.first_use_at is distinct from old.first_use_at)
           or (not old.atual and new.atual) then
          raise exception 'indice_valor revisions are immutable: a correction is a new revision';
        end if;
        return new;
      end $$`);
    this.addSql(`create trigger indice_valor_imutavel before update or delete on indice_valor
      for each row execute function indice_valor_imutavel()`);
    this.addSql(`create table indice_uso (
      valor_id uuid not null references indice_valor (id),
      uso text not null,
      usado_por text not null,
      used_at timestamptz not null,
      primary key (valor_id, uso))`);
    this.addSql("create sequence configuracao_change_seq");
    this.addSql(`create table configuracao_change (
      seq bigint primary key,
      topic text not null,
      key text not null,
      payload bytea not null,
      created_at timestamptz not null)`);
  }
}
