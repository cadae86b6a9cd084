// Service-to-service calls: the platform's client (token cache, deadline and ids carried on, retry
// policy, errors naming the peer) against a bare connect-node client making the same call with the
// same token, both timed in a child process of their own against one widget service (full chain)
// that trusts identidade's JWKS. The ratio that matters is the caller's CPU per call.
import { randomBytes } from "node:crypto";
import { type ServerChild, startChild } from "./lib/child.ts";
import { LOOP_ENV, type LoopInfo } from "./lib/loop.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { IdentidadeInfo } from "./servers/identidade.ts";
import type { WidgetIdentidadeInfo } from "./servers/widget-identidade.ts";

const GROUP = "clients";
const BARE = "widget Ping, bare Connect client";
const PLATFORM = "widget Ping, platform service client";

async function clientCase(
  name: string,
  client: "bare" | "platform",
  env: Record<string, string>,
  widget: ServerChild<WidgetIdentidadeInfo>,
  options: BenchOptions,
): Promise<Row> {
  process.stderr.write(`${GROUP}: ${name} ... `);
  const limits = {
    warmup: { concurrency: options.concurrency, requests: options.warmup, seconds: options.seconds },
    run: { concurrency: options.concurrency, requests: options.requests, seconds: options.seconds },
  };
  const before = await widget.usage();
  const child = await startChild<LoopInfo>(new URL("./servers/client-loop.ts", import.meta.url), {
    timeoutMs: (options.seconds * 2 + 60) * 1000,
    env: { ...env, BENCH_CLIENT: client, [LOOP_ENV]: JSON.stringify(limits) },
  });
  await child.stop();
  const after = await widget.usage();
  const { warmup, run } = child.info;
  const failures = warmup.failures + run.failures;
  const firstFailure = warmup.firstFailure ?? run.firstFailure;
  const row: Row = {
    group: GROUP,
    name,
    ...(client === "platform" ? { baseline: BARE } : {}),
    completed: run.completed,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
    perSecond: run.completed / run.seconds,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    // The caller is what is compared: its process's CPU per call (the server's is the same work).
    cpuMicrosPerCall: run.cpuMicros / run.completed,
    clientCpuMicrosPerCall: (after.cpuMicros - before.cpuMicros) / (warmup.completed + run.completed),
    rssMiB: run.rssBytes / 2 ** 20,
    note:
      `${options.concurrency} in flight from a child process; CPU µs/call is the CALLER's, ` +
      `client µs is the widget server's (warm-up included)`,
  };
  process.stderr.write(`${Math.round(row.perSecond)}/s${failures ? `, ${failures} failures` : ""}\n`);
  return row;
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const secret = randomBytes(24).toString("base64url");
  const identidade = await startChild<IdentidadeInfo>(new URL("./servers/identidade.ts", import.meta.url), {
    env: { BENCH_SERVICE_ACCOUNTS: JSON.stringify({ grupos: secret }) },
  });
  try {
    const widget = await startChild<WidgetIdentidadeInfo>(
      new URL("./servers/widget-identidade.ts", import.meta.url),
      { env: { BENCH_JWKS_URL: identidade.info.jwksUrl } },
    );
    try {
      const env = {
        BENCH_PEER_URL: `http://127.0.0.1:${widget.info.port}`,
        BENCH_IDENTIDADE_URL: identidade.info.url,
        BENCH_SERVICE_SECRET: secret,
      };
      return [
        await clientCase(BARE, "bare", env, widget, options),
        await clientCase(PLATFORM, "platform", env, widget, options),
      ];
    } finally {
      await widget.stop();
    }
  } finally {
    await identidade.stop();
  }
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  printTable(await run(options), options);
}
