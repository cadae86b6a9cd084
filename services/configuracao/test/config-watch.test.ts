// The platform's config-watch helper against the real configuracao: a live copy that follows
// changes, judges validity by the service's clock, evaluates flags as the server does, and
// reconnects to a fresh snapshot when configuracao restarts.

import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { IndiceEconomico, ParametroTipo } from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import { type ConfigEvent, watchConfiguracao } from "@consorcio/platform/config-watch.ts";
import { createTestDatabase, eventually, type TestDatabase } from "@consorcio/platform/testing.ts";
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

const serviceToken = () => auth.issuer.token({ roles: [Role.SERVICE], subject: "svc-grupos" });

test("a live copy: snapshot, then changes; validity by the caller's clock; flags as the server answers", async () => {
  const limite = uniqueKey("grupos.limite");
  await running.client.createParametro(
    {
      parametro: {
        key: limite,
        tipo: ParametroTipo.INTEGER,
        valor: { kind: { case: "integerValue", value: 100n } },
      },
    },
    auth.as.admin,
  );
  const watch = watchConfiguracao({ url: running.service.url, token: serviceToken, clock: running.clock });
  const events: ConfigEvent[] = [];
  watch.onChange((event) => events.push(event));
  try {
    await watch.ready();
    expect(watch.connected()).toBe(true);
    expect(watch.get(limite)).toBe(100n);
    expect(events[0]?.type).toBe("snapshot");

    await running.client.updateParametro(
      {
        parametro: { key: limite, version: 1, valor: { kind: { case: "integerValue", value: 150n } } },
        updateMask: { paths: ["valor"] },
      },
      auth.as.admin,
    );
    await eventually(async () => watch.get(limite) === 150n);
    expect(events.some((event) => event.type === "change" && event.change.key === limite)).toBe(true);

    // Not yet in force: present, but get() says nothing until the clock reaches valid_from.
    const futuro = uniqueKey("grupos.futuro");
    await running.client.createParametro(
      {
        parametro: {
          key: futuro,
          tipo: ParametroTipo.TEXT,
          valor: { kind: { case: "textValue", value: "novo" } },
          validFrom: timestampFromDate(new Date(running.clock.now().getTime() + 3_600_000)),
        },
      },
      auth.as.admin,
    );
    await eventually(async () => watch.parametro(futuro) !== undefined);
    expect(watch.get(futuro)).toBeUndefined();
    await running.clock.advance(3_600_000);
    expect(watch.get(futuro)).toBe("novo");

    const flag = uniqueKey("grupos.flag");
    await running.client.createFeatureFlag(
      { flag: { key: flag, enabled: true, rolloutPercent: 50, roles: [Role.OPERADOR] } },
      auth.as.admin,
    );
    await eventually(async () => watch.flag(flag) !== undefined);
    for (const subject of ["u-1", "u-2", "u-3", "u-4", "u-5", "u-6"]) {
      for (const roles of [[Role.OPERADOR], [Role.AUDITOR]]) {
        const server = await running.client.evaluateFeatureFlag(
          { key: flag, subject, roles },
          auth.as.service,
        );
        expect(watch.isEnabled(flag, subject, roles)).toBe(server.enabled);
      }
    }
    expect(watch.isEnabled("nao.existe", "u-1", [])).toBe(false);

    await running.client.registerIndiceValor(
      {
        indice: IndiceEconomico.IPCA,
        referencia: { year: 2027, month: 4, day: 1 },
        valorPercentual: "0.38",
        fonte: "IBGE",
      },
      auth.as.admin,
    );
    await eventually(async () => watch.indice(IndiceEconomico.IPCA, 2027, 4) !== undefined);
    expect(watch.indice(IndiceEconomico.IPCA, 2027, 4)?.valorPercentual).toBe("0.38");
  } finally {
    await watch.close();
  }
  expect(watch.connected()).toBe(false);
});

test("configuracao restarts: the copy reconnects with back-off and catches up from a new snapshot", async () => {
  const key = uniqueKey("restart.valor");
  const watch = watchConfiguracao({
    url: running.service.url,
    token: serviceToken,
    backoff: { initialMs: 50, maxMs: 200 },
  });
  try {
    await watch.ready();
    const port = running.service.port;
    await running.stop();
    await eventually(async () => !watch.connected());
    // Changed while the copy could not hear it (written through a replica started elsewhere).
    const elsewhere = await startConfiguracao(auth, { db });
    await elsewhere.client.createParametro(
      { parametro: { key, tipo: ParametroTipo.BOOL, valor: { kind: { case: "boolValue", value: true } } } },
      auth.as.admin,
    );
    await elsewhere.stop();
    expect(watch.get(key)).toBeUndefined();
    // configuracao is back at the same address.
    running = await startConfiguracao(auth, { db, env: { PORT: String(port) } });
    await eventually(async () => watch.get(key) === true);
    expect(watch.connected()).toBe(true);
  } finally {
    await watch.close();
  }
});
