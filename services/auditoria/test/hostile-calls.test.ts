// Calls whose requests hold what the log cannot store as it is (NUL, 3,000 characters, control
// and odd characters, bytes that are not UTF-8) still leave exactly one record each in auditoria,
// and nothing is dead-lettered.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { connectRabbitMqBus, createLogger, deadLetterQueue } from "@consorcio/platform";
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
import amqp from "amqplib";
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
let adminToken: string;

beforeAll(async () => {
  issuer = await createTestIssuer();
  jwks = await serveJwks(issuer.jwks);
  auditoriaDb = await createTestDatabase("auditoria");
  auditoria = await startTestService(
    service,
    { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue },
    { db: auditoriaDb },
  );
  consorciados = await startTestService(consorciadosService, {
    ...piiKeys,
    JWKS_URL: jwks.url,
    ERASURE_INTERVAL_SECONDS: "0",
  });
  adminToken = await issuer.token({ roles: [Role.ADMIN] });
});
afterAll(async () => {
  await consorciados?.stop();
  await auditoria?.stop();
  await auditoriaDb?.drop();
  await jwks?.close();
  await deleteQueues([queue]);
});

const hostile: Record<string, string> = {
  nul: `${randomUUID()}\u0000`,
  long: "ab".repeat(1_500),
  control: "\u0001\u001b[31mvermelho\u007f\r\n",
  bidi: "\u202eevil\u2066\u200b",
  surrogate: "\ud800x\udfff",
  noncharacter: "\uffff\ufffe\u{10ffff}😀",
  longUnicode: "ç".repeat(3_000),
};

const client = () =>
  createClient(
    ConsorciadoService,
    createConnectTransport({ baseUrl: consorciados.service.url, httpVersion: "2" }),
  );

let nextSource = 1;
/** Each anonymous call from its own address: refusals before authentication are summed per address. */
function headers(requestId: string, token?: string): Record<string, string> {
  return {
    "x-request-id": requestId,
    ...(token ? { authorization: `Bearer ${token}` } : { "x-forwarded-for": `10.77.0.${nextSource++}` }),
  };
}

async function codeOf(call: Promise<unknown>): Promise<Code | "OK"> {
  return call.then(
    () => "OK" as const,
    (error) => ConnectError.from(error).code,
  );
}

async function callRecords(): Promise<Map<string, Array<{ subject: string; payload: string }>>> {
  const rows = await auditoriaDb.query<{ subject: string; payload_json: string }>(
    "select subject, payload_json from audit_record where kind = 'CALL'",
  );
  const byCorrelation = new Map<string, Array<{ subject: string; payload: string }>>();
  for (const row of rows) {
    const id = JSON.parse(row.payload_json).correlationId as string;
    byCorrelation.set(id, [
      ...(byCorrelation.get(id) ?? []),
      { subject: row.subject, payload: row.payload_json },
    ]);
  }
  return byCorrelation;
}

async function deadLettered(): Promise<number> {
  const connection = await amqp.connect(testServers.amqpUrl);
  try {
    const channel = await connection.createChannel();
    return (await channel.checkQueue(deadLetterQueue(queue))).messageCount;
  } finally {
    await connection.close();
  }
}

describe("hostile requests in the audit log", () => {
  test("every call leaves exactly one record, anonymous or not, and nothing is dead-lettered", async () => {
    const sent: Array<{ requestId: string; expected: Code }> = [];
    for (const [name, value] of Object.entries(hostile)) {
      for (const token of [undefined, adminToken]) {
        const calls = [
          (h: Record<string, string>) => client().disableConsorciado({ id: value }, { headers: h }),
          (h: Record<string, string>) =>
            client().requestErasure({ consorciadoId: value, motivo: value }, { headers: h }),
          (h: Record<string, string>) =>
            client().exportDadosPessoais({ consorciadoId: value }, { headers: h }),
        ];
        for (const call of calls) {
          const requestId = randomUUID();
          const code = await codeOf(call(headers(requestId, token)));
          const expected = token ? Code.InvalidArgument : Code.Unauthenticated;
          expect(code, `${name}, ${token ? "authenticated" : "anonymous"}`).toBe(expected);
          sent.push({ requestId, expected });
        }
      }
    }
    // Bytes that are not UTF-8 in a string field are not a message: the protocol layer refuses
    // them before any RPC runs, so there is no call to record and nothing may reach auditoria.
    for (const token of [undefined, adminToken]) {
      const response = await fetch(
        `${consorciados.service.url}/consorcio.consorciados.v1.ConsorciadoService/DisableConsorciado`,
        {
          method: "POST",
          headers: { "content-type": "application/proto", ...headers(randomUUID(), token) },
          body: new Uint8Array([0x0a, 0x06, 0xff, 0xfe, 0xc3, 0x28, 0x00, 0x80]),
        },
      );
      expect(response.ok, token ? "authenticated" : "anonymous").toBe(false);
    }

    const records = await eventually(async () => {
      const found = await callRecords();
      return sent.every((s) => found.has(s.requestId)) ? found : undefined;
    }, 20_000);
    // Late duplicates or dead letters would show up within a relay tick or two.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const settled = await callRecords();
    for (const { requestId } of sent) {
      expect(settled.get(requestId), requestId).toHaveLength(1);
      const [record] = records.get(requestId) ?? [];
      expect(record?.subject.length).toBeLessThanOrEqual(128);
      expect(record?.subject).toMatch(/^[A-Za-z0-9._:@?…-]*$/);
      expect(record?.payload).not.toContain("\\u0000");
    }
    expect(await deadLettered()).toBe(0);
  });

  test("auditoria stores an event with hostile text from any publisher, bounded and without NUL", async () => {
    const bus = await connectRabbitMqBus({
      url: testServers.amqpUrl,
      logger: createLogger({ service: "t", level: "silent" }),
    });
    const call = create(ChamadaRegistradaSchema, {
      service: "forjado",
      method: `metodo\u0000${"m".repeat(3_000)}`,
      actor: `ator\u0000\u001b`,
      target: `${"ab".repeat(1_500)}\u0000`,
      result: RpcCode.OK,
      time: timestampNow(),
      count: 1,
    });
    const ids = [randomUUID(), randomUUID()];
    await bus.publish([
      {
        id: ids[0] ?? "",
        type: ChamadaRegistradaSchema.typeName,
        routingKey: ChamadaRegistradaSchema.typeName,
        body: toBinary(ChamadaRegistradaSchema, call),
        headers: {},
        timestamp: new Date(),
      },
      {
        // An event type this build does not know, with a hostile actor header.
        id: ids[1] ?? "",
        type: `consorcio.desconhecido.v1.Evento\u001b[2J${"e".repeat(200)}`,
        routingKey: "consorcio.desconhecido.v1.Evento",
        body: new Uint8Array([0x0a, 0x01, 0x00]),
        headers: { actor: `\u0000${"z".repeat(3_000)}` },
        timestamp: new Date(),
      },
    ]);
    await bus.close();
    const rows = await eventually(async () => {
      const found = await auditoriaDb.query<{ type: string; subject: string; actor: string }>(
        "select type, subject, actor from audit_record where message_id = any($1)",
        [ids],
      );
      return found.length === 2 ? found : undefined;
    }, 20_000);
    for (const row of rows) {
      for (const text of [row.type, row.subject, row.actor]) {
        expect(text.length).toBeLessThanOrEqual(256);
        expect(text).not.toMatch(/\p{Cc}/u);
      }
    }
    expect(await deadLettered()).toBe(0);
  });
});
