import { Migration } from "@mikro-orm/migrations";

export class BulkForeignKeys extends Migration {
  override async up(): Promise<void> {
    // Per-row foreign-key triggers cost the bulk paths more than the rows (each a probe and a row
    // lock of the referenced row). Billing builds each parcela from a cota row it read in the same
    // transaction, and cotas are never deleted (their situacao changes); a pagamento's parcela is
    // locked FOR UPDATE by the transaction that inserts the pagamento, and parcelas are never deleted.
    this.addSql("alter table parcela drop constraint parcela_cota_id_fkey");
    this.addSql("alter table pagamento drop constraint pagamento_parcela_id_fkey");
  }
}
