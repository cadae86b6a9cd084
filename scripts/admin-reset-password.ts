// `npm run admin:reset-password`: a new password for the `admin` account, printed once, and its
// login holds cleared. Connects to identidade's database: DATABASE_URL's server when set (the
// database consorcio_identidade there), else the embedded PostgreSQL of `npm start` (which must be
// running; CONSORCIO_PORT_OFFSET as for the launcher). CONSORCIO_ADMIN_PASSWORD chooses the password.
import { randomBytes } from "node:crypto";
import { hash } from "@node-rs/argon2";
import pg from "pg";
import { databaseName, EMBEDDED_POSTGRES_PORT, requireNode24 } from "../services/platform/src/index.ts";

requireNode24();
const server = new URL(
  process.env.DATABASE_URL ??
    `postgres://postgres:postgres@127.0.0.1:${EMBEDDED_POSTGRES_PORT + Number(process.env.CONSORCIO_PORT_OFFSET ?? 0)}/postgres`,
);
server.pathname = `/${databaseName("identidade")}`;
const password = process.env.CONSORCIO_ADMIN_PASSWORD || randomBytes(18).toString("base64url");
// argon2id, as identidade hashes passwords.
const secretHash = await hash(password, { algorithm: 2 });

const client = new pg.Client({ connectionString: server.toString(), connectionTimeoutMillis: 5_000 });
try {
  await client.connect();
} catch (error) {
  console.error(
    `admin:reset-password: cannot reach ${server.host}${server.pathname} (${(error as Error).message}): is npm start running, or DATABASE_URL set?`,
  );
  process.exit(1);
}
try {
  await client.query("begin");
  const updated = await client.query<{ id: string }>(
    "update usuario set secret_hash = $1, updated_at = now(), version = version + 1 where username = 'admin' returning id",
    [secretHash],
  );
  const id = updated.rows[0]?.id;
  if (!id) {
    await client.query("rollback");
    console.error(
      "admin:reset-password: there is no admin account yet: npm start creates it at its first start",
    );
    process.exit(1);
  }
  await client.query("delete from login_throttle where usuario_id = $1", [id]);
  await client.query("commit");
} finally {
  await client.end();
}
process.stdout.write(`admin password reset; log in with: admin / ${password}\n`);
