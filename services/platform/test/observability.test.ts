// Traces and metrics of a real service: one trace from an RPC through the outbox and RabbitMQ to
// the consumer's transaction; /metrics parsed as Prometheus text holding every platform series.
import { randomUUID } from "node:crypto";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { createServer as createNetServer } from "node:net";
import { Writable } from "node:stream";
import { create, toBinary } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { connectNodeAdapter, createConnectTransport } from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { on } from "../src/consumer.ts";
import { createLogger } from "../src/logging.ts";
import type { ServiceDefinition } from "../src/service.ts";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestService,
  type TestService,
} from "../src/testing.ts";
import {
  activeTraceparent,
  createTracing,
  disabledTracing,
  otlpTracesUrl,
  samplerFromEnv,
} from "../src/tracing.ts";
import { WidgetCriadoSchema, WidgetTocadoSchema } from "./gen/consorcio/platformtest/v1/widget_pb.js";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { FAIL_AFTER_WRITE, POISON, widgetService } from "./widget-service.ts";

const TRACE_ID = randomUUID().replaceAll("-", "");
const CALLER_SPAN = "00f067aa0ba902b7";

interface MetricFamily {
  name: string;
  type: string;
  metrics: Array<{ labels?: Record<string, string>; value?: string; count?: string; buckets?: unknown }>;
}

