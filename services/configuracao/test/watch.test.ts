// Watch: a snapshot, then every change committed on any replica; heartbeats; ends on shutdown.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { ParametroTipo } from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import {
  ConfiguracaoService,
  type WatchResponse,
  WatchTopic,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import { createTestDatabase, type TestDatabase } from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConfiguracao, startIssuer, uniqueKey } from "./support.ts";

type Running = Awaited<ReturnType<typeof startConfiguracao>>;
let auth: Awaited<ReturnType<typeof startIssuer>>;
let db: TestDatabase;
let a: Running;
let b: Running;

beforeAll(async () => {
  auth = await startIssuer();
  db = await createTestDatabase("configuracao");
  // Two replicas on one database; their only link is the broker (the poll is a minute away).
  a = await startConfiguracao(auth, { db });
  b = await startConfiguracao(auth, { db });
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
  await db?.drop();
  await auth?.close();
});

/** A Watch stream read into a queue: `next()` waits for the next message other than a heartbeat. */
function watching(stream: AsyncIterable<WatchResponse>) {
  const received: WatchResponse[] = [];
  let wakeUp: (() => void) | undefined;
  let ended: unknown;
  let done = false;
  const reading = (async () => {
    try {
      for await (const message of stream) {
        received.push(message);
        wakeUp?.();
      }
    } catch (error) {
      ended = error;
    } finally {
      done = true;
      wakeUp?.();
    }
  })();
  const take = async (skipHeartbeats: boolean): Promise<WatchResponse | undefined> => {
    for (;;) {
      const message = received.shift();
      if (message && (!skipHeartbeats || message.event.case !== "heartbeat")) return message;
      if (message) continue;
      if (done) return undefined;
      await new Promise<void>((resolve) => {
        wakeUp = resolve;
      });
    }
  };
  return {
    next: () => take(true),
    nextAny: () => take(false),
    ended: async () => {
      await reading;
      return { done, error: ended };
    },
  };
}

describe("watch across replicas", () => {
  test("a watcher on one replica gets the snapshot, then a flag change made on the other", async () => {
    const key = uniqueKey("watch.flag");
    await a.client.createFeatureFlag({ flag: { key, enabled: false, rolloutPercent: 100 } }, auth.as.admin);
    const abort = new AbortController();
    const stream = watching(b.client.watch({}, { ...auth.as.service, signal: abort.signal }));
    const first = await stream.next();
    expect(first?.event.case).toBe("snapshot");
    const snapshot = first?.event.case === "snapshot" ? first.event.value : undefined;
    expect(snapshot?.flags.find((flag) => flag.key === key)?.enabled).toBe(false);

    const { flag } = await a.client.updateFeatureFlag(
      { flag: { key, version: 1, enabled: true }, updateMask: { paths: ["enabled"] } },
      auth.as.admin,
    );
    const change = await stream.next();
    expect(change?.event.case).toBe("change");
    const value = change?.event.case === "change" ? change.event.value : undefined;
    expect(value?.topic).toBe(WatchTopic.FLAGS);
    expect(value?.key).toBe(key);
    expect(value?.item.case === "flag" && value.item.value).toMatchObject({
      enabled: true,
      version: flag?.version,
    });
    expect(change?.revision).toBeGreaterThan(first?.revision ?? 0n);
    // The other replica reads the new value too (its cache entry was dropped).
    expect((await b.client.getFeatureFlag({ key }, auth.as.service)).flag?.enabled).toBe(true);

    await a.client.deleteFeatureFlag({ key, version: 2 }, auth.as.admin);
    const removed = await stream.next();
    expect(removed?.event.case === "change" && removed.event.value).toMatchObject({ key, removed: true });
    abort.abort();
    await stream.ended();
  });

  test("topics filter the changes, and changes arrive in commit order", async () => {
    const abort = new AbortController();
    const stream = watching(
      b.client.watch({ topics: [WatchTopic.PARAMETROS] }, { ...auth.as.service, signal: abort.signal }),
    );
    const first = await stream.next();
    expect(first?.event.case === "snapshot" && first.event.value.flags).toEqual([]);
    const flag = uniqueKey("watch.ignored");
    await a.client.createFeatureFlag({ flag: { key: flag, enabled: true } }, auth.as.admin);
    const keys = [uniqueKey("watch.p1"), uniqueKey("watch.p2"), uniqueKey("watch.p3")];
    for (const key of keys)
      await a.client.createParametro(
        { parametro: { key, tipo: ParametroTipo.BOOL, valor: { kind: { case: "boolValue", value: true } } } },
        auth.as.admin,
      );
    const seen: string[] = [];
    let revision = first?.revision ?? 0n;
    for (const _ of keys) {
      const message = await stream.next();
      expect(message?.revision).toBeGreaterThan(revision);
      revision = message?.revision ?? 0n;
      if (message?.event.case === "change") seen.push(message.event.value.key);
    }
    expect(seen).toEqual(keys);
    abort.abort();
    await stream.ended();
  });

  test("over gRPC too: the snapshot, then a change", async () => {
    const client = createClient(ConfiguracaoService, createGrpcTransport({ baseUrl: b.service.url }));
    const abort = new AbortController();
    const stream = watching(
      client.watch({ topics: [WatchTopic.FLAGS] }, { ...auth.as.service, signal: abort.signal }),
    );
    expect((await stream.next())?.event.case).toBe("snapshot");
    const key = uniqueKey("watch.grpc");
    await a.client.createFeatureFlag({ flag: { key, enabled: true } }, auth.as.admin);
    const change = await stream.next();
    expect(change?.event.case === "change" && change.event.value.key).toBe(key);
    abort.abort();
    await stream.ended();
  });

  test("only services may watch", async () => {
    const stream = watching(a.client.watch({}, auth.as.admin));
    expect(await stream.next()).toBeUndefined();
    const { error } = await stream.ended();
    expect(ConnectError.from(error).code).toBe(Code.PermissionDenied);
  });
});

describe("long-lived streams", () => {
  test("over HTTP/1.1, heartbeats keep a quiet stream open past the idle timeout", async () => {
    const quiet = await startConfiguracao(auth, {
      db,
      env: { SERVER_IDLE_TIMEOUT_MS: "300", WATCH_HEARTBEAT_MS: "100" },
    });
    try {
      const client = createClient(
        ConfiguracaoService,
        createConnectTransport({ baseUrl: quiet.service.url, httpVersion: "1.1" }),
      );
      const abort = new AbortController();
      const stream = watching(client.watch({}, { ...auth.as.service, signal: abort.signal }));
      expect((await stream.nextAny())?.event.case).toBe("snapshot");
      // Eight heartbeats: the stream has been silent but for them for well over the idle timeout.
      for (let i = 0; i < 8; i++) expect((await stream.nextAny())?.event.case).toBe("heartbeat");
      const key = uniqueKey("watch.late");
      await a.client.createFeatureFlag({ flag: { key, enabled: true } }, auth.as.admin);
      const change = await stream.next();
      expect(change?.event.case === "change" && change.event.value.key).toBe(key);
      abort.abort();
      await stream.ended();
    } finally {
      await quiet.stop();
    }
  });

  test("stopping a replica ends its streams, so the stop is not held up by them", async () => {
    // A stream still open at stop would hold the server for the whole minute.
    const stopping = await startConfiguracao(auth, { db, env: { SHUTDOWN_TIMEOUT_MS: "60000" } });
    const stream = watching(stopping.client.watch({}, auth.as.service));
    expect((await stream.next())?.event.case).toBe("snapshot");
    await stopping.stop();
    const { done } = await stream.ended();
    expect(done).toBe(true);
  });
});
