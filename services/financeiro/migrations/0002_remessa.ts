import { Migration } from "@mikro-orm/migrations";

export class RemessaSequence extends Migration {
  override async up(): Promise<void> {
    // NSA: the sequence number of each remessa file, increasing per beneficiário account.
    this.addSql("create sequence remessa_nsa_seq as int minvalue 1 maxvalue 999999 cycle");
  }
}
