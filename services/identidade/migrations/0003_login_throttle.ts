import { Migration } from "@mikro-orm/migrations";

/** Throttle by keyed hashes of (username, source); the plaintext usernames go with the old table. */
export class LoginThrottleSchema extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table login_throttle (
      user_key text not null,
      source_key text not null,
      usuario_id uuid null,
      failures int not null,
      held_until timestamptz null,
      forget_at timestamptz not null,
      primary key (user_key, source_key))`);
    this.addSql("create index login_throttle_usuario on login_throttle (usuario_id)");
    this.addSql("create index login_throttle_forget on login_throttle (forget_at)");
    this.addSql("drop table login_attempt");
  }
}
