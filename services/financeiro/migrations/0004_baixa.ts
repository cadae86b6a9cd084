import { Migration } from "@mikro-orm/migrations";

export class BaixaMultaSuspense extends Migration {
  override async up(): Promise<void> {
    // The multa a parcela's payments paid so far: a later partial payment does not charge it again.
    this.addSql("alter table parcela add column multa_paga_centavos bigint not null default 0");
    // What each payment paid of each fund (a CNAB file's payments are one ledger entry per grupo).
    this.addSql(`alter table pagamento add column fundo_comum_centavos bigint not null default 0,
      add column taxa_administracao_centavos bigint not null default 0,
      add column fundo_reserva_centavos bigint not null default 0,
      add column seguro_centavos bigint not null default 0`);
    // Pix received for a txid no parcela has: kept, reported, never counted as paid.
    this.addSql(`create table pix_suspenso (
      end_to_end_id text primary key,
      txid text not null,
      valor_centavos bigint not null check (valor_centavos > 0),
      data_pagamento date not null,
      motivo text not null,
      recebido_at timestamptz not null default now())`);
  }
}
