import { execFile } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { RecordKind } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_pb.js";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  ConsorciadoCriadoSchema,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { connectRabbitMqBus, createLogger, type OutgoingMessage } from "@consorcio/platform";
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
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { piiKeys } from "../../consorciados/test/support.ts";
import { service } from "../src/service.ts";

const queue = `auditoria.test.${randomUUID().slice(0, 8)}`;
let issuer: Awaited<ReturnType<typeof createTestIssuer>>;
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let auditoriaDb: TestDatabase;
let auditoria: TestService;
let consorciados: TestService;
let operadorToken: string;
let auditorToken: string;
const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

const startAuditoria = () =>
  startTestService(service, { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue }, { db: auditoriaDb });
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

beforeAll(async () => {
  issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  auditoriaDb = await createTestDatabase("auditoria");
  auditoria = await startAuditoria();
  consorciados = await startTestService(consorciadosService, {
    ...piiKeys,
    JWKS_URL: jwks.url,
    ERASURE_INTERVAL_SECONDS: "0",
  });
  operadorToken = await issuer.token({ roles: [Role.OPERADOR] });
  auditorToken = await issuer.token({ roles: [Role.AUDITOR] });
});
afterAll(async () => {
  await consorciados.stop();
  await auditoria.stop();
  await auditoriaDb.drop();
  await jwks.close();
  await deleteQueues([queue]);
});

async function createConsorciado(): Promise<string> {
  const { consorciado } = await consorciadosClient().createConsorciado(
    {
      consorciado: {
        tipo: TipoPessoa.FISICA,
        pessoa: { case: "pf", value: { cpf: cpf.generate(), nome: "Pessoa Auditada" } },
      },
    },
    bearer(operadorToken),
  );
  return consorciado?.id ?? "";
}

/** Edits the log as a database superuser would, with the append-only trigger switched off for it. */
async function tamper(sql: string, params: unknown[]): Promise<void> {
  await auditoriaDb.query("alter table audit_record disable trigger audit_record_no_update");
  try {
    await auditoriaDb.query(sql, params);
  } finally {
    await auditoriaDb.query("alter table audit_record enable trigger audit_record_no_update");
  }
}

async function recordsAbout(subject: string) {
  return (await auditClient().listAuditRecords({ subject, pageSize: 100 }, bearer(auditorToken))).records;
}

const callAndEvent = async (subject: string) => {
  const records = await recordsAbout(subject);
  const calls = records.filter((r) => r.kind === RecordKind.CALL);
  const events = records.filter((r) => r.type === ConsorciadoCriadoSchema.typeName);
  return calls.length >= 1 && events.length >= 1 ? { calls, events, records } : undefined;
};