describe("observability", () => {
  const exporter = new InMemorySpanExporter();
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger({
    service: "platformtest",
    level: "debug",
    destination: new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    }),
  });
  let running: TestService;
  let queue: string;
  let client: ReturnType<typeof createClient<typeof WidgetService>>;
  let token: string;
  let admin: string;
  let closeJwks: () => Promise<void>;
  let tokenServer: http2.Http2Server;
  const consumed: string[] = [];

  beforeAll(async () => {
    const db = await createTestDatabase("platform");
    queue = `platformtest.${db.name}`;
    const issuer = await createTestIssuer();
    const jwks = await serveJwks(issuer.jwks);
    closeJwks = jwks.close;
    // The widget service, also consuming its own WidgetCriado: an RPC's event reaches a consumer.
    // identidade's client-credentials grant, answered with the test issuer's tokens.
    tokenServer = http2.createServer(
      connectNodeAdapter({
        routes(router) {
          router.service(AuthService, {
            async token() {
              return { accessToken: await issuer.token({ roles: [Role.SERVICE] }), expiresIn: 3600 };
            },
          });
        },
      }),
    );
    await new Promise<void>((resolve) => tokenServer.listen(0, "127.0.0.1", resolve));
    const tokenPort = (tokenServer.address() as AddressInfo).port;
    // The service calls itself: its clients need its address before it starts.
    const port = await new Promise<number>((resolve) => {
      const probe = createNetServer().listen(0, "127.0.0.1", () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const traced: ServiceDefinition<NonNullable<typeof widgetService.env>> = {
      ...widgetService,
      calls: [WidgetService],
      consumers: (context) => [
        ...(widgetService.consumers?.(context, undefined) ?? []),
        {
          queue: `${context.config.WIDGET_QUEUE}.criado`,
          handlers: [
            on(WidgetCriadoSchema, async ({ em }, event) => {
              await em.execute("select 1");
              consumed.push(event.widgetId);
            }),
          ],
        },
      ],
    };
    running = await startTestService(
      traced,
      {
        JWKS_URL: jwks.url,
        WIDGET_QUEUE: queue,
        PORT: String(port),
        PLATFORMTEST_URL: `http://127.0.0.1:${port}`,
        IDENTIDADE_URL: `http://127.0.0.1:${tokenPort}`,
        SERVICE_CLIENT_SECRET: "segredo-de-teste-com-tamanho",
      },
      { db, logger, tracing: { spanProcessors: [new SimpleSpanProcessor({ exporter })] } },
    );
    client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
    );
    running.service.context.metrics.countEvents(
      WidgetCriadoSchema,
      "consorcio_widgets_criados_total",
      "Widgets criados.",
      {
        names: ["origem"],
        of: () => ({ origem: "teste" }),
      },
    );
    // A second counter of the same event, counting a value per event (a batch event's size).
    running.service.context.metrics.countEvents(
      WidgetCriadoSchema,
      "consorcio_widget_pontos_total",
      "Pontos.",
      {
        names: [],
        of: () => ({}),
        value: () => 10,
      },
    );
    token = await issuer.token({ roles: [Role.OPERADOR] });
    admin = await issuer.token({ roles: [Role.ADMIN] });
  });
  afterAll(async () => {
    await running?.stop();
    await closeJwks?.();
    await new Promise((resolve) => tokenServer?.close(resolve));
    await deleteQueues([queue]);
  });

  const spansOf = (traceId: string) =>
    exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
  const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;

  test("one trace from an RPC through the outbox and RabbitMQ to the consumer's transaction", async () => {
    const { widget } = await client.createWidget(
      { name: "rastreado", amountCentavos: 5n },
      { headers: { authorization: `Bearer ${token}`, traceparent: `00-${TRACE_ID}-${CALLER_SPAN}-01` } },
    );
    await eventually(async () => consumed.includes(widget?.id ?? "?"));
    await eventually(
      async () =>
        spansOf(TRACE_ID).some((s) => s.kind === SpanKind.CONSUMER && s.name.endsWith("WidgetCriado")) &&
        spansOf(TRACE_ID).filter((s) => s.name === "db.transaction").length >= 2,
    );
    const spans = spansOf(TRACE_ID);
    const one = (predicate: (span: ReadableSpan) => boolean) => {
      const found = spans.filter(predicate);
      expect(found).toHaveLength(1);
      return found[0] as ReadableSpan;
    };
    const server = one((s) => s.kind === SpanKind.SERVER);
    expect(server.name).toBe("consorcio.platformtest.v1.WidgetService/CreateWidget");
    expect(parentOf(server)).toBe(CALLER_SPAN);
    expect(server.attributes["rpc.system"]).toBe("connect_rpc");
    expect(server.attributes["rpc.method"]).toBe("CreateWidget");
    expect(server.attributes["rpc.grpc.status_code"]).toBe(0);
    const rpcTx = one((s) => s.name === "db.transaction" && s.attributes["consorcio.tx.kind"] === "rpc");
    expect(parentOf(rpcTx)).toBe(server.spanContext().spanId);
    const producer = one((s) => s.kind === SpanKind.PRODUCER && s.name.endsWith("WidgetCriado"));
    expect(parentOf(producer)).toBe(rpcTx.spanContext().spanId);
    const consumer = one((s) => s.kind === SpanKind.CONSUMER);
    expect(consumer.name).toBe("process consorcio.platformtest.v1.WidgetCriado");
    expect(consumer.attributes["messaging.destination.name"]).toBe(`${queue}.criado`);
    expect(parentOf(consumer)).toBe(producer.spanContext().spanId);
    const consumeTx = one(
      (s) => s.name === "db.transaction" && s.attributes["consorcio.tx.kind"] === "consume",
    );
    expect(parentOf(consumeTx)).toBe(consumer.spanContext().spanId);
    // The relay's batch is a trace of its own, linked to the transactions that wrote its rows.
    const batch = exporter
      .getFinishedSpans()
      .find(
        (s) =>
          s.name === "outbox publish" &&
          s.links.some((link) => link.context.spanId === rpcTx.spanContext().spanId),
      );
    expect(batch).toBeDefined();
    expect(parentOf(producer)).not.toBe(batch?.spanContext().spanId);
    // Log lines written inside the call carry its trace.
    const rpcLine = lines.find((line) => line.msg === "rpc" && line.trace_id === TRACE_ID);
    expect(rpcLine?.span_id).toBe(server.spanContext().spanId);
  });

  test("a platform client call is a client span whose traceparent makes the peer's server span its child", async () => {
    const before = exporter.getFinishedSpans().length;
    await running.service.context.clients.get(WidgetService).ping({ message: "eco" });
    const spans = exporter.getFinishedSpans().slice(before);
    const clientSpan = spans.find((s) => s.kind === SpanKind.CLIENT && s.name.endsWith("WidgetService/Ping"));
    expect(clientSpan?.attributes["rpc.grpc.status_code"]).toBe(0);
    const serverSpan = spans.find(
      (s) => s.kind === SpanKind.SERVER && s.spanContext().traceId === clientSpan?.spanContext().traceId,
    );
    expect(serverSpan?.name).toBe("consorcio.platformtest.v1.WidgetService/Ping");
    expect(parentOf(serverSpan as ReadableSpan)).toBe(clientSpan?.spanContext().spanId);
  });

  test("a refused call's server span is not an error; an internal one is", async () => {
    await expect(client.createWidget({ name: "sem-token", amountCentavos: 1n })).rejects.toThrow();
    await expect(client.explode({}, { headers: { authorization: `Bearer ${admin}` } })).rejects.toThrow();
    const servers = exporter.getFinishedSpans().filter((s) => s.kind === SpanKind.SERVER);
    const refused = servers.find((s) => s.attributes["rpc.grpc.status_code"] === 16);
    const exploded = servers.find((s) => s.name.endsWith("/Explode"));
    expect(refused?.status.code).toBe(0);
    expect(exploded?.attributes["rpc.grpc.status_code"]).toBe(13);
    expect(exploded?.status.code).toBe(2);
  });

  test("/metrics parses as Prometheus text and holds every platform series", async () => {
    const service = running.service;
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const requestId = uuidv7();
    await client.createWidget({ name: "uma-vez", amountCentavos: 1n, requestId }, auth);
    await client.createWidget({ name: "uma-vez", amountCentavos: 1n, requestId }, auth);
    await expect(
      client.createWidget({ name: `${FAIL_AFTER_WRITE}-x`, amountCentavos: 1n }, auth),
    ).rejects.toThrow();
    await service.context.cache.get("absent");
    await service.context.cache.set("present", "1", 60);
    await service.context.cache.get("present");
    await service.context.clients.get(WidgetService).ping({});
    service.context.metrics
      .counter("lances_registrados_total", "Lances registrados.", ["tipo"])
      .inc({ tipo: "livre" });
    // A poison message: retried, then dead-lettered.
    const poison = create(WidgetTocadoSchema, { widgetId: `${POISON}-${randomUUID()}`, amount: 1 });
    await service.context.bus.publish([
      {
        id: uuidv7(),
        type: WidgetTocadoSchema.typeName,
        routingKey: WidgetTocadoSchema.typeName,
        body: toBinary(WidgetTocadoSchema, poison),
        headers: {},
        timestamp: new Date(),
      },
    ]);
    let text = "";
    const scrape = async () => {
      const response = await fetch(`${service.url}/metrics`);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
      text = await response.text();
      const families = parsePrometheusTextFormat(text) as MetricFamily[];
      return new Map(families.map((family) => [family.name, family]));
    };
    // The parser folds a labelled histogram into one sample: its per-label _count is read off the text.
    const histogramCount = (name: string, labels: Record<string, string>) => {
      const line = text
        .split("\n")
        .find(
          (candidate) =>
            candidate.startsWith(`${name}_count{`) &&
            Object.entries(labels).every(([key, value]) => candidate.includes(`${key}="${value}"`)),
        );
      return Number(line?.split(" ").at(-1));
    };
    const sample = (
      families: Map<string, MetricFamily>,
      name: string,
      labels: Record<string, string> = {},
    ): MetricFamily["metrics"][number] | undefined =>
      families
        .get(name)
        ?.metrics.find((metric) =>
          Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value),
        );
    await eventually(
      async () => Number(sample(await scrape(), "events_dead_lettered_total", { queue })?.value) === 1,
    );
    // Gauges are cached a few seconds: wait for a read after the dead-lettering.
    await eventually(
      async () => Number(sample(await scrape(), "events_dead_letter_messages", { queue })?.value) === 1,
      15_000,
    );
    const families = await scrape();
    const types: Record<string, string> = {
      rpc_server_handled_total: "COUNTER",
      rpc_server_handling_seconds: "HISTOGRAM",
      rpc_client_handled_total: "COUNTER",
      rpc_client_handling_seconds: "HISTOGRAM",
      outbox_pending_messages: "GAUGE",
      outbox_oldest_pending_age_seconds: "GAUGE",
      outbox_published_total: "COUNTER",
      events_processed_total: "COUNTER",
      events_processing_seconds: "HISTOGRAM",
      events_delay_seconds: "HISTOGRAM",
      events_queue_messages: "GAUGE",
      events_dead_letter_messages: "GAUGE",
      events_retries_total: "COUNTER",
      events_dead_lettered_total: "COUNTER",
      idempotent_replays_total: "COUNTER",
      cache_requests_total: "COUNTER",
      db_pool_connections: "GAUGE",
      db_pool_waiting_requests: "GAUGE",
      db_transactions_in_flight: "GAUGE",
      db_transaction_seconds: "HISTOGRAM",
      health_serving: "GAUGE",
      nodejs_eventloop_lag_seconds: "GAUGE",
      lances_registrados_total: "COUNTER",
      consorcio_widgets_criados_total: "COUNTER",
    };
    for (const [name, type] of Object.entries(types)) {
      expect(families.get(name)?.type, name).toBe(type);
      expect(families.get(name)?.metrics.length, name).toBeGreaterThan(0);
    }
    const created = { rpc_service: WidgetService.typeName, rpc_method: "CreateWidget", code: "ok" };
    expect(Number(sample(families, "rpc_server_handled_total", created)?.value)).toBeGreaterThanOrEqual(3);
    expect(histogramCount("rpc_server_handling_seconds", created)).toBeGreaterThanOrEqual(3);
    expect(histogramCount("rpc_client_handling_seconds", { rpc_method: "Ping" })).toBe(2);
    expect(histogramCount("events_processing_seconds", { queue, outcome: "error" })).toBe(3);
    expect(histogramCount("events_delay_seconds", { queue: `${queue}.criado` })).toBeGreaterThanOrEqual(1);
    expect(
      histogramCount("db_transaction_seconds", { kind: "consume", outcome: "committed" }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(families, "rpc_server_handled_total", { code: "unauthenticated" })).toBeDefined();
    expect(
      Number(sample(families, "rpc_client_handled_total", { rpc_method: "Ping", code: "ok" })?.value),
    ).toBe(2);
    expect(
      Number(
        sample(families, "idempotent_replays_total", { method: `${WidgetService.typeName}/CreateWidget` })
          ?.value,
      ),
    ).toBe(1);
    expect(Number(sample(families, "cache_requests_total", { result: "hit" })?.value)).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      Number(sample(families, "cache_requests_total", { result: "miss" })?.value),
    ).toBeGreaterThanOrEqual(1);
    expect(Number(sample(families, "events_retries_total", { queue })?.value)).toBe(2);
    expect(
      Number(sample(families, "events_processed_total", { queue: `${queue}.criado`, outcome: "ok" })?.value),
    ).toBeGreaterThanOrEqual(1);
    expect(Number(sample(families, "events_queue_messages", { queue })?.value)).toBe(0);
    expect(Number(sample(families, "outbox_published_total")?.value)).toBeGreaterThanOrEqual(3);
    expect(Number(sample(families, "outbox_pending_messages")?.value)).toBeGreaterThanOrEqual(0);
    expect(Number(sample(families, "db_pool_connections", { state: "max" })?.value)).toBeGreaterThan(0);
    expect(sample(families, "db_pool_connections", { state: "idle" })).toBeDefined();
    expect(Number(sample(families, "health_serving", { check: "" })?.value)).toBe(1);
    expect(Number(sample(families, "health_serving", { check: "database" })?.value)).toBe(1);
    expect(
      sample(families, "lances_registrados_total", { tipo: "livre", service: "platformtest" })?.value,
    ).toBe("1");
    // The first trace's widget and the first "uma-vez": not the replay, not the rolled-back one.
    expect(sample(families, "consorcio_widgets_criados_total", { origem: "teste" })?.value).toBe("2");
    expect(sample(families, "consorcio_widget_pontos_total")?.value).toBe("20");
    expect((await running.service.context.bus.takeDeadLetters(queue)).length).toBe(1);
  });

  test("/metrics answers GET only", async () => {
    const response = await fetch(`${running.service.url}/metrics`, { method: "POST" });
    expect(response.status).toBe(405);
  });
});

