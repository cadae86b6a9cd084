// configuracao without Redis (slower, still right), a replica without the broker (its watchers
// catch up by the poll), and competing writers (one wins, the other is Aborted).

import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  ParametroTipo,
  ParametroValorSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import { createTestDatabase, type TestDatabase } from "@consorcio/platform/testing.ts";
import { afterAll, beforeAll, expect, test } from "vitest";
import { startConfiguracao, startIssuer, uniqueKey } from "./support.ts";

let auth: Awaited<ReturnType<typeof startIssuer>>;
let db: TestDatabase;
let running: Awaited<ReturnType<typeof startConfiguracao>>;

beforeAll(async () => {
  auth = await startIssuer();
  db = await createTestDatabase("configuracao");
  running = await startConfiguracao(auth, { db });
});
afterAll(async () => {
  await running?.stop();
  await db?.drop();
  await auth?.close();
});

const integer = (value: bigint) => create(ParametroValorSchema, { kind: { case: "integerValue", value } });

test("with Redis down every call still works, and a change is read back at once", async () => {
  // Nothing listens on port 1: the cache degrades to misses and no-ops.
  const cacheless = await startConfiguracao(auth, { db, env: { REDIS_URL: "redis://127.0.0.1:1" } });
  try {
    expect(await cacheless.service.context.cache.healthy()).toBe(false);
    const key = uniqueKey("semcache.valor");
    await cacheless.client.createParametro(
      { parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(1n) } },
      auth.as.admin,
    );
    expect((await cacheless.client.getParametro({ key }, auth.as.service)).parametro?.valor?.kind.value).toBe(
      1n,
    );
    await cacheless.client.updateParametro(
      { parametro: { key, version: 1, valor: integer(2n) }, updateMask: { paths: ["valor"] } },
      auth.as.admin,
    );
    expect((await cacheless.client.getParametro({ key }, auth.as.service)).parametro?.valor?.kind.value).toBe(
      2n,
    );
  } finally {
    await cacheless.stop();
  }
});

test("a replica that cannot reach the broker still streams the other replica's changes (the poll)", async () => {
  const deaf = await startConfiguracao(auth, {
    db,
    env: { AMQP_URL: "amqp://guest:guest@127.0.0.1:1", WATCH_POLL_MS: "100" },
  });
  const abort = new AbortController();
  try {
    const stream = deaf.client
      .watch({}, { ...auth.as.service, signal: abort.signal })
      [Symbol.asyncIterator]();
    expect((await stream.next()).value?.event.case).toBe("snapshot");
    const key = uniqueKey("surdo.flag");
    await running.client.createFeatureFlag({ flag: { key, enabled: true } }, auth.as.admin);
    let message = await stream.next();
    while (message.value?.event.case === "heartbeat") message = await stream.next();
    expect(message.value?.event.case === "change" && message.value.event.value.key).toBe(key);
  } finally {
    abort.abort();
    await deaf.stop();
  }
});

test("two updates from the same version: one wins, the other is Aborted", async () => {
  const key = uniqueKey("corrida.valor");
  await running.client.createParametro(
    { parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(0n) } },
    auth.as.admin,
  );
  const update = (value: bigint) =>
    running.client
      .updateParametro(
        { parametro: { key, version: 1, valor: integer(value) }, updateMask: { paths: ["valor"] } },
        auth.as.admin,
      )
      .then(
        () => "OK",
        (error) => Code[ConnectError.from(error).code],
      );
  const outcomes = await Promise.all([1n, 2n, 3n, 4n].map(update));
  expect(outcomes.filter((o) => o === "OK")).toHaveLength(1);
  expect(outcomes.filter((o) => o === "Aborted")).toHaveLength(3);
  const { parametro } = await running.client.getParametro({ key }, auth.as.admin);
  expect(parametro?.version).toBe(2);
});

test("a heartbeat slower than the idle timeout is refused at start", async () => {
  await expect(
    startConfiguracao(auth, { db, env: { WATCH_HEARTBEAT_MS: "60000", SERVER_IDLE_TIMEOUT_MS: "60000" } }),
  ).rejects.toThrow(/WATCH_HEARTBEAT_MS/);
});
