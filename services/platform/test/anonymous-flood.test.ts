// Anonymous clients cannot flood the append-only log: refusals before authentication are summed
// per (address, method, result) and interval, and unauthenticated calls are limited per address.
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  type ChamadaRegistrada,
  ChamadaRegistradaSchema,
} from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { afterAll, describe, expect, test } from "vitest";
import { createRefusalAudit } from "../src/audit.ts";
import { createLogger } from "../src/logging.ts";
import { createRateLimiter } from "../src/rate-limit.ts";
import { eventually } from "../src/testing.ts";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

const logger = createLogger({ service: "t", level: "silent" });

function refusal(clientIp: string, method = "pkg.S/M", result = RpcCode.UNAUTHENTICATED): ChamadaRegistrada {
  return create(ChamadaRegistradaSchema, {
    service: "s",
    method,
    result,
    clientIp,
    target: "alvo",
    time: timestampNow(),
    count: 1,
  });
}

describe("the refusal audit", () => {
  test("records the first refusal of a key at once and sums the others into one record", async () => {
    const written: ChamadaRegistrada[] = [];
    const audit = createRefusalAudit({
      intervalMs: 3_600_000,
      record: async (c) => void written.push(c),
      logger,
    });
    for (let i = 0; i < 50; i++) await audit.add(refusal("10.0.0.1"));
    await audit.add(refusal("10.0.0.1", "pkg.S/Outro"));
    await audit.add(refusal("10.0.0.1", "pkg.S/M", RpcCode.RESOURCE_EXHAUSTED));
    expect(written.map((c) => [c.method, c.result, c.count, c.target])).toEqual([
      ["pkg.S/M", RpcCode.UNAUTHENTICATED, 1, "alvo"],
      ["pkg.S/Outro", RpcCode.UNAUTHENTICATED, 1, "alvo"],
      ["pkg.S/M", RpcCode.RESOURCE_EXHAUSTED, 1, "alvo"],
    ]);
    await audit.flush();
    expect(written).toHaveLength(4);
    expect(written[3]).toMatchObject({ method: "pkg.S/M", count: 49, clientIp: "10.0.0.1", target: "" });
    expect(written[3]?.firstTime).toBeDefined();
    // A new interval starts afresh: its first refusal is recorded at once again.
    await audit.add(refusal("10.0.0.1"));
    expect(written).toHaveLength(5);
    await audit.close();
    expect(written).toHaveLength(5);
    // After close (shutdown), any late refusal is recorded on its own.
    await audit.add(refusal("10.0.0.1"));
    expect(written).toHaveLength(6);
  });

  test("keeps at most maxKeys addresses apart; the rest share a bucket per method", async () => {
    const written: ChamadaRegistrada[] = [];
    const audit = createRefusalAudit({
      intervalMs: 3_600_000,
      maxKeys: 3,
      record: async (c) => void written.push(c),
      logger,
    });
    for (let i = 0; i < 1_000; i++) await audit.add(refusal(`10.0.${i >> 8}.${i & 255}`));
    await audit.close();
    expect(written.length).toBeLessThanOrEqual(8);
    expect(written.reduce((sum, c) => sum + c.count, 0)).toBe(1_000);
    const overflow = written.filter((c) => c.clientIp === "");
    expect(overflow.reduce((sum, c) => sum + c.count, 0)).toBe(997);
  });

  test("writes the sums when the interval ends, without a flush", async () => {
    const written: ChamadaRegistrada[] = [];
    const audit = createRefusalAudit({ intervalMs: 200, record: async (c) => void written.push(c), logger });
    for (let i = 0; i < 10; i++) await audit.add(refusal("10.0.0.2"));
    await eventually(async () => written.length === 2);
    expect(written.map((c) => c.count)).toEqual([1, 9]);
    await audit.close();
  });
});

test("the rate limiter allows perMinute calls per key, refills with time and keeps keys apart", () => {
  let now = 0;
  const limiter = createRateLimiter({ perMinute: 3, now: () => now });
  expect([1, 2, 3, 4].map(() => limiter.take("a"))).toEqual([true, true, true, false]);
  expect(limiter.take("b")).toBe(true);
  now += 20_000;
  expect([limiter.take("a"), limiter.take("a")]).toEqual([true, false]);
});

const codeOf = (call: Promise<unknown>) =>
  call.then(
    () => "OK" as const,
    (error) => ConnectError.from(error).code,
  );

async function callRecords(harness: WidgetHarness): Promise<ChamadaRegistrada[]> {
  return (
    await harness.db.query("select payload from platform_outbox where event_type = $1", [
      ChamadaRegistradaSchema.typeName,
    ])
  ).map((row) => fromBinary(ChamadaRegistradaSchema, row.payload));
}

