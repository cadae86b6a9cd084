// A two-step saga across two services: widget (step one, and the end) and sagatest (step two, in a
// child process that is killed mid-step). Duplicate deliveries and the kill end in one outcome per step.
import { type ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { EventBus, OutgoingMessage } from "../src/bus.ts";
import { createLogger } from "../src/logging.ts";
import { connectRabbitMqBus } from "../src/rabbitmq-bus.ts";
import {
  createTestDatabase,
  deleteQueues,
  eventually,
  type TestDatabase,
  testServers,
} from "../src/testing.ts";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

const logger = createLogger({ service: "t", level: "silent" });

describe("a saga between two services", () => {
  let widgets: WidgetHarness;
  let sagaDb: TestDatabase;
  let probe: EventBus;
  let child: ChildProcess | undefined;
  const sagaQueue = `sagatest.${randomUUID().slice(0, 8)}`;

  const startSaga = async (env: Record<string, string> = {}) => {
    const fixture = new URL("./fixtures/run-saga.ts", import.meta.url).pathname;
    const started = spawn(process.execPath, [fixture], {
      env: {
        ...process.env,
        DATABASE_URL: sagaDb.url,
        AMQP_URL: testServers.amqpUrl,
        REDIS_URL: testServers.redisUrl,
        PORT: "0",
        HOST: "127.0.0.1",
        MIGRATE_ON_START: "true",
        LOG_LEVEL: "silent",
        EVENTS_MAX_ATTEMPTS: "5",
        EVENTS_RETRY_DELAY_MS: "50",
        SAGA_QUEUE: sagaQueue,
        ...env,
      },
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve, reject) => {
      started.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
      started.once("exit", (code, signal) => reject(new Error(`saga service exited: ${code ?? signal}`)));
    });
    child = started;
    return started;
  };

  beforeAll(async () => {
    widgets = await startWidgetHarness();
    sagaDb = await createTestDatabase("saga");
    probe = await connectRabbitMqBus({ url: testServers.amqpUrl, logger, waitForConnectMs: 10_000 });
  });
  afterAll(async () => {
    child?.kill("SIGTERM");
    await probe.close();
    await widgets.stop();
    await sagaDb.drop();
    await deleteQueues([sagaQueue]);
  });

  test("duplicate deliveries and a kill mid-step leave exactly one outcome per step", async () => {
    const dying = await startSaga({ SAGA_KILL_ON: "die-" });
    const died = new Promise<string | null>((resolve) =>
      dying.once("exit", (_code, signal) => resolve(signal)),
    );
    const client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: widgets.service.url, httpVersion: "2" }),
    );
    const token = await widgets.issuer.token({ roles: [Role.OPERADOR] });
    const create = async (name: string) =>
      (
        await client.createWidget(
          { name, amountCentavos: 1n },
          { headers: { authorization: `Bearer ${token}` } },
        )
      ).widget?.id ?? "";
    const ids = [await create("ok-1"), await create("die-1"), await create("ok-2")];
    expect(await died).toBe("SIGKILL");
    await startSaga();

    const outcome = async () => {
      const steps = await sagaDb.query<{ widget_id: string; applied: number }>(
        "select widget_id, applied from saga_step",
      );
      const touches = await widgets.db.query<{ widget_id: string; total: number; deliveries: number }>(
        "select widget_id, total, deliveries from widget_touch",
      );
      return ids.map((id) => ({
        step2: steps.find((row) => row.widget_id === id)?.applied,
        end: touches.find((row) => row.widget_id === id)?.deliveries,
      }));
    };
    const once = ids.map(() => ({ step2: 1, end: 1 }));
    await eventually(async () => JSON.stringify(await outcome()) === JSON.stringify(once), 30_000);

    // Every message of both steps delivered twice more, same ids: nothing changes.
    const published = async (db: TestDatabase) =>
      (
        await db.query<{
          id: string;
          event_type: string;
          routing_key: string;
          payload: Buffer;
          headers: Record<string, string>;
          created_at: Date;
        }>("select id, event_type, routing_key, payload, headers, created_at from platform_outbox")
      )
        .filter((row) => !row.event_type.endsWith("ChamadaRegistrada"))
        .map(
          (row): OutgoingMessage => ({
            id: row.id,
            type: row.event_type,
            routingKey: row.routing_key,
            body: new Uint8Array(row.payload),
            headers: row.headers,
            timestamp: row.created_at,
          }),
        );
    const again = [...(await published(widgets.db)), ...(await published(sagaDb))];
    expect(again.length).toBeGreaterThanOrEqual(6);
    await probe.publish([...again, ...again]);
    // A widget created after the duplicates runs the saga behind them in the same queues.
    const sentinel = await create("ok-3");
    await eventually(async () => {
      const [row] = await widgets.db.query("select 1 from widget_touch where widget_id = $1", [sentinel]);
      return row;
    }, 30_000);
    expect(await outcome()).toEqual(once);
    // Step two's event names the step-one message that caused it.
    const [caused] = await sagaDb.query<{ headers: Record<string, string> }>(
      "select headers from platform_outbox where event_type like '%WidgetTocado' limit 1",
    );
    expect(caused?.headers["causation-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
