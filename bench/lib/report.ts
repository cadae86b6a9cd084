// What every bench file returns, the shared command-line options, and the one table.
import os from "node:os";
import { parseArgs } from "node:util";

export interface BenchOptions {
  /** Measured requests per case (after the warm-up). */
  requests: number;
  /** Time cap of the measured phase of one case. */
  seconds: number;
  warmup: number;
  concurrency: number;
}

export interface Row {
  /** Bench file, e.g. "unary". */
  group: string;
  name: string;
  /** Name of the row (same group) its ratios are taken against; absent on the baseline itself. */
  baseline?: string;
  completed: number;
  failures: number;
  firstFailure?: string;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Server process CPU per completed call. */
  cpuMicrosPerCall: number;
  /** Load generator CPU per completed call: near one core's worth means the client set the pace. */
  clientCpuMicrosPerCall: number;
  rssMiB: number;
  /** How this case was measured, when it differs from the table's header; printed below the table. */
  note?: string;
}

export function parseBenchArgs(args: string[]): BenchOptions {
  const { values } = parseArgs({
    args,
    options: {
      requests: { type: "string", default: "20000" },
      seconds: { type: "string", default: "15" },
      warmup: { type: "string", default: "3000" },
      concurrency: { type: "string", default: "64" },
    },
  });
  const positive = (name: string, text: string) => {
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
    return value;
  };
  return {
    requests: Math.floor(positive("requests", values.requests)),
    seconds: positive("seconds", values.seconds),
    warmup: Math.floor(positive("warmup", values.warmup)),
    concurrency: Math.floor(positive("concurrency", values.concurrency)),
  };
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : "-");
const ratio = (value: number) => (Number.isFinite(value) ? `${value.toFixed(2)}×` : "-");

export function printTable(rows: readonly Row[], options: BenchOptions): void {
  const cpus = os.cpus();
  console.log(
    `\nmachine: ${cpus.length} cpus (${cpus[0]?.model.trim() ?? "?"}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, ` +
      `node ${process.version}, ${os.platform()} ${os.release()}`,
  );
  console.log(
    `load: ${options.concurrency} in flight on one HTTP/2 session, ${options.warmup} warm-up, ` +
      `then ${options.requests} requests or ${options.seconds} s per case, each server in its own process`,
  );
  console.log(
    "CPU µs/call: server process user+system time per call, all threads; client µs: the load generator's;\n" +
      "× base: against the group's baseline (throughput, CPU per call); RSS: server after the run\n",
  );
  const header = [
    "case",
    "req/s",
    "× base",
    "p50 ms",
    "p99 ms",
    "CPU µs/call",
    "× base",
    "client µs",
    "RSS MiB",
    "done",
    "fail",
  ];
  const lines = rows.map((row) => {
    const base = row.baseline ? rows.find((r) => r.group === row.group && r.name === row.baseline) : row;
    return [
      `${row.group}: ${row.name}`,
      fixed(row.perSecond, 0),
      ratio(base ? row.perSecond / base.perSecond : Number.NaN),
      fixed(row.p50Ms, 2),
      fixed(row.p99Ms, 2),
      fixed(row.cpuMicrosPerCall, 1),
      ratio(base ? row.cpuMicrosPerCall / base.cpuMicrosPerCall : Number.NaN),
      fixed(row.clientCpuMicrosPerCall, 1),
      fixed(row.rssMiB, 0),
      String(row.completed),
      String(row.failures),
    ];
  });
  const widths = header.map((title, i) =>
    Math.max(title.length, ...lines.map((line) => line[i]?.length ?? 0)),
  );
  const format = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const line of lines) console.log(format(line));
  for (const row of rows.filter((r) => r.note)) console.log(`\n${row.group}: ${row.name}: ${row.note}`);
  for (const row of rows.filter((r) => r.failures > 0))
    console.log(`\n${row.group}: ${row.name}: ${row.failures} failures, first: ${row.firstFailure}`);
}
