// Stops and starts the shared RabbitMQ: runs alone, after the other tests (vitest.chaos.config.ts).
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { EventBus } from "../src/bus.ts";
import { createLogger } from "../src/logging.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import { deleteQueues, eventually, testServers } from "../src/testing.ts";
import { WidgetCriadoSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

const run = promisify(execFile);
let harness: WidgetHarness;
let probe: EventBus;
const probeQueue = `probe.${randomUUID().slice(0, 8)}`;
const seen = new Set<string>();

beforeAll(async () => {
  harness = await startWidgetHarness();
  probe = await connectRabbitMqBus({
    url: testServers.amqpUrl,
    logger: createLogger({ service: "t", level: "silent" }),
  });
  await probe.subscribe({
    queue: probeQueue,
    bindings: [WidgetCriadoSchema.typeName],
    maxAttempts: 1,
    retryDelayMs: 10,
    handler: async (message) => void seen.add(fromBinary(WidgetCriadoSchema, message.body).widgetId),
  });
});
afterAll(async () => {
  await run("rabbitmqctl", ["start_app"]).catch(() => undefined);
  await probe.close();
  await harness.stop();
  await deleteQueues([probeQueue]);
});

test("publishing through a RabbitMQ restart loses nothing", async () => {
  const client = createClient(
    WidgetService,
    createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
  );
  const token = await harness.issuer.token({ roles: [Role.OPERADOR] });
  const created: string[] = [];
  let writing = true;
  // Writes keep being acknowledged while the broker is down: they wait in the outbox.
  const writer = (async () => {
    while (writing) {
      const { widget } = await client.createWidget(
        { name: `caos-${created.length}`, amountCentavos: 1n },
        { headers: { authorization: `Bearer ${token}` } },
      );
      created.push(widget?.id ?? "");
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();
  await eventually(async () => created.length >= 20);
  await run("rabbitmqctl", ["stop_app"]);
  await eventually(async () => !harness.service.context.bus.healthy());
  const duringOutage = created.length;
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  expect(created.length).toBeGreaterThan(duringOutage);
  await run("rabbitmqctl", ["start_app"]);
  await eventually(async () => harness.service.context.bus.healthy(), 60_000);
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  writing = false;
  await writer;

  await eventually(async () => created.every((id) => seen.has(id)), 60_000);
  expect(created.length).toBeGreaterThan(40);
  // Rows whose publish failed in the outage may have reached the broker unconfirmed: they are
  // published again (consumers dedupe), and none stays behind.
  await eventually(async () => {
    const [pending] = await harness.db.query<{ n: number }>(
      "select count(*)::int as n from platform_outbox where published_at is null",
    );
    return pending?.n === 0;
  }, 30_000);
});
