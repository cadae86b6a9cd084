// auditoria on a test clock: each record is stamped with the service clock's time.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { DadosAnonimizadosSchema } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { connectRabbitMqBus, createLogger } from "@consorcio/platform";
import { createTestClock } from "@consorcio/platform/clock.ts";
import {
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestService,
  type TestService,
  testServers,
} from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { service } from "../src/service.ts";

const queue = `auditoria.clock.${randomUUID().slice(0, 8)}`;
const clock = createTestClock(new Date("2031-07-01T09:00:00Z"));
let jwks: Awaited<ReturnType<typeof serveJwks>>;
let auditoria: TestService;

beforeAll(async () => {
  jwks = await serveJwks((await createTestIssuer()).jwks);
  auditoria = await startTestService(service, { JWKS_URL: jwks.url, AUDITORIA_QUEUE: queue }, { clock });
});
afterAll(async () => {
  await auditoria?.stop();
  await jwks?.close();
  await deleteQueues([queue]);
});

test("a record's time is the service clock's when it was appended, not the machine's", async () => {
  const bus = await connectRabbitMqBus({
    url: testServers.amqpUrl,
    logger: createLogger({ service: "t", level: "silent" }),
  });
  const publish = async (consorciadoId: string) =>
    bus.publish([
      {
        id: randomUUID(),
        type: DadosAnonimizadosSchema.typeName,
        routingKey: DadosAnonimizadosSchema.typeName,
        body: toBinary(DadosAnonimizadosSchema, create(DadosAnonimizadosSchema, { consorciadoId })),
        headers: { actor: "system" },
        timestamp: new Date("2026-01-01T00:00:00Z"),
      },
    ]);
  const recordedAt = (subject: string) =>
    eventually(async () => {
      const [row] = await auditoria.db.query<{ recorded_at: string }>(
        "select recorded_at from audit_record where subject = $1",
        [subject],
      );
      return row?.recorded_at;
    });
  try {
    // Published only once both ends are connected and the queue is bound.
    await eventually(async () => bus.healthy() && auditoria.service.context.bus.healthy());
    const first = randomUUID();
    await publish(first);
    expect(await recordedAt(first)).toBe("2031-07-01T09:00:00.000Z");
    await clock.advance(90_000);
    const second = randomUUID();
    await publish(second);
    expect(await recordedAt(second)).toBe("2031-07-01T09:01:30.000Z");
  } finally {
    await bus.close();
  }
});
