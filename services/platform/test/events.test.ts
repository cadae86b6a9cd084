import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EventBus, IncomingMessage } from "../src/bus.ts";
import { createLogger } from "../src/logging.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import { deleteQueues, eventually, testServers } from "../src/testing.ts";
import { WidgetCriadoSchema, WidgetTocadoSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

const logger = createLogger({ service: "test", level: "silent" });

describe("transactional outbox and idempotent consumers", () => {
  let harness: WidgetHarness;
  let probe: EventBus;
  const probeQueue = `probe.${randomUUID().slice(0, 8)}`;
  const received: IncomingMessage[] = [];
  let client: ReturnType<typeof createClient<typeof WidgetService>>;
  let token: string;

  beforeAll(async () => {
    harness = await startWidgetHarness();
    probe = await connectRabbitMqBus({ url: testServers.amqpUrl, logger });
    await probe.subscribe({
      queue: probeQueue,
      bindings: [WidgetCriadoSchema.typeName],
      maxAttempts: 1,
      retryDelayMs: 10,
      handler: async (message) => void received.push(message),
    });
    client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    );
    token = await harness.issuer.token({ roles: [Role.OPERADOR] });
  });
  afterAll(async () => {
    await probe.close();
    await harness.stop();
    await deleteQueues([probeQueue]);
  });
  const auth = () => ({ headers: { authorization: `Bearer ${token}` } });
  const widgetIdsSeen = () =>
    received.map((message) => fromBinary(WidgetCriadoSchema, message.body).widgetId);

  test("an event committed with its change is published once the transaction commits", async () => {
    const { widget } = await client.createWidget({ name: "publicado", amountCentavos: 100n }, auth());
    await eventually(async () => widgetIdsSeen().includes(widget?.id ?? "?"));
    const message = received.find((m) => fromBinary(WidgetCriadoSchema, m.body).widgetId === widget?.id);
    expect(message?.type).toBe("consorcio.platformtest.v1.WidgetCriado");
    expect(message?.headers["correlation-id"]).toBeTruthy();
    const [row] = await harness.db.query("select published_at from platform_outbox where id = $1", [
      message?.id,
    ]);
    expect(row?.published_at).toBeInstanceOf(Date);
  });

  test("an event written in a rolled-back transaction is never published", async () => {
    const name = `fail-after-write-${randomUUID().slice(0, 6)}`;
    await expect(client.createWidget({ name, amountCentavos: 1n }, auth())).rejects.toThrow(/internal error/);
    expect(await harness.db.query("select * from widget where name = $1", [name])).toHaveLength(0);
    // Flush the relay and give the broker time to deliver anything it had.
    await harness.service.context.relay.drain();
    const marker = await client.createWidget({ name: "marcador", amountCentavos: 1n }, auth());
    await eventually(async () => widgetIdsSeen().includes(marker.widget?.id ?? "?"));
    const names = received.map((m) => fromBinary(WidgetCriadoSchema, m.body).name);
    expect(names).not.toContain(name);
    const outbox = await harness.db.query("select payload from platform_outbox");
    const outboxNames = outbox.map((row) => fromBinary(WidgetCriadoSchema, row.payload).name);
    expect(outboxNames).not.toContain(name);
  });

  test("an event committed just before the process died is published after restart", async () => {
    const widgetId = randomUUID();
    const fixture = new URL("./fixtures/commit-and-die.ts", import.meta.url).pathname;
    const result = await promisify(execFile)(process.execPath, [fixture, harness.db.url, widgetId]).catch(
      (error: { stdout: string; stderr: string; signal: string }) => error,
    );
    expect(result.stdout, result.stderr).toBe("committed\n");
    expect((result as { signal?: string }).signal).toBe("SIGKILL");
    // The running relay plays the restarted process: it finds the committed row and publishes it.
    await eventually(async () => widgetIdsSeen().includes(widgetId));
    expect(widgetIdsSeen().filter((id) => id === widgetId)).toHaveLength(1);
  });

  test("a message delivered twice has one effect", async () => {
    const widgetId = randomUUID();
    const message = {
      id: randomUUID(),
      type: WidgetTocadoSchema.typeName,
      routingKey: WidgetTocadoSchema.typeName,
      body: toBinary(WidgetTocadoSchema, create(WidgetTocadoSchema, { widgetId, amount: 7 })),
      headers: {},
      timestamp: new Date(),
    };
    await probe.publish([message]);
    await probe.publish([message]);
    // A different message for the same widget does count: the key is the message id, not the content.
    await probe.publish([{ ...message, id: randomUUID() }]);
    await eventually(async () => {
      const [row] = await harness.db.query(
        "select total, deliveries from widget_touch where widget_id = $1",
        [widgetId],
      );
      return row?.deliveries === 2 ? row : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const [row] = await harness.db.query("select total, deliveries from widget_touch where widget_id = $1", [
      widgetId,
    ]);
    expect(row).toEqual({ total: 14, deliveries: 2 });
    const inbox = await harness.db.query(
      "select count(*)::int as n from platform_inbox where message_id = $1",
      [message.id],
    );
    expect(inbox[0]?.n).toBe(1);
  });

  test("a handler that keeps failing ends in the dead-letter queue after N attempts, with no effect", async () => {
    const widgetId = `poison-${randomUUID()}`;
    const id = randomUUID();
    await probe.publish([
      {
        id,
        type: WidgetTocadoSchema.typeName,
        routingKey: WidgetTocadoSchema.typeName,
        body: toBinary(WidgetTocadoSchema, create(WidgetTocadoSchema, { widgetId, amount: 1 })),
        headers: {},
        timestamp: new Date(),
      },
    ]);
    const queue = `platformtest.${harness.db.name}`;
    const dead = await eventually(async () => {
      const taken = await harness.service.context.bus.takeDeadLetters(queue);
      return taken.length > 0 ? taken : undefined;
    });
    expect(dead.map((m) => m.id)).toEqual([id]);
    expect(dead[0]?.attempt).toBe(3);
    expect(
      await harness.db.query("select * from widget_touch where widget_id = $1", [widgetId]),
    ).toHaveLength(0);
    expect(await harness.db.query("select * from platform_inbox where message_id = $1", [id])).toHaveLength(
      0,
    );
  });
});
