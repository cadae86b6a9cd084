// Backends terminated under load: the service must answer Unavailable meanwhile and recover by itself.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { testServers } from "../src/testing.ts";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

describe("lost database connections", () => {
  let harness: WidgetHarness;
  let token: string;

  beforeAll(async () => {
    harness = await startWidgetHarness({
      DATABASE_POOL_MAX: "10",
      LOG_LEVEL: process.env.DEBUG_LOG ?? "silent",
    });
    token = await harness.issuer.token({ roles: [Role.OPERADOR] });
  });
  afterAll(() => harness.stop());

  const client = () =>
    createClient(WidgetService, createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }));
  const health = () => createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
  const terminateBackends = () =>
    harness.db.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [harness.db.name],
    );

  test("terminations under 12 concurrent writers: Unavailable meanwhile, recovery within seconds", async () => {
    const widgets = client();
    const codes = new Map<string, number>();
    let running = true;
    const writer = async (n: number) => {
      for (let i = 0; running; i++) {
        try {
          await widgets.createWidget(
            { name: `w-${n}-${i}`, amountCentavos: 100n, ownerId: "o" },
            { headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 },
          );
          codes.set("OK", (codes.get("OK") ?? 0) + 1);
        } catch (error) {
          const code = Code[ConnectError.from(error).code] ?? "?";
          codes.set(code, (codes.get(code) ?? 0) + 1);
        }
      }
    };
    const writers = Array.from({ length: 12 }, (_, n) => writer(n));
    const terminations = Number(process.env.TERMINATIONS ?? 8);
    for (let round = 0; round < terminations; round++) {
      await new Promise((resolve) => setTimeout(resolve, 150));
      await terminateBackends();
    }
    running = false;
    await Promise.all(writers);

    // Every failure while the connections died is retryable, never Internal.
    const failures = [...codes.keys()].filter((code) => code !== "OK");
    expect(failures.filter((code) => code !== "Unavailable")).toEqual([]);

    // Recovery: the next calls work and health answers SERVING within its deadline.
    const started = Date.now();
    let recovered = false;
    while (!recovered && Date.now() - started < 10_000) {
      try {
        await widgets.createWidget(
          { name: "after", amountCentavos: 1n, ownerId: "o" },
          { headers: { authorization: `Bearer ${token}` }, timeoutMs: 2_000 },
        );
        recovered = true;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    expect(recovered).toBe(true);
    console.info(
      `database loss: ${JSON.stringify(Object.fromEntries(codes))} during ${terminations} terminations; recovered in ${Date.now() - started} ms`,
    );
    const check = await health().check({ service: "" }, { timeoutMs: 2_000 });
    expect(check.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    // Nothing leaked: the pool is not left holding dead connections.
    const parallel = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        widgets.createWidget(
          { name: `p-${i}`, amountCentavos: 1n, ownerId: "o" },
          { headers: { authorization: `Bearer ${token}` }, timeoutMs: 5_000 },
        ),
      ),
    );
    expect(parallel).toHaveLength(20);
  });

  test("health answers within its deadline while every pooled connection is stuck", async () => {
    // A superuser holds the widget table: every write waits on it, until the pool is exhausted.
    const locker = new pg.Client({ connectionString: harness.db.url });
    await locker.connect();
    await locker.query("begin");
    await locker.query("lock table widget in access exclusive mode");
    const widgets = client();
    const stuck = Array.from({ length: 12 }, (_, i) =>
      widgets
        .createWidget(
          { name: `stuck-${i}`, amountCentavos: 1n, ownerId: "o" },
          { headers: { authorization: `Bearer ${token}` }, timeoutMs: 20_000 },
        )
        .then(
          () => "OK",
          (error) => Code[ConnectError.from(error).code],
        ),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = Date.now();
    const check = await health().check({ service: "" }, { timeoutMs: 3_000 });
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(check.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    expect((await health().check({ service: "liveness" }, { timeoutMs: 3_000 })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    await locker.query("rollback");
    await locker.end();
    // Calls that got a connection finish; those that waited past the acquire timeout are Unavailable.
    const outcomes = await Promise.all(stuck);
    expect(outcomes.filter((code) => code !== "OK" && code !== "Unavailable")).toEqual([]);
    expect((await health().check({ service: "" }, { timeoutMs: 3_000 })).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
  });

  test("a database that refuses connections is NOT_SERVING in time, and SERVING again when it is back", async () => {
    const admin = new pg.Client({ connectionString: testServers.adminDatabaseUrl });
    await admin.connect();
    try {
      await admin.query(`alter database "${harness.db.name}" with allow_connections false`);
      await admin.query("select pg_terminate_backend(pid) from pg_stat_activity where datname = $1", [
        harness.db.name,
      ]);
      const check = await health().check({ service: "database" }, { timeoutMs: 3_000 });
      expect(check.status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
      await expect(
        client().createWidget(
          { name: "refused", amountCentavos: 1n, ownerId: "o" },
          { headers: { authorization: `Bearer ${token}` }, timeoutMs: 10_000 },
        ),
      ).rejects.toMatchObject({ code: Code.Unavailable });
    } finally {
      await admin.query(`alter database "${harness.db.name}" with allow_connections true`);
      await admin.end();
    }
    const started = Date.now();
    let status = HealthCheckResponse_ServingStatus.NOT_SERVING;
    while (status !== HealthCheckResponse_ServingStatus.SERVING && Date.now() - started < 10_000) {
      status = (await health().check({ service: "" }, { timeoutMs: 3_000 })).status;
    }
    expect(status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });
});