describe("a service flooded by anonymous calls", () => {
  let harness: WidgetHarness | undefined;
  afterAll(() => harness?.stop());

  test("1,000 anonymous refusals leave a few records whose counts sum to 1,000", async () => {
    // The default limit, and an interval longer than the test: the sums are written on shutdown.
    harness = await startWidgetHarness({ ANONYMOUS_CALLS_PER_MINUTE: "300" });
    const client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    );
    const source = "10.5.5.5";
    const codes: Array<Code | "OK"> = [];
    for (let batch = 0; batch < 10; batch++) {
      codes.push(
        ...(await Promise.all(
          Array.from({ length: 100 }, () =>
            codeOf(client.createWidget({}, { headers: { "x-forwarded-for": source } })),
          ),
        )),
      );
    }
    expect(new Set(codes)).toEqual(new Set([Code.Unauthenticated, Code.ResourceExhausted]));
    const fromSource = async () =>
      (await callRecords(harness as WidgetHarness)).filter((c) => c.clientIp === source);
    // Until the interval ends, only the first refusal of each outcome is written.
    expect((await fromSource()).map((c) => [c.result, c.count]).sort()).toEqual([
      [RpcCode.UNAUTHENTICATED, 1],
      [RpcCode.RESOURCE_EXHAUSTED, 1],
    ]);
    await harness.service.stop();
    const records = await fromSource();
    expect(records.length).toBeLessThanOrEqual(4);
    expect(records.reduce((sum, c) => sum + c.count, 0)).toBe(1_000);
    for (const result of [RpcCode.UNAUTHENTICATED, RpcCode.RESOURCE_EXHAUSTED]) {
      const counted = records.filter((c) => c.result === result).reduce((sum, c) => sum + c.count, 0);
      // Connect's codes are google.rpc.Code's numbers.
      const answered = codes.filter((c) => (c as number) === result).length;
      expect(counted, RpcCode[result]).toBe(answered);
    }
    const summed = records.filter((c) => c.count > 1);
    for (const record of summed) {
      expect(record).toMatchObject({
        actor: "",
        target: "",
        requestId: "",
        method: "consorcio.platformtest.v1.WidgetService/CreateWidget",
      });
      expect(timestampDate(record.firstTime ?? timestampNow()).getTime()).toBeLessThanOrEqual(
        timestampDate(record.time ?? timestampNow()).getTime(),
      );
    }
    await harness.stop();
    harness = undefined;
  });

  test("a flooding address gets ResourceExhausted; other addresses and valid tokens do not", async () => {
    harness = await startWidgetHarness({
      ANONYMOUS_CALLS_PER_MINUTE: "20",
      AUDIT_REFUSALS_INTERVAL_SECONDS: "1",
    });
    const operador = await harness.issuer.token({ roles: [Role.OPERADOR] });
    const client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    );
    const from = (source: string, token?: string) => ({
      headers: { "x-forwarded-for": source, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });
    const flooder = "10.6.6.6";
    const codes: Array<Code | "OK"> = [];
    for (let i = 0; i < 30; i++) codes.push(await codeOf(client.createWidget({}, from(flooder))));
    expect(codes.slice(0, 20).every((c) => c === Code.Unauthenticated)).toBe(true);
    expect(codes.slice(20).every((c) => c === Code.ResourceExhausted)).toBe(true);
    // Public reads count too; a bad token is refused as the limit, not verified again and again.
    expect(await codeOf(client.ping({}, from(flooder)))).toBe(Code.ResourceExhausted);
    expect(await codeOf(client.createWidget({}, from(flooder, "not-a-jwt")))).toBe(Code.ResourceExhausted);
    // Someone else is not held back, nor is a valid token from the flooding address.
    expect(await codeOf(client.ping({}, from("10.7.7.7")))).toBe("OK");
    expect(await codeOf(client.createWidget({}, from("10.7.7.7")))).toBe(Code.Unauthenticated);
    expect(
      await codeOf(client.createWidget({ name: "do flood", amountCentavos: 1n }, from(flooder, operador))),
    ).toBe("OK");
    // Health probes are left alone.
    const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
    expect((await health.check({ service: "" }, from(flooder))).status).toBe(
      HealthCheckResponse_ServingStatus.SERVING,
    );
    // The interval ends: every refusal of the flooding address is counted, with the service running.
    const sum = async () =>
      (await callRecords(harness as WidgetHarness))
        .filter((c) => c.clientIp === flooder && c.result !== RpcCode.OK)
        .reduce((total, c) => total + c.count, 0);
    await eventually(async () => (await sum()) === 31, 10_000);
  });
});
