// Services as deployed: migrated by the role owning the tables, served by a role with DML only,
// and on audit_record only INSERT and SELECT, so the service cannot undo its append-only trigger.
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { create } from "@bufbuild/protobuf";
import { FieldMaskSchema } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { RecordKind } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_pb.js";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestService,
  type TestDatabase,
  type TestService,
  testServers,
} from "@consorcio/platform/testing.ts";
import { cpf } from "cpf-cnpj-validator";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { piiKeys } from "../../consorciados/test/support.ts";
import { service } from "../src/service.ts";

const queue = `auditoria.roles.${randomUUID().slice(0, 8)}`;
// consorciados consumes grupos' events: its migrate declares this queue, of this test alone.
const consorciadosQueue = `consorciados.roles.${randomUUID().slice(0, 8)}`;
const repo = fileURLToPath(new URL("../../../", import.meta.url));
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let auditoriaDb: TestDatabase;
let consorciadosDb: TestDatabase;
let auditoria: TestService;
let consorciados: TestService;
let operadorToken: string;
let auditorToken: string;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
const roleOf = (url: string) => new URL(url).username;

/** `main.ts migrate` as the Helm Job runs it: migration credentials and the service role's name only. */
async function migrateCommand(name: string, env: Record<string, string>) {
  return promisify(execFile)(process.execPath, [`services/${name}/src/main.ts`, "migrate"], {
    cwd: repo,
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "silent", ...env },
  });
}

/** Runs one statement connected as the given URL's role. */
async function as(url: string, sql: string, params: unknown[] = []) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  const issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  auditoriaDb = await createTestDatabase("auditoria", { roles: true });
  consorciadosDb = await createTestDatabase("consorciados", { roles: true });
  // auditoria migrates at start (MIGRATE_ON_START with MIGRATION_DATABASE_URL), then serves as its role.
  auditoria = await startTestService(
    service,
    { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue },
    { db: auditoriaDb },
  );
  // consorciados is migrated by the command, then served without the migration credentials.
  await migrateCommand("consorciados", {
    MIGRATION_DATABASE_URL: consorciadosDb.migrationUrl,
    DATABASE_SERVICE_ROLE: roleOf(consorciadosDb.url),
    AMQP_URL: testServers.amqpUrl,
    CONSORCIADOS_QUEUE: consorciadosQueue,
  });
  consorciados = await startTestService(
    consorciadosService,
    {
      ...piiKeys,
      JWKS_URL: jwks.url,
      ERASURE_INTERVAL_SECONDS: "0",
      MIGRATE_ON_START: "false",
      CONSORCIADOS_QUEUE: consorciadosQueue,
    },
    { db: consorciadosDb },
  );
  operadorToken = await issuer.token({ roles: [Role.OPERADOR] });
  auditorToken = await issuer.token({ roles: [Role.AUDITOR] });
}, 60_000);
afterAll(async () => {
  await consorciados?.stop();
  await auditoria?.stop();
  await consorciadosDb?.drop();
  await auditoriaDb?.drop();
  await jwks?.close();
  await deleteQueues([queue, consorciadosQueue]);
});

const consorciadosClient = () =>
  createClient(
    ConsorciadoService,
    createConnectTransport({ baseUrl: consorciados.service.url, httpVersion: "2" }),
  );
const auditClient = () =>
  createClient(
    AuditoriaService,
    createConnectTransport({ baseUrl: auditoria.service.url, httpVersion: "2" }),
  );

async function createConsorciado(requestId: string, documento: string) {
  const input = {
    tipo: TipoPessoa.FISICA,
    pessoa: { case: "pf" as const, value: { cpf: documento, nome: "Pessoa com Papel" } },
  };
  return consorciadosClient().createConsorciado({ consorciado: input, requestId }, bearer(operadorToken));
}

const auditedAbout = async (subject: string) => {
  const { records } = await auditClient().listAuditRecords({ subject, pageSize: 100 }, bearer(auditorToken));
  return records.some((r) => r.kind === RecordKind.CALL) && records.some((r) => r.kind === RecordKind.EVENT)
    ? records
    : undefined;
};

