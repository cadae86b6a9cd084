// Times a bare async operation in the process that calls it (a child started for the purpose,
// so nothing else shares its CPU accounting): `concurrency` calls in flight, each one replaced
// as soon as it settles, until `requests` are done or `seconds` have passed.
import { percentile } from "./load.ts";

export interface LoopLimits {
  requests: number;
  seconds: number;
  concurrency: number;
}

export interface LoopResult {
  completed: number;
  failures: number;
  firstFailure?: string;
  seconds: number;
  /** User + system CPU time of this whole process (all threads) during the run, in microseconds. */
  cpuMicros: number;
  rssBytes: number;
  /** Per-call latency percentiles, in milliseconds. */
  p50Ms: number;
  p99Ms: number;
}

/** Runs `operation` under `limits`; an operation that resolves to false or throws is a failure. */
export async function timeLoop(operation: () => Promise<boolean>, limits: LoopLimits): Promise<LoopResult> {
  const latencies: number[] = [];
  let issued = 0;
  let failures = 0;
  let firstFailure: string | undefined;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + limits.seconds * 1000;
  const worker = async () => {
    while (issued < limits.requests && performance.now() <= deadline) {
      issued++;
      const sent = performance.now();
      const ok = await operation().catch((error: unknown) => {
        firstFailure ??= error instanceof Error ? error.message : String(error);
        return undefined;
      });
      latencies.push(performance.now() - sent);
      if (ok === false) firstFailure ??= "operation returned false";
      if (ok !== true) failures++;
    }
  };
  await Promise.all(Array.from({ length: limits.concurrency }, worker));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const sorted = Float64Array.from(latencies).sort();
  return {
    completed: latencies.length,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
    seconds,
    cpuMicros: used.user + used.system,
    rssBytes: process.memoryUsage.rss(),
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
  };
}

/** What a loop child announces as its ready info. */
export interface LoopInfo {
  warmup: LoopResult;
  run: LoopResult;
}

/** Limits handed to a loop child in its environment as JSON (see `startChild`'s `env`). */
export const LOOP_ENV = "BENCH_LOOP";

export function loopLimitsFromEnv(): { warmup: LoopLimits; run: LoopLimits } {
  const text = process.env[LOOP_ENV];
  if (!text) throw new Error(`${LOOP_ENV} is not set: start this script with startChild(..., { env })`);
  return JSON.parse(text) as { warmup: LoopLimits; run: LoopLimits };
}
