import { Migration } from "@mikro-orm/migrations";

export class BulkLedger extends Migration {
  override async up(): Promise<void> {
    // The per-row foreign key of every leg cost more than the leg: the statement trigger that
    // checks each entry's balance now also checks that its entry exists, in the grupo it names.
    this.addSql("alter table partida drop constraint partida_lancamento_id_grupo_id_fkey");
    // A parcela's grupo is its cota's (cota references grupo): one foreign-key check per row less.
    this.addSql("alter table parcela drop constraint parcela_grupo_id_fkey");
    this.addSql(`create or replace function partida_balanceada() returns trigger language plpgsql as $$
      declare problema uuid;
      begin
        select n.lancamento_id into problema from (select distinct lancamento_id, grupo_id from novas) n
          where not exists (select 1 from lancamento l where l.id = n.lancamento_id and l.grupo_id = n.grupo_id)
          limit 1;
        if problema is not null then
          raise exception 'leg of lancamento % without its entry in that grupo', problema using errcode = '23503';
        end if;
        select p.lancamento_id into problema from partida p
          where p.lancamento_id in (select distinct lancamento_id from novas)
          group by p.lancamento_id having sum(p.valor_centavos) <> 0 limit 1;
        if problema is not null then
          raise exception 'lancamento % is not balanced', problema using errcode = '23514';
        end if;
        return null;
      end $$`);
  }
}
