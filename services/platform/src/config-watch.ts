// A live copy of configuracao's parameters, flags and index values for any service: the Watch
// snapshot, then each change as it commits, reconnecting with back-off (and a fresh snapshot)
// whenever the stream ends. Reads are local and synchronous; nothing here blocks a call.

import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { evaluateFlag } from "@consorcio/domain/feature-flag.ts";
import type { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  type FeatureFlag,
  IndiceEconomico,
  type IndiceValor,
  type Parametro,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import {
  type ConfiguracaoChange,
  ConfiguracaoService,
  WatchTopic,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import { peerUrl } from "./clients.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { Logger } from "./logging.ts";

export type ParametroValue = boolean | bigint | string;

export type ConfigEvent =
  | { type: "snapshot"; revision: bigint }
  | { type: "change"; revision: bigint; change: ConfiguracaoChange };

export interface ConfigWatchOptions {
  /** configuracao's address; else `CONFIGURACAO_URL` in `env`, else the catalog's port. */
  url?: string;
  env?: Record<string, string | undefined>;
  /** A SERVICE token for each connection: `context.clients.token`. */
  token: () => Promise<string>;
  /** What to follow; every topic when empty. */
  topics?: readonly WatchTopic[];
  logger?: Logger;
  /** The time `get` judges a parameter's validity by (the service's `context.clock`). */
  clock?: Clock;
  /** Reconnection back-off: doubles from `initialMs` up to `maxMs`, with jitter. */
  backoff?: { initialMs?: number; maxMs?: number };
  /**
   * A connection that brought nothing, not even a heartbeat, for this long is presumed dead
   * (a half-open TCP connection) and replaced. Above the server's WATCH_HEARTBEAT_MS.
   */
  staleAfterMs?: number;
}

export interface ConfigWatch {
  /** Resolves at the first snapshot. */
  ready(): Promise<void>;
  /** A stream is open and its snapshot arrived. */
  connected(): boolean;
  /** The configuration revision the copy is at (0 before the first snapshot). */
  revision(): bigint;
  /** A parameter's value while it is in force (validity period), else undefined. */
  get(key: string): ParametroValue | undefined;
  parametro(key: string): Parametro | undefined;
  flag(key: string): FeatureFlag | undefined;
  /** The flag evaluated here, exactly as EvaluateFeatureFlag would; false for an unknown flag. */
  isEnabled(key: string, subject: string, roles: readonly Role[]): boolean;
  /** The latest revision of an index's monthly value. */
  indice(indice: IndiceEconomico, year: number, month: number): IndiceValor | undefined;
  /** Called after each snapshot (the whole copy replaced) and each change; returns the unsubscribe. */
  onChange(listener: (event: ConfigEvent) => void): () => void;
  /** Ends the stream and stops reconnecting. */
  close(): Promise<void>;
}

const indiceKey = (indice: IndiceEconomico, year: number, month: number) =>
  `${IndiceEconomico[indice]}:${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}`;

export function watchConfiguracao(options: ConfigWatchOptions): ConfigWatch {
  const url = options.url ?? peerUrl("configuracao", options.env ?? {});
  const clock = options.clock ?? systemClock;
  const initialMs = options.backoff?.initialMs ?? 200;
  const maxMs = options.backoff?.maxMs ?? 30_000;
  const staleAfterMs = options.staleAfterMs ?? 60_000;
  const client = createClient(
    ConfiguracaoService,
    createConnectTransport({ baseUrl: url, httpVersion: "2", useBinaryFormat: true }),
  );

  let parametros = new Map<string, Parametro>();
  let flags = new Map<string, FeatureFlag>();
  let indices = new Map<string, IndiceValor>();
  let revision = 0n;
  let isConnected = false;
  let closed = false;
  let current: AbortController | undefined;
  const stopping = new AbortController();
  const listeners = new Set<(event: ConfigEvent) => void>();
  let markReady: () => void = () => undefined;
  const firstSnapshot = new Promise<void>((resolve) => {
    markReady = resolve;
  });

  const emit = (event: ConfigEvent) => {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        options.logger?.warn({ err: error }, "config-watch: a change listener failed");
      }
    }
  };

  const apply = (change: ConfiguracaoChange) => {
    const item = change.item;
    if (change.topic === WatchTopic.PARAMETROS) {
      if (change.removed) parametros.delete(change.key);
      else if (item.case === "parametro") parametros.set(change.key, item.value);
    } else if (change.topic === WatchTopic.FLAGS) {
      if (change.removed) flags.delete(change.key);
      else if (item.case === "flag") flags.set(change.key, item.value);
    } else if (change.topic === WatchTopic.INDICES && item.case === "indiceValor") {
      indices.set(change.key, item.value);
    }
  };

  const connectOnce = async (signal: AbortSignal): Promise<boolean> => {
    let gotSnapshot = false;
    const token = await options.token();
    // Replaced when nothing arrives for too long; every message (heartbeats too) re-arms it.
    const stale = new AbortController();
    let timer = setTimeout(() => stale.abort(), staleAfterMs);
    const rearm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => stale.abort(), staleAfterMs);
    };
    try {
      const stream = client.watch(
        { topics: [...(options.topics ?? [])] },
        {
          headers: { authorization: `Bearer ${token}`, "x-caller": "config-watch" },
          signal: AbortSignal.any([signal, stale.signal]),
        },
      );
      for await (const message of stream) {
        rearm();
        if (message.event.case === "snapshot") {
          const snapshot = message.event.value;
          parametros = new Map(snapshot.parametros.map((p) => [p.key, p]));
          flags = new Map(snapshot.flags.map((f) => [f.key, f]));
          indices = new Map(
            snapshot.indiceValores.map((v) => [
              indiceKey(v.indice, v.referencia?.year ?? 0, v.referencia?.month ?? 0),
              v,
            ]),
          );
          revision = message.revision;
          gotSnapshot = true;
          isConnected = true;
          markReady();
          emit({ type: "snapshot", revision });
        } else if (message.event.case === "change") {
          apply(message.event.value);
          revision = message.revision;
          emit({ type: "change", revision, change: message.event.value });
        }
      }
    } finally {
      clearTimeout(timer);
      isConnected = false;
    }
    return gotSnapshot;
  };

  const loop = (async () => {
    let delay = initialMs;
    while (!closed) {
      current = new AbortController();
      try {
        if (await connectOnce(current.signal)) delay = initialMs;
      } catch (error) {
        if (closed) break;
        options.logger?.warn({ err: error, url }, "config-watch: stream failed, reconnecting");
      }
      if (closed) break;
      // Full jitter: replicas that lost configuracao together do not come back together.
      const wait = Math.round(delay / 2 + Math.random() * (delay / 2));
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          stopping.signal.removeEventListener("abort", done);
          resolve();
        };
        const timer = setTimeout(done, wait);
        stopping.signal.addEventListener("abort", done, { once: true });
      });
      delay = Math.min(delay * 2, maxMs);
    }
  })();

  const vigente = (parametro: Parametro) => {
    const now = clock.now().getTime();
    const from = parametro.validFrom ? timestampDate(parametro.validFrom).getTime() : undefined;
    const until = parametro.validUntil ? timestampDate(parametro.validUntil).getTime() : undefined;
    return (from === undefined || from <= now) && (until === undefined || now < until);
  };

  return {
    ready: () => firstSnapshot,
    connected: () => isConnected,
    revision: () => revision,
    get(key) {
      const parametro = parametros.get(key);
      if (!parametro || !vigente(parametro)) return undefined;
      return parametro.valor?.kind.value;
    },
    parametro: (key) => parametros.get(key),
    flag: (key) => flags.get(key),
    isEnabled(key, subject, roles) {
      const flag = flags.get(key);
      return flag ? evaluateFlag(flag, subject, roles).enabled : false;
    },
    indice: (indice, year, month) => indices.get(indiceKey(indice, year, month)),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      closed = true;
      stopping.abort();
      current?.abort();
      await loop;
    },
  };
}