describe("database roles", () => {
  test("the tables belong to the migration role, not to the service role", async () => {
    for (const db of [auditoriaDb, consorciadosDb]) {
      const owners = await db.query<{ tableowner: string }>(
        "select distinct tableowner from pg_tables where schemaname = 'public'",
      );
      expect(owners.map((o) => o.tableowner)).toEqual([roleOf(db.migrationUrl)]);
    }
  });

  test("served by their own roles, consorciados and auditoria work: outbox, inbox, idempotency, chain", async () => {
    const requestId = randomUUID();
    const documento = cpf.generate();
    const first = await createConsorciado(requestId, documento);
    if (!first.consorciado) throw new Error("no consorciado created");
    const id = first.consorciado.id;
    // A retry is answered from platform_idempotency.
    const again = await createConsorciado(requestId, documento);
    expect(again.consorciado?.id).toBe(id);
    const updated = await consorciadosClient().updateConsorciado(
      {
        consorciado: { ...first.consorciado, email: "papel@example.com" },
        updateMask: create(FieldMaskSchema, { paths: ["email"] }),
      },
      bearer(operadorToken),
    );
    expect(updated.consorciado?.email).toBe("papel@example.com");

    // The outbox relay (UPDATE as consorciados' role) published; auditoria's consumer (inbox,
    // audit_record, audit_chain_head as auditoria's role) recorded the call and the event.
    const records = await eventually(() => auditedAbout(id), 15_000);
    expect(records.length).toBeGreaterThanOrEqual(2);
    const unpublished = async () =>
      (await consorciadosDb.query("select 1 from platform_outbox where published_at is null")).length;
    await eventually(async () => (await unpublished()) === 0);
    const idempotent = await consorciadosDb.query(
      "select 1 from platform_idempotency where request_id = $1",
      [requestId],
    );
    expect(idempotent).toHaveLength(1);
    const inbox = await auditoriaDb.query<{ n: number }>("select count(*)::int as n from platform_inbox");
    expect(inbox[0]?.n).toBeGreaterThan(0);

    const verified = await auditClient().verifyChain({}, bearer(auditorToken));
    expect(verified.intact).toBe(true);
    expect(verified.checked).toBeGreaterThanOrEqual(BigInt(records.length));
  });

  test.each([
    ["update", "update audit_record set actor = 'intruso'"],
    ["delete", "delete from audit_record"],
    ["truncate", "truncate audit_record"],
    ["disable the trigger", "alter table audit_record disable trigger audit_record_no_update"],
    ["drop the trigger", "drop trigger audit_record_no_update on audit_record"],
    ["alter the table", "alter table audit_record add column forged text"],
    ["drop the table", "drop table audit_record"],
  ])("auditoria's role cannot %s", async (_what, sql) => {
    await eventually(async () => (await auditoriaDb.query("select 1 from audit_record limit 1")).length > 0);
    // 42501: insufficient_privilege (not the trigger's own refusal, which is P0001).
    await expect(as(auditoriaDb.url, sql)).rejects.toMatchObject({ code: "42501" });
  });

  test("auditoria's role reads and appends the log, and keeps only that after another migrate", async () => {
    const privileges = () =>
      auditoriaDb.query<{ privilege: string }>(
        `select privilege from unnest(array['SELECT','INSERT','UPDATE','DELETE','TRUNCATE','REFERENCES','TRIGGER']) as privilege
         where has_table_privilege($1, 'audit_record', privilege) order by privilege`,
        [roleOf(auditoriaDb.url)],
      );
    expect((await privileges()).map((p) => p.privilege)).toEqual(["INSERT", "SELECT"]);
    // The migrate command re-asserts the grants: the default DML does not come back on audit_record.
    await migrateCommand("auditoria", {
      MIGRATION_DATABASE_URL: auditoriaDb.migrationUrl,
      DATABASE_SERVICE_ROLE: roleOf(auditoriaDb.url),
      AMQP_URL: testServers.amqpUrl,
      AUDITORIA_QUEUE: queue,
    });
    expect((await privileges()).map((p) => p.privilege)).toEqual(["INSERT", "SELECT"]);
    const head = await as(auditoriaDb.url, "select last_seq from audit_chain_head");
    expect(head).toHaveLength(1);
    await expect(as(auditoriaDb.url, "delete from platform_migrations")).rejects.toMatchObject({
      code: "42501",
    });
  });

  test("the migrate command without DATABASE_URL must be told the service role", async () => {
    const run = migrateCommand("auditoria", { MIGRATION_DATABASE_URL: auditoriaDb.migrationUrl });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining("DATABASE_SERVICE_ROLE: required without DATABASE_URL"),
    });
  });
});
