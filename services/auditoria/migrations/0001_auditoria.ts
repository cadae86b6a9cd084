import { Migration } from "@mikro-orm/migrations";

export class InitialSchema extends Migration {
  override async up(): Promise<void> {
    // Times are kept as the exact ISO strings that were hashed.
    this.addSql(`create table audit_record (
      seq bigint primary key,
      kind text not null check (kind in ('EVENT', 'CALL')),
      type text not null,
      message_id text not null unique,
      subject text not null,
      actor text not null,
      occurred_at text not null,
      recorded_at text not null,
      payload_json text not null,
      previous_hash text not null,
      hash text not null)`);
    this.addSql("create index audit_record_subject on audit_record (subject, seq)");
    this.addSql("create index audit_record_actor on audit_record (actor, seq)");
    this.addSql("create index audit_record_type on audit_record (type, seq)");
    this.addSql("create index audit_record_occurred on audit_record (occurred_at, seq)");
    // The chain's head, locked by each append so records chain in one order.
    this.addSql(
      "create table audit_chain_head (id int primary key check (id = 1), last_seq bigint not null, last_hash text not null)",
    );
    this.addSql("insert into audit_chain_head values (1, 0, '')");
    // Append-only: no code path updates or deletes, and the database refuses it too.
    this.addSql(`create function audit_record_append_only() returns trigger language plpgsql as $$
      begin raise exception 'audit_record is append-only'; end $$`);
    this.addSql(`create trigger audit_record_no_update before update or delete on audit_record
      for each row execute function audit_record_append_only()`);
    this.addSql(`create trigger audit_record_no_truncate before truncate on audit_record
      for each statement execute function audit_record_append_only()`);
    this.addSql("revoke update, delete, truncate on audit_record from public");
  }
}
