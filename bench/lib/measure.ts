// One case on a running server: warm-up, then the measured run charged with the server's CPU.
import type { ServerChild } from "./child.ts";
import { connect, drive, percentile, type Target } from "./load.ts";
import type { BenchOptions, Row } from "./report.ts";

export interface CaseSpec {
  group: string;
  name: string;
  /** The row the ratios are taken against; absent on the baseline itself. */
  baseline?: string | undefined;
  server: ServerChild<unknown>;
  /** The warm-up may send other bodies than the measured run (distinct CPFs, say). */
  targets: { warm: Target; run: Target };
  limits: Pick<BenchOptions, "concurrency" | "warmup" | "requests" | "seconds">;
}

export async function measureCase(spec: CaseSpec): Promise<Row> {
  const { group, name, baseline, server, targets, limits } = spec;
  process.stderr.write(`${group}: ${name} ... `);
  const session = await connect(targets.run.url);
  try {
    const { concurrency, seconds } = limits;
    const warm = await drive(session, targets.warm, { concurrency, seconds, requests: limits.warmup });
    const before = await server.usage();
    const client = process.cpuUsage();
    const run = await drive(session, targets.run, { concurrency, seconds, requests: limits.requests });
    const clientCpu = process.cpuUsage(client);
    const after = await server.usage();
    const failures = warm.failures + run.failures;
    const firstFailure = warm.firstFailure ?? run.firstFailure;
    const row: Row = {
      group,
      name,
      ...(baseline ? { baseline } : {}),
      completed: run.completed,
      failures,
      ...(firstFailure ? { firstFailure } : {}),
      perSecond: run.completed / run.seconds,
      p50Ms: percentile(run.latencies, 0.5),
      p99Ms: percentile(run.latencies, 0.99),
      cpuMicrosPerCall: (after.cpuMicros - before.cpuMicros) / run.completed,
      clientCpuMicrosPerCall: (clientCpu.user + clientCpu.system) / run.completed,
      rssMiB: after.rssBytes / 2 ** 20,
    };
    process.stderr.write(`${Math.round(row.perSecond)} req/s${failures ? `, ${failures} failures` : ""}\n`);
    return row;
  } finally {
    session.close();
  }
}
