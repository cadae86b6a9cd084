// Tracing overhead: the same Ping (Connect binary, with a token: the whole interceptor chain) on
// the widget service with tracing off, then on with the sampler at 10% (parentbased_traceidratio
// 0.1, the production setting) and at 100%, each exporting OTLP/protobuf over HTTP to a sink in
// this process (so the server pays for batching and serialization, not for a collector). The ratio
// that matters is the server's CPU per call against tracing off. Target: under 1.10× at 10%.
// An in-process loop puts one server span at 10% at ≈ 6 µs (of ≈ 270 µs a call): what the
// process-to-process ratio shows beyond that is the shared machine's noise (see the A/A row).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  PingRequestSchema,
  PingResponseSchema,
  WidgetService,
} from "../services/platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { type ServerChild, startChild } from "./lib/child.ts";
import { measureCase } from "./lib/measure.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { TracedWidgetInfo } from "./servers/widget-traced.ts";

const GROUP = "tracing";
const OFF = "platform Ping + JWT, tracing off";

/** An OTLP/HTTP receiver that accepts every export and counts the bytes. */
async function startOtlpSink(): Promise<{ url: string; bytes: () => number; close(): Promise<void> }> {
  let bytes = 0;
  const server = createServer((req, res) => {
    req.on("data", (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "application/x-protobuf" });
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bytes: () => bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const ping = toBinary(PingRequestSchema, create(PingRequestSchema, { message: "ping" }));
  const pong = toBinary(PingResponseSchema, create(PingResponseSchema, { message: "ping" }));
  const sink = await startOtlpSink();
  const cases: Array<[name: string, env: Record<string, string>]> = [
    [OFF, {}],
    // A/A: a second process with tracing off shows how much of a ratio is the machine's noise.
    ["tracing off again (A/A: the noise of this run)", {}],
    [
      "tracing on, parentbased_traceidratio 0.1",
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
        OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
        OTEL_TRACES_SAMPLER_ARG: "0.1",
      },
    ],
    [
      "tracing on, always_on (every call exported)",
      { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: "always_on" },
    ],
  ];
  // The machine is shared: the cases take turns in short rounds (all servers up at once), so a
  // burst of outside load falls on every case alike; each row sums its rounds.
  const rounds = 6;
  const servers: Array<ServerChild<TracedWidgetInfo>> = [];
  const measured = new Map<string, Row[]>();
  const exported = new Map<string, number>();
  try {
    for (const [, env] of cases)
      servers.push(
        await startChild<TracedWidgetInfo>(new URL("./servers/widget-traced.ts", import.meta.url), { env }),
      );
    for (let round = 0; round < rounds; round++) {
      for (const [index, [name]] of cases.entries()) {
        const server = servers[index] as ServerChild<TracedWidgetInfo>;
        const before = sink.bytes();
        const row = await measureCase({
          group: GROUP,
          name,
          baseline: name === OFF ? undefined : OFF,
          server,
          targets: { warm: target(server.info, ping, pong), run: target(server.info, ping, pong) },
          limits: {
            ...options,
            seconds: Math.max(1, options.seconds / rounds),
            requests: Math.ceil(options.requests / rounds),
            warmup: round === 0 ? options.warmup : Math.ceil(options.warmup / 10),
          },
        });
        measured.set(name, [...(measured.get(name) ?? []), row]);
        exported.set(name, (exported.get(name) ?? 0) + sink.bytes() - before);
      }
    }
  } finally {
    for (const server of servers) await server.stop();
    await sink.close();
  }
  const rows = cases.map(([name, env]) => {
    const parts = measured.get(name) ?? [];
    const completed = parts.reduce((sum, part) => sum + part.completed, 0);
    const sum = (pick: (row: Row) => number) =>
      parts.reduce((total, part) => total + pick(part) * part.completed, 0);
    const seconds = parts.reduce((total, part) => total + part.completed / part.perSecond, 0);
    const first = parts[0] as Row;
    const kib = Math.round((exported.get(name) ?? 0) / 1024);
    return {
      ...first,
      completed,
      failures: parts.reduce((total, part) => total + part.failures, 0),
      perSecond: completed / seconds,
      p50Ms: Math.max(...parts.map((part) => part.p50Ms)),
      p99Ms: Math.max(...parts.map((part) => part.p99Ms)),
      cpuMicrosPerCall: sum((row) => row.cpuMicrosPerCall) / completed,
      clientCpuMicrosPerCall: sum((row) => row.clientCpuMicrosPerCall) / completed,
      note: `${rounds} rounds taken in turn with the other cases; p50/p99 the worst round's${env.OTEL_EXPORTER_OTLP_ENDPOINT ? `; ${kib} KiB of OTLP exported` : ""}`,
    } satisfies Row;
  });
  return rows;
}

function target(info: TracedWidgetInfo, body: Uint8Array, expect: Uint8Array) {
  return {
    url: `http://127.0.0.1:${info.port}`,
    path: `/${WidgetService.typeName}/${WidgetService.method.ping.name}`,
    headers: {
      "content-type": "application/proto",
      "connect-protocol-version": "1",
      authorization: `Bearer ${info.token}`,
    },
    body,
    expect,
    grpc: false,
  };
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}
