// The broker is down when the service starts, or comes up after events were published:
// a private TCP proxy in front of the shared RabbitMQ plays the outage, so nothing else is disturbed.
import { randomUUID } from "node:crypto";
import net from "node:net";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EventBus } from "../src/bus.ts";
import { createLogger } from "../src/logging.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import { declareTopology } from "../src/service.ts";
import { deleteQueues, eventually, testServers } from "../src/testing.ts";
import { WidgetCriadoSchema, WidgetTocadoSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";
import { widgetService } from "./widget-service.ts";

const logger = createLogger({ service: "t", level: "silent" });
const broker = new URL(testServers.amqpUrl);

/** Forwards a port of its own to the real broker while open; closed, connections are refused. */
async function brokerProxy() {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(broker.port || 5672), broker.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
      socket.on("error", () => socket.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
  await close();
  return {
    url: `amqp://${broker.username}:${broker.password}@127.0.0.1:${port}`,
    open: () => new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve)),
    close,
  };
}

describe("a broker outage degrades, never stops", () => {
  let proxy: Awaited<ReturnType<typeof brokerProxy>>;
  let harness: WidgetHarness;
  let probe: EventBus;
  const seen = new Set<string>();
  const probeQueue = `probe.${randomUUID().slice(0, 8)}`;

  beforeAll(async () => {
    probe = await connectRabbitMqBus({ url: testServers.amqpUrl, logger });
    await probe.subscribe({
      queue: probeQueue,
      bindings: [WidgetCriadoSchema.typeName],
      maxAttempts: 1,
      retryDelayMs: 10,
      handler: async (message) => void seen.add(fromBinary(WidgetCriadoSchema, message.body).widgetId),
    });
    proxy = await brokerProxy();
  });
  afterAll(async () => {
    await harness?.stop();
    await proxy.close();
    await probe.close();
    await deleteQueues([probeQueue]);
  });

  test("the service starts and takes writes without the broker, and publishes them when it is back", async () => {
    const started = Date.now();
    harness = await startWidgetHarness({ AMQP_URL: proxy.url });
    expect(Date.now() - started).toBeLessThan(10_000);

    const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
    expect((await health.check({ service: "broker" })).status).toBe(Status.NOT_SERVING);

    const widgets = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    );
    const token = await harness.issuer.token({ roles: [Role.OPERADOR] });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { widget } = await widgets.createWidget(
        { name: `sem-broker-${i}`, amountCentavos: 1n },
        { headers: { authorization: `Bearer ${token}` } },
      );
      ids.push(widget?.id ?? "");
    }
    const pending = async () =>
      (await harness.db.query("select count(*)::int as n from platform_outbox where published_at is null"))[0]
        ?.n as number;
    expect(await pending()).toBeGreaterThanOrEqual(5);

    await proxy.open();
    await eventually(async () => ids.every((id) => seen.has(id)), 20_000);
    await eventually(async () => (await pending()) === 0);
    expect((await health.check({ service: "broker" })).status).toBe(Status.SERVING);
  });

  test("queues declared by migrate keep what was published before their consumer first ran", async () => {
    const queue = `platformtest.late.${randomUUID().slice(0, 8)}`;
    const env = {
      DATABASE_URL: "postgres://unused@127.0.0.1/unused",
      PORT: "0",
      AMQP_URL: testServers.amqpUrl,
      WIDGET_QUEUE: queue,
      EVENTS_MAX_ATTEMPTS: "3",
      EVENTS_RETRY_DELAY_MS: "50",
    };
    await declareTopology(widgetService, env, logger);
    const widgetId = randomUUID();
    await probe.publish([
      {
        id: randomUUID(),
        type: WidgetTocadoSchema.typeName,
        routingKey: WidgetTocadoSchema.typeName,
        body: toBinary(WidgetTocadoSchema, create(WidgetTocadoSchema, { widgetId, amount: 7 })),
        headers: {},
        timestamp: new Date(),
      },
    ]);
    const late = await startWidgetHarness({
      WIDGET_QUEUE: queue,
      EVENTS_MAX_ATTEMPTS: "3",
      EVENTS_RETRY_DELAY_MS: "50",
    });
    try {
      const row = await eventually(async () => {
        const [found] = await late.db.query("select total from widget_touch where widget_id = $1", [
          widgetId,
        ]);
        return found;
      });
      expect(row.total).toBe(7);
    } finally {
      await late.stop();
      await deleteQueues([queue]);
    }
  });
});
