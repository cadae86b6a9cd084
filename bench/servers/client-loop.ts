// A service-to-service call timed in a process of its own: widget Ping (Connect binary over HTTP/2)
// with the platform's client (service token from identidade, cached; deadline, ids, retry policy) or,
// as the baseline, a bare connect-node client sending the same token. BENCH_CLIENT says which;
// BENCH_PEER_URL, BENCH_IDENTIDADE_URL and BENCH_SERVICE_SECRET where and as whom; BENCH_LOOP how long.
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { createServiceClients } from "../../services/platform/src/clients.ts";
import { createLogger } from "../../services/platform/src/logging.ts";
import { WidgetService } from "../../services/platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { serveChild } from "../lib/child.ts";
import { type LoopInfo, loopLimitsFromEnv, timeLoop } from "../lib/loop.ts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const peerUrl = required("BENCH_PEER_URL");
const clients = createServiceClients({
  caller: "bench",
  calls: [WidgetService],
  env: { PLATFORMTEST_URL: peerUrl, IDENTIDADE_URL: required("BENCH_IDENTIDADE_URL") },
  credentials: { clientId: "svc-grupos", clientSecret: required("BENCH_SERVICE_SECRET") },
  defaultTimeoutMs: 5_000,
  logger: createLogger({ service: "bench", level: "silent" }),
});
const token = await clients.token();
const bare = createClient(
  WidgetService,
  createConnectTransport({ baseUrl: peerUrl, httpVersion: "2", useBinaryFormat: true }),
);
const headers = { authorization: `Bearer ${token}` };
const platform = clients.get(WidgetService);
const operation =
  required("BENCH_CLIENT") === "platform"
    ? async () => (await platform.ping({ message: "oi" })).message === "oi"
    : async () => (await bare.ping({ message: "oi" }, { headers, timeoutMs: 5_000 })).message === "oi";

const limits = loopLimitsFromEnv();
const warmup = await timeLoop(operation, limits.warmup);
const run = await timeLoop(operation, limits.run);
serveChild({ warmup, run } satisfies LoopInfo);