describe("the audit log", () => {
  test("creating a consorciado leaves exactly one call record and one ConsorciadoCriado record", async () => {
    const id = await createConsorciado();
    const { calls, events } = await eventually(() => callAndEvent(id));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const settled = await recordsAbout(id);
    expect(settled).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      type: "consorcio.consorciados.v1.ConsorciadoService/CreateConsorciado",
      subject: id,
    });
    expect(calls[0]?.actor).toBeTruthy();
    expect(JSON.parse(calls[0]?.payloadJson ?? "{}")).toMatchObject({
      result: "OK",
      service: "consorciados",
    });
    expect(events[0]?.subject).toBe(id);
    // Events carry no personal data, so neither does the log.
    expect(settled.map((r) => r.payloadJson).join("\n")).not.toContain("Pessoa Auditada");
  });

  test("a redelivered message adds nothing", async () => {
    const id = await createConsorciado();
    await eventually(() => callAndEvent(id));
    // Publish the consorciados outbox rows again, ids and all, as a broker redelivery would.
    const rows = await consorciados.db.query(
      "select id, event_type, payload, headers, created_at from platform_outbox where published_at is not null order by created_at",
    );
    const again: OutgoingMessage[] = rows.map((row) => ({
      id: row.id,
      type: row.event_type,
      routingKey: row.event_type,
      body: new Uint8Array(row.payload),
      headers: row.headers,
      timestamp: row.created_at,
    }));
    const bus = await connectRabbitMqBus({
      url: testServers.amqpUrl,
      logger: createLogger({ service: "t", level: "silent" }),
    });
    // Counted by message id: the queue binds `#` on a broker other tests publish to at the same time.
    const recordsOf = async () =>
      (
        await auditoriaDb.query("select count(*)::int as n from audit_record where message_id = any($1)", [
          again.map((message) => message.id),
        ])
      )[0]?.n;
    await eventually(async () => (await recordsOf()) === again.length);
    await bus.publish(again);
    await bus.publish(again);
    const marker = await createConsorciado();
    await eventually(() => callAndEvent(marker));
    await new Promise((resolve) => setTimeout(resolve, 500));
    await bus.close();
    expect(await recordsOf()).toBe(again.length);
    expect(await recordsAbout(id)).toHaveLength(2);
  });

  test("auditoria restarting mid-stream loses and duplicates nothing", async () => {
    const ids: string[] = [];
    const writing = (async () => {
      for (let i = 0; i < 30; i++) ids.push(await createConsorciado());
    })();
    await eventually(async () => ids.length >= 5);
    await auditoria.stop();
    await writing;
    auditoria = await startAuditoria();
    for (const id of ids) {
      const found = await eventually(() => callAndEvent(id), 20_000);
      expect(found.records, id).toHaveLength(2);
    }
    const duplicates = await auditoriaDb.query(
      "select message_id, count(*) from audit_record group by message_id having count(*) > 1",
    );
    expect(duplicates).toHaveLength(0);
  });

  test("VerifyChain finds an edited record", async () => {
    const id = await createConsorciado();
    await eventually(() => callAndEvent(id));
    const verified = await auditClient().verifyChain({}, bearer(auditorToken));
    expect(verified.intact).toBe(true);
    expect(verified.checked).toBeGreaterThan(2n);
    const [target] = await auditoriaDb.query<{ seq: string }>(
      "select seq from audit_record where subject = $1 order by seq limit 1",
      [id],
    );
    // Tampering as a superuser, with the append-only trigger bypassed.
    await tamper("update audit_record set actor = 'intruso' where seq = $1", [target?.seq]);
    const broken = await auditClient().verifyChain({}, bearer(auditorToken));
    expect(broken.intact).toBe(false);
    expect(String(broken.firstBrokenSeq)).toBe(target?.seq);
    const before = await auditClient().verifyChain(
      { toSeq: BigInt(target?.seq ?? 1) - 1n },
      bearer(auditorToken),
    );
    expect(before.intact).toBe(true);
  });

  test("VerifyChain notices records cut off the end of the chain", async () => {
    const id = await createConsorciado();
    await eventually(() => callAndEvent(id));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [last] = await auditoriaDb.query<{ seq: string }>("select max(seq)::text as seq from audit_record");
    await tamper("delete from audit_record where seq = $1", [last?.seq]);
    const fromAfterTamper = await auditClient().verifyChain(
      { fromSeq: BigInt(last?.seq ?? 1) - 1n },
      bearer(auditorToken),
    );
    expect(fromAfterTamper.intact).toBe(false);
    expect(String(fromAfterTamper.firstBrokenSeq)).toBe(last?.seq);
  });

  test("VerifyChain over a range beyond the head is intact with nothing checked", async () => {
    const id = await createConsorciado();
    await eventually(() => callAndEvent(id));
    const [head] = await auditoriaDb.query<{ seq: string }>(
      "select last_seq::text as seq from audit_chain_head",
    );
    const beyond = BigInt(head?.seq ?? 0) + 10n;
    // What an incremental verifier asks when nothing was appended since its last run.
    for (const request of [{ fromSeq: beyond }, { fromSeq: beyond, toSeq: beyond + 5n }]) {
      const verified = await auditClient().verifyChain(request, bearer(auditorToken));
      expect(verified).toMatchObject({ intact: true, checked: 0n, firstBrokenSeq: 0n });
    }
    await expect(
      auditClient().verifyChain({ fromSeq: 5n, toSeq: 3n }, bearer(auditorToken)),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  test("VerifyChain notices records missing inside a range that stops before the head", async () => {
    const id = await createConsorciado();
    await eventually(() => callAndEvent(id));
    const [head] = await auditoriaDb.query<{ seq: string }>(
      "select last_seq::text as seq from audit_chain_head",
    );
    const last = BigInt(head?.seq ?? 0);
    await tamper("delete from audit_record where seq = $1", [String(last - 1n)]);
    const verified = await auditClient().verifyChain(
      { fromSeq: last - 2n, toSeq: last - 1n },
      bearer(auditorToken),
    );
    expect(verified.intact).toBe(false);
    expect(verified.firstBrokenSeq).toBe(last - 1n);
  });

  test("large records come in pages and verification batches bounded by size, not only by count", async () => {
    // Kept verbatim as base64: about 2.7 MB of payload each, so two do not fit in one page.
    const type = `consorcio.teste.v1.Grande${randomUUID().slice(0, 8)}`;
    const large = Array.from(
      { length: 3 },
      (): OutgoingMessage => ({
        id: randomUUID(),
        type,
        routingKey: type,
        body: randomBytes(2 * 1024 * 1024),
        headers: { actor: "teste" },
        timestamp: new Date(),
      }),
    );
    const bus = await connectRabbitMqBus({
      url: testServers.amqpUrl,
      logger: createLogger({ service: "t", level: "silent" }),
    });
    try {
      await bus.publish(large);
    } finally {
      await bus.close();
    }
    const client = auditClient();
    await eventually(
      async () =>
        (await client.listAuditRecords({ type, pageSize: 1 }, bearer(auditorToken))).nextPageToken !== "" ||
        undefined,
    );
    const pages: number[] = [];
    const ids: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listAuditRecords({ type, pageSize: 100, pageToken }, bearer(auditorToken));
      pages.push(page.records.length);
      ids.push(...page.records.map((r) => r.messageId));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(pages).toEqual([1, 1, 1]);
    expect(ids.sort()).toEqual(large.map((m) => m.id).sort());
    const [first] = await auditoriaDb.query<{ seq: string }>(
      "select min(seq)::text as seq from audit_record where type = $1",
      [type],
    );
    const verified = await client.verifyChain({ fromSeq: BigInt(first?.seq ?? 0) }, bearer(auditorToken));
    expect(verified.intact).toBe(true);
    expect(verified.checked).toBeGreaterThanOrEqual(3n);
  });

  test("a page token beyond any seq is InvalidArgument", async () => {
    await expect(
      auditClient().listAuditRecords({ pageToken: "9999999999999999999" }, bearer(auditorToken)),
    ).rejects.toMatchObject({ code: Code.InvalidArgument });
  });

  test("page tokens are opaque: not a seq a client could build; a raw or out-of-range seq is refused", async () => {
    const { nextPageToken } = await auditClient().listAuditRecords({ pageSize: 1 }, bearer(auditorToken));
    expect(nextPageToken).not.toBe("");
    expect(nextPageToken).not.toMatch(/^[0-9]+$/);
    for (const pageToken of ["1", Buffer.from("9999999999999999999").toString("base64url")]) {
      await expect(auditClient().listAuditRecords({ pageToken }, bearer(auditorToken))).rejects.toMatchObject(
        { code: Code.InvalidArgument },
      );
    }
  });

  test("the consumer takes few messages at a time (AUDITORIA_PREFETCH)", async () => {
    const listing = await promisify(execFile)("rabbitmqctl", [
      "list_consumers",
      "-q",
      "--no-table-headers",
      "queue_name",
      "prefetch_count",
    ]);
    const ours = listing.stdout
      .split("\n")
      .map((line) => line.trim().split(/\s+/))
      .filter(([name]) => name === queue);
    expect(ours).toEqual([[queue, "4"]]);
  });

  test("the service's own database connection cannot update or delete records", async () => {
    const em = auditoria.service.context.db.fork();
    await expect(em.execute("update audit_record set actor = 'x'")).rejects.toThrow(/append-only/);
    await expect(em.execute("delete from audit_record")).rejects.toThrow(/append-only/);
    await expect(em.execute("truncate audit_record")).rejects.toThrow(/append-only/);
  });

  test("AUDITOR reads; other roles do not; nothing writes through the API", async () => {
    await expect(auditClient().listAuditRecords({}, bearer(operadorToken))).rejects.toMatchObject({
      code: Code.PermissionDenied,
    });
    await expect(auditClient().listAuditRecords({})).rejects.toMatchObject({ code: Code.Unauthenticated });
    expect(
      AuditoriaService.methods.every((m) => m.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS),
    ).toBe(true);
    const byActor = await auditClient().listAuditRecords(
      { type: "consorcio.consorciados.v1.ConsorciadoService/CreateConsorciado", pageSize: 2 },
      bearer(auditorToken),
    );
    expect(byActor.records).toHaveLength(2);
    expect(byActor.nextPageToken).not.toBe("");
  });
});
