import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "@consorcio/gen/grpc/health/v1/health_pb.js";

/** The name Kubernetes' liveness probe checks: SERVING whenever the process can answer at all. */
export const LIVENESS = "liveness";

/** A dependency probe: true when usable. */
export type Probe = () => Promise<boolean>;

export interface HealthOptions {
  /** Full service names this process serves; each reports the overall status. */
  services: readonly string[];
  /** Dependencies whose failure makes the process NOT_SERVING (the database). */
  required: Record<string, Probe>;
  /** Dependencies reported on their own but not failing the process (broker: writes wait in the outbox; cache). */
  optional: Record<string, Probe>;
  watchIntervalMs?: number;
  /** A probe that has not answered by then counts as failed, so health always answers in time. */
  probeTimeoutMs?: number;
}

export interface HealthState {
  /** Marks the process NOT_SERVING (graceful shutdown) before it stops accepting calls. */
  shutDown(): void;
  status(service: string): Promise<Status | undefined>;
}

async function probe(check: Probe | undefined, timeoutMs: number): Promise<boolean> {
  if (!check) return false;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check().catch(() => false), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * grpc.health.v1: "" and every served service report SERVING only while the
 * required dependencies answer; each dependency is also a service name of its own
 * (`database`, `broker`, `cache`) so operators can see which one is failing.
 */
export function registerHealth(router: ConnectRouter, options: HealthOptions): HealthState {
  let shuttingDown = false;
  const timeoutMs = options.probeTimeoutMs ?? 1_000;
  const run = (check: Probe | undefined) => probe(check, timeoutMs);
  const overall = async (): Promise<Status> => {
    if (shuttingDown) return Status.NOT_SERVING;
    const results = await Promise.all(Object.values(options.required).map(run));
    return results.every(Boolean) ? Status.SERVING : Status.NOT_SERVING;
  };
  const status = async (service: string): Promise<Status | undefined> => {
    // The process answers, so it is alive: dependencies decide readiness, never liveness.
    if (service === LIVENESS) return Status.SERVING;
    if (service === "" || options.services.includes(service)) return overall();
    const dependency = options.required[service] ?? options.optional[service];
    if (!dependency) return undefined;
    return (await run(dependency)) ? Status.SERVING : Status.NOT_SERVING;
  };
  router.service(Health, {
    async check(req) {
      const current = await status(req.service);
      if (current === undefined) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: current };
    },
    async *watch(req, context) {
      let last: Status | undefined;
      while (!context.signal.aborted) {
        const current = (await status(req.service)) ?? Status.SERVICE_UNKNOWN;
        if (current !== last) {
          last = current;
          yield { status: current };
        }
        await new Promise((resolve) => setTimeout(resolve, options.watchIntervalMs ?? 2_000));
      }
    },
    async list() {
      const names = [
        "",
        LIVENESS,
        ...options.services,
        ...Object.keys(options.required),
        ...Object.keys(options.optional),
      ];
      const statuses: Record<string, { status: Status }> = {};
      for (const name of names) statuses[name] = { status: (await status(name)) ?? Status.SERVICE_UNKNOWN };
      return { statuses };
    },
  });
  return {
    shutDown: () => {
      shuttingDown = true;
    },
    status,
  };
}
