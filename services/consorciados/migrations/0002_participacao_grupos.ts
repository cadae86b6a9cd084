import { Migration } from "@mikro-orm/migrations";

/** The participation history fed by grupos' events, and the grupos known to be closed. */
export class ParticipacaoGrupos extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table participacao add column cota_id uuid null");
    this.addSql(
      "create index participacao_grupo on participacao (grupo_id) where grupo_encerrado_at is null",
    );
    // A GrupoEncerrado may arrive before an event of one of its cotas: a late row still gets the date.
    this.addSql(`create table grupo_encerrado (
      grupo_id text primary key,
      encerrado_at timestamptz not null)`);
  }
}
