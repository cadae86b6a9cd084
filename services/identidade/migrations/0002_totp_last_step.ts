import { Migration } from "@mikro-orm/migrations";

export class TotpLastStep extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table usuario add column totp_last_step int null");
  }
}