describe("tracing configuration", () => {
  const logger = createLogger({ service: "test", level: "silent" });

  test("off without OTEL endpoint, TRACE_SLOW_MS or processors; on with an endpoint", async () => {
    expect(createTracing({ service: "x", env: {}, logger })).toBe(disabledTracing);
    expect(
      createTracing({
        service: "x",
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" },
        logger,
      }),
    ).toBe(disabledTracing);
    const on = createTracing({
      service: "x",
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318/" },
      logger,
    });
    expect(on.enabled).toBe(true);
    await on.shutdown();
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/" })).toBe(
      "http://collector:4318/v1/traces",
    );
    expect(otlpTracesUrl({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/custom" })).toBe(
      "http://c:4318/custom",
    );
  });

  test("the sampler is the one OTEL_TRACES_SAMPLER names, with its ratio", () => {
    expect(samplerFromEnv({}).toString()).toMatch(/ParentBased\{root=AlwaysOnSampler/);
    expect(
      samplerFromEnv({
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.1",
      }).toString(),
    ).toMatch(/TraceIdRatioBased\{0\.1\}/);
    expect(() =>
      samplerFromEnv({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "2" }),
    ).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(() => samplerFromEnv({ OTEL_TRACES_SAMPLER: "nope" })).toThrow(/unknown sampler/);
  });

  test("TRACE_SLOW_MS logs a slow root span with the spans under it", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const slowLogger = createLogger({
      service: "test",
      destination: new Writable({
        write(chunk, _encoding, done) {
          lines.push(JSON.parse(String(chunk)));
          done();
        },
      }),
    });
    const tracing = createTracing({ service: "x", env: { TRACE_SLOW_MS: "20" }, logger: slowLogger });
    expect(activeTraceparent()).toBeUndefined();
    await tracing.inSpan("fast", {}, async (span) => {
      expect(activeTraceparent()).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
    });
    await tracing.inSpan("slow", {}, async () => {
      await tracing.inSpan("inner", {}, () => new Promise((resolve) => setTimeout(resolve, 30)));
    });
    await tracing.shutdown();
    const slow = lines.filter((line) => line.msg === "slow call");
    expect(slow.map((line) => line.span)).toEqual(["slow"]);
    expect(((slow[0]?.spans ?? []) as Array<{ name: string }>).map((span) => span.name)).toEqual(["inner"]);
  });
});
