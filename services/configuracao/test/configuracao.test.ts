// configuracao against real PostgreSQL, Redis and RabbitMQ, over HTTP/2.
import { create, fromBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  IndiceEconomico,
  ParametroTipo,
  ParametroValorSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/configuracao_pb.js";
import { EvaluationReason } from "@consorcio/gen/consorcio/configuracao/v1/configuracao_service_pb.js";
import {
  FlagAlteradaSchema,
  IndiceRegistradoSchema,
  Operacao,
  type ParametroAlterado,
  ParametroAlteradoSchema,
} from "@consorcio/gen/consorcio/configuracao/v1/eventos_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConfiguracao, startIssuer, uniqueKey } from "./support.ts";

let auth: Awaited<ReturnType<typeof startIssuer>>;
let running: Awaited<ReturnType<typeof startConfiguracao>>;

beforeAll(async () => {
  auth = await startIssuer();
  running = await startConfiguracao(auth);
});
afterAll(async () => {
  await running?.stop();
  await auth?.close();
});

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return "OK";
  } catch (error) {
    return Code[ConnectError.from(error).code] ?? "Unknown";
  }
}

const decimal = (value: string) => create(ParametroValorSchema, { kind: { case: "decimalValue", value } });
const integer = (value: bigint) => create(ParametroValorSchema, { kind: { case: "integerValue", value } });
const text = (value: string) => create(ParametroValorSchema, { kind: { case: "textValue", value } });

/** Outbox rows of an event type, decoded, oldest first. */
async function published<T>(schema: Parameters<typeof fromBinary>[0]): Promise<T[]> {
  const rows = await running.db.query<{ payload: Buffer }>(
    "select payload from platform_outbox where event_type = $1 order by created_at, id",
    [schema.typeName],
  );
  return rows.map((row) => fromBinary(schema, row.payload) as T);
}

describe("parametros", () => {
  test("create, read, update with the version, delete; before and after published", async () => {
    const key = uniqueKey("financeiro.multa");
    const { parametro } = await running.client.createParametro(
      {
        parametro: {
          key,
          tipo: ParametroTipo.DECIMAL,
          valor: decimal("2.0000"),
          description: "multa por atraso, %",
        },
      },
      auth.as.admin,
    );
    expect(parametro?.valor?.kind).toEqual({ case: "decimalValue", value: "2" });
    expect(parametro?.vigente).toBe(true);
    expect(parametro?.updatedBy).toBe("admin-1");
    expect(parametro?.version).toBe(1);

    const read = await running.client.getParametro({ key }, auth.as.service);
    expect(read.parametro?.valor?.kind.value).toBe("2");

    // A stale version is Aborted and changes nothing.
    expect(
      await codeOf(
        running.client.updateParametro(
          { parametro: { key, version: 7, valor: decimal("3") }, updateMask: { paths: ["valor"] } },
          auth.as.admin,
        ),
      ),
    ).toBe("Aborted");
    const { parametro: updated } = await running.client.updateParametro(
      { parametro: { key, version: 1, valor: decimal("3.5") }, updateMask: { paths: ["valor"] } },
      auth.as.admin,
    );
    expect(updated?.valor?.kind.value).toBe("3.5");
    expect(updated?.version).toBe(2);
    expect(updated?.description).toBe("multa por atraso, %");

    await running.client.deleteParametro({ key, version: 2 }, auth.as.admin);
    expect(await codeOf(running.client.getParametro({ key }, auth.as.admin))).toBe("NotFound");

    const events = (await published<ParametroAlterado>(ParametroAlteradoSchema)).filter(
      (event) => event.key === key,
    );
    expect(events.map((event) => event.operacao)).toEqual([
      Operacao.CRIADO,
      Operacao.ALTERADO,
      Operacao.REMOVIDO,
    ]);
    const [criado, alterado, removido] = events;
    expect(criado?.antes).toBeUndefined();
    expect(alterado?.antes?.valor?.kind.value).toBe("2");
    expect(alterado?.depois?.valor?.kind.value).toBe("3.5");
    expect(removido?.depois).toBeUndefined();
    expect(removido?.alteradoPor).toBe("admin-1");
  });

  test("validity: not in force before valid_from nor from valid_until on", async () => {
    const key = uniqueKey("grupos.prazo_maximo");
    const now = running.clock.now();
    const day = 86_400_000;
    await running.client.createParametro(
      {
        parametro: {
          key,
          tipo: ParametroTipo.INTEGER,
          valor: integer(240n),
          validFrom: timestampFromDate(new Date(now.getTime() + day)),
          validUntil: timestampFromDate(new Date(now.getTime() + 3 * day)),
        },
      },
      auth.as.admin,
    );
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.vigente).toBe(false);
    await running.clock.advance(day);
    // Also from the cache: vigente is the time of the read's, not the entry's.
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.vigente).toBe(true);
    await running.clock.advance(2 * day);
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.vigente).toBe(false);

    expect(
      await codeOf(
        running.client.createParametro(
          {
            parametro: {
              key: uniqueKey("grupos.x"),
              tipo: ParametroTipo.INTEGER,
              valor: integer(1n),
              validFrom: timestampFromDate(new Date(now.getTime() + day)),
              validUntil: timestampFromDate(now),
            },
          },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
  });

  test("typed values: the value must be of the declared type, which never changes", async () => {
    const key = uniqueKey("financeiro.dias");
    const wrong = await codeOf(
      running.client.createParametro(
        { parametro: { key, tipo: ParametroTipo.INTEGER, valor: text("dez") } },
        auth.as.admin,
      ),
    );
    expect(wrong).toBe("InvalidArgument");
    expect(
      await codeOf(
        running.client.createParametro(
          { parametro: { key, tipo: ParametroTipo.DECIMAL, valor: decimal("1e5") } },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
    expect(
      await codeOf(
        running.client.createParametro({ parametro: { key, tipo: ParametroTipo.BOOL } }, auth.as.admin),
      ),
    ).toBe("InvalidArgument");
    expect(await codeOf(running.client.getParametro({ key }, auth.as.admin))).toBe("NotFound");

    await running.client.createParametro(
      { parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(10n) } },
      auth.as.admin,
    );
    expect(
      await codeOf(
        running.client.updateParametro(
          { parametro: { key, version: 1, valor: text("onze") }, updateMask: { paths: ["valor"] } },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
    expect(
      await codeOf(
        running.client.updateParametro(
          {
            parametro: { key, version: 1, tipo: ParametroTipo.TEXT, valor: text("onze") },
            updateMask: { paths: ["valor"] },
          },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
    expect(
      await codeOf(
        running.client.updateParametro(
          { parametro: { key, version: 1 }, updateMask: { paths: ["tipo"] } },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
    expect(
      await codeOf(
        running.client.createParametro(
          { parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(1n) } },
          auth.as.admin,
        ),
      ),
    ).toBe("AlreadyExists");
    const read = await running.client.getParametro({ key }, auth.as.admin);
    expect(read.parametro?.valor?.kind).toEqual({ case: "integerValue", value: 10n });
  });

  test("list pages by key with a prefix", async () => {
    const prefix = uniqueKey("lista");
    for (const n of [1, 2, 3])
      await running.client.createParametro(
        {
          parametro: {
            key: `${prefix}.p${n}`,
            tipo: ParametroTipo.BOOL,
            valor: { kind: { case: "boolValue", value: true } },
          },
        },
        auth.as.admin,
      );
    const first = await running.client.listParametros(
      { keyPrefix: `${prefix}.`, pageSize: 2 },
      auth.as.auditor,
    );
    expect(first.parametros.map((p) => p.key)).toEqual([`${prefix}.p1`, `${prefix}.p2`]);
    const second = await running.client.listParametros(
      { keyPrefix: `${prefix}.`, pageSize: 2, pageToken: first.nextPageToken },
      auth.as.auditor,
    );
    expect(second.parametros.map((p) => p.key)).toEqual([`${prefix}.p3`]);
    expect(second.nextPageToken).toBe("");
  });

  test("a retry with the same request_id changes nothing", async () => {
    const key = uniqueKey("retry");
    const request = {
      parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(5n) },
      requestId: `r-${key}`,
    };
    const first = await running.client.createParametro(request, auth.as.admin);
    const again = await running.client.createParametro(request, auth.as.admin);
    expect(again.parametro?.version).toBe(first.parametro?.version);
    const events = (await published<{ key: string }>(ParametroAlteradoSchema)).filter((e) => e.key === key);
    expect(events).toHaveLength(1);
  });
});

describe("cache", () => {
  test("read, change, read again gives the new value (the entry was cached and dropped)", async () => {
    const key = uniqueKey("cache.limite");
    await running.client.createParametro(
      { parametro: { key, tipo: ParametroTipo.INTEGER, valor: integer(1n) } },
      auth.as.admin,
    );
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.valor?.kind.value).toBe(1n);
    expect(await running.service.context.cache.get(`parametro:${key}`)).toBeDefined();
    // Behind the service's back, the row changes: the cached value is what a read gets.
    await running.db.query("update parametro set valor = '99' where key = $1", [key]);
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.valor?.kind.value).toBe(1n);
    await running.client.updateParametro(
      { parametro: { key, version: 1, valor: integer(2n) }, updateMask: { paths: ["valor"] } },
      auth.as.admin,
    );
    expect((await running.client.getParametro({ key }, auth.as.admin)).parametro?.valor?.kind.value).toBe(2n);

    const flag = uniqueKey("cache.flag");
    await running.client.createFeatureFlag(
      { flag: { key: flag, enabled: false, rolloutPercent: 100 } },
      auth.as.admin,
    );
    expect(
      (await running.client.evaluateFeatureFlag({ key: flag, subject: "u" }, auth.as.service)).enabled,
    ).toBe(false);
    await running.client.updateFeatureFlag(
      { flag: { key: flag, version: 1, enabled: true }, updateMask: { paths: ["enabled"] } },
      auth.as.admin,
    );
    expect(
      (await running.client.evaluateFeatureFlag({ key: flag, subject: "u" }, auth.as.service)).enabled,
    ).toBe(true);
  });
});

describe("feature flags", () => {
  test("rollout is deterministic per subject, the same on every call, and grows monotonically", async () => {
    const key = uniqueKey("lances.novo_fluxo");
    await running.client.createFeatureFlag(
      { flag: { key, enabled: true, rolloutPercent: 30 } },
      auth.as.admin,
    );
    const subjects = Array.from({ length: 200 }, (_, i) => `consorciado-${i}`);
    const answer = async (subject: string) =>
      running.client.evaluateFeatureFlag({ key, subject, roles: [Role.CONSORCIADO] }, auth.as.service);
    const at30 = await Promise.all(subjects.map(answer));
    const again = await Promise.all(subjects.map(answer));
    expect(again.map((a) => a.enabled)).toEqual(at30.map((a) => a.enabled));
    for (const a of at30) {
      expect(a.enabled).toBe(a.bucket < 30);
      expect(a.reason).toBe(a.enabled ? EvaluationReason.ROLLOUT_IN : EvaluationReason.ROLLOUT_OUT);
    }
    const share = at30.filter((a) => a.enabled).length;
    expect(share).toBeGreaterThan(30);
    expect(share).toBeLessThan(90);

    await running.client.updateFeatureFlag(
      { flag: { key, version: 1, rolloutPercent: 60 }, updateMask: { paths: ["rollout_percent"] } },
      auth.as.admin,
    );
    const at60 = await Promise.all(subjects.map(answer));
    at30.forEach((a, i) => {
      if (a.enabled) expect(at60[i]?.enabled).toBe(true);
      expect(at60[i]?.bucket).toBe(a.bucket);
    });
    expect(at60[0]?.flagVersion).toBe(2);
  });

  test("per role: only the roles named get it; without a subject, the caller's own", async () => {
    const key = uniqueKey("relatorios.beta");
    await running.client.createFeatureFlag(
      { flag: { key, enabled: true, rolloutPercent: 100, roles: [Role.AUDITOR, Role.GERENTE] } },
      auth.as.admin,
    );
    const forRoles = (roles: Role[]) =>
      running.client.evaluateFeatureFlag({ key, subject: "s-1", roles }, auth.as.service);
    expect((await forRoles([Role.GERENTE])).enabled).toBe(true);
    const excluded = await forRoles([Role.OPERADOR]);
    expect(excluded.enabled).toBe(false);
    expect(excluded.reason).toBe(EvaluationReason.ROLE_EXCLUDED);
    // The auditor asking for itself.
    expect((await running.client.evaluateFeatureFlag({ key }, auth.as.auditor)).enabled).toBe(true);
    // A service asking for itself holds none of the roles.
    expect((await running.client.evaluateFeatureFlag({ key }, auth.as.service)).enabled).toBe(false);

    await running.client.updateFeatureFlag(
      { flag: { key, version: 1, enabled: false }, updateMask: { paths: ["enabled"] } },
      auth.as.admin,
    );
    const off = await forRoles([Role.GERENTE]);
    expect(off).toMatchObject({ enabled: false, reason: EvaluationReason.DISABLED });

    const events = (
      await published<{ key: string; antes?: { enabled: boolean }; depois?: { enabled: boolean } }>(
        FlagAlteradaSchema,
      )
    ).filter((e) => e.key === key);
    expect(events.at(-1)?.antes?.enabled).toBe(true);
    expect(events.at(-1)?.depois?.enabled).toBe(false);
    expect(await codeOf(running.client.evaluateFeatureFlag({ key: "nao.existe" }, auth.as.service))).toBe(
      "NotFound",
    );
  });
});

describe("indices", () => {
  const referencia = (year: number, month: number) => ({ year, month, day: 1 });

  test("a value is registered once; a correction is a new revision, the old one stays", async () => {
    const ref = referencia(2027, 1);
    const { valor } = await running.client.registerIndiceValor(
      { indice: IndiceEconomico.IPCA, referencia: ref, valorPercentual: "0.4500", fonte: "IBGE" },
      auth.as.admin,
    );
    expect(valor).toMatchObject({ valorPercentual: "0.45", revisao: 1, atual: true, usado: false });
    expect(
      await codeOf(
        running.client.registerIndiceValor(
          { indice: IndiceEconomico.IPCA, referencia: ref, valorPercentual: "0.50", fonte: "IBGE" },
          auth.as.admin,
        ),
      ),
    ).toBe("AlreadyExists");

    const corrected = await running.client.correctIndiceValor(
      {
        indice: IndiceEconomico.IPCA,
        referencia: ref,
        valorPercentual: "0.47",
        fonte: "IBGE",
        motivo: "valor digitado errado na importação",
        revisao: 1,
      },
      auth.as.admin,
    );
    expect(corrected.valor).toMatchObject({ valorPercentual: "0.47", revisao: 2, atual: true });
    const read = await running.client.getIndiceValor(
      { indice: IndiceEconomico.IPCA, referencia: ref },
      auth.as.service,
    );
    expect(read.valor?.revisao).toBe(2);
    const all = await running.client.listIndiceValores(
      { indice: IndiceEconomico.IPCA, includeRevisions: true },
      auth.as.auditor,
    );
    expect(all.valores.map((v) => [v.valorPercentual, v.revisao, v.atual])).toEqual([
      ["0.45", 1, false],
      ["0.47", 2, true],
    ]);
    // A stale revision lost the race; a correction changing nothing is refused.
    expect(
      await codeOf(
        running.client.correctIndiceValor(
          {
            indice: IndiceEconomico.IPCA,
            referencia: ref,
            valorPercentual: "0.48",
            fonte: "IBGE",
            motivo: "outra correção qualquer",
            revisao: 1,
          },
          auth.as.admin,
        ),
      ),
    ).toBe("Aborted");
    expect(
      await codeOf(
        running.client.correctIndiceValor(
          {
            indice: IndiceEconomico.IPCA,
            referencia: ref,
            valorPercentual: "0.470",
            fonte: "IBGE",
            motivo: "nada muda aqui mesmo",
            revisao: 2,
          },
          auth.as.admin,
        ),
      ),
    ).toBe("InvalidArgument");
    // Not even the database lets a revision change.
    await expect(
      running.db.query("update indice_valor set valor_percentual = '9' where revisao = 1"),
    ).rejects.toThrow(/immutable/);
  });

  test("once used by a reajuste, a correction must say so, and is published as correcting a used value", async () => {
    const ref = referencia(2027, 2);
    await running.client.registerIndiceValor(
      { indice: IndiceEconomico.INCC, referencia: ref, valorPercentual: "0.61", fonte: "FGV IBRE" },
      auth.as.admin,
    );
    const use = { indice: IndiceEconomico.INCC, referencia: ref, uso: "reajuste:grupo-1:2027-03" };
    const used = await running.client.markIndiceValorUsado(use, auth.as.service);
    expect(used.valor).toMatchObject({ valorPercentual: "0.61", usado: true, revisao: 1 });
    await running.client.markIndiceValorUsado(use, auth.as.service);
    expect(
      await running.db.query("select * from indice_uso where valor_id = $1", [used.valor?.id]),
    ).toHaveLength(1);

    const correction = {
      indice: IndiceEconomico.INCC,
      referencia: ref,
      valorPercentual: "0.66",
      fonte: "FGV IBRE",
      motivo: "FGV republicou o INCC-M de fevereiro",
      revisao: 1,
    };
    expect(await codeOf(running.client.correctIndiceValor(correction, auth.as.admin))).toBe(
      "FailedPrecondition",
    );
    expect(
      (await running.client.getIndiceValor({ indice: IndiceEconomico.INCC, referencia: ref }, auth.as.admin))
        .valor?.valorPercentual,
    ).toBe("0.61");
    const { valor } = await running.client.correctIndiceValor(
      { ...correction, corrigeValorUsado: true },
      auth.as.admin,
    );
    expect(valor).toMatchObject({ revisao: 2, usado: false, motivo: correction.motivo });
    const events = (
      await published<{
        atual?: { id: string };
        anterior?: { id: string; usado: boolean };
        anteriorUsado: boolean;
        motivo: string;
      }>(IndiceRegistradoSchema)
    ).filter((e) => e.atual?.id === valor?.id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ anteriorUsado: true, motivo: correction.motivo });
    expect(events[0]?.anterior?.id).toBe(used.valor?.id);
    // The used revision is still there, as it was.
    const revisions = await running.client.listIndiceValores(
      { indice: IndiceEconomico.INCC, includeRevisions: true },
      auth.as.admin,
    );
    expect(revisions.valores.find((v) => v.id === used.valor?.id)).toMatchObject({
      valorPercentual: "0.61",
      usado: true,
      atual: false,
    });
  });

  test("negative variations (deflation) and index pages", async () => {
    for (const month of [1, 2, 3])
      await running.client.registerIndiceValor(
        {
          indice: IndiceEconomico.IGPM,
          referencia: referencia(2026, month),
          valorPercentual: `-0.${month}`,
          fonte: "FGV",
        },
        auth.as.admin,
      );
    const first = await running.client.listIndiceValores(
      { indice: IndiceEconomico.IGPM, pageSize: 2 },
      auth.as.admin,
    );
    const second = await running.client.listIndiceValores(
      { indice: IndiceEconomico.IGPM, pageSize: 2, pageToken: first.nextPageToken },
      auth.as.admin,
    );
    expect([...first.valores, ...second.valores].map((v) => v.valorPercentual)).toEqual([
      "-0.1",
      "-0.2",
      "-0.3",
    ]);
    expect(
      await codeOf(
        running.client.getIndiceValor(
          { indice: IndiceEconomico.IGPM, referencia: referencia(2026, 9) },
          auth.as.admin,
        ),
      ),
    ).toBe("NotFound");
  });
});

describe("hostile input is InvalidArgument, and nothing is written", () => {
  const cases: [string, () => Promise<unknown>][] = [
    ["key with a NUL", () => running.client.getParametro({ key: "a\u0000b" }, auth.as.admin)],
    [
      "key with SQL",
      () => running.client.getParametro({ key: "x'; drop table parametro;--" }, auth.as.admin),
    ],
    ["huge key", () => running.client.getFeatureFlag({ key: "a".repeat(5000) }, auth.as.admin)],
    ["prefix with LIKE wildcards", () => running.client.listParametros({ keyPrefix: "%" }, auth.as.admin)],
    ["forged page token", () => running.client.listParametros({ pageToken: "eyJ9Jzsg" }, auth.as.admin)],
    [
      "description with control characters",
      () =>
        running.client.createParametro(
          {
            parametro: {
              key: uniqueKey("hostil"),
              tipo: ParametroTipo.TEXT,
              valor: text("ok"),
              description: "a\u0007b",
            },
          },
          auth.as.admin,
        ),
    ],
    [
      "text value with a NUL",
      () =>
        running.client.createParametro(
          { parametro: { key: uniqueKey("hostil"), tipo: ParametroTipo.TEXT, valor: text("a\u0000") } },
          auth.as.admin,
        ),
    ],
    [
      "rollout of 101%",
      () =>
        running.client.createFeatureFlag(
          { flag: { key: uniqueKey("hostil"), rolloutPercent: 101 } },
          auth.as.admin,
        ),
    ],
    [
      "an undefined role",
      () =>
        running.client.createFeatureFlag(
          { flag: { key: uniqueKey("hostil"), roles: [99 as Role] } },
          auth.as.admin,
        ),
    ],
    [
      "a reference month with day 15",
      () =>
        running.client.registerIndiceValor(
          {
            indice: IndiceEconomico.IPCA,
            referencia: { year: 2027, month: 5, day: 15 },
            valorPercentual: "0.1",
            fonte: "IBGE",
          },
          auth.as.admin,
        ),
    ],
    [
      "a variation as a float with exponent",
      () =>
        running.client.registerIndiceValor(
          {
            indice: IndiceEconomico.IPCA,
            referencia: { year: 2027, month: 5, day: 1 },
            valorPercentual: "1e-3",
            fonte: "IBGE",
          },
          auth.as.admin,
        ),
    ],
    [
      "a source with a NUL",
      () =>
        running.client.registerIndiceValor(
          {
            indice: IndiceEconomico.IPCA,
            referencia: { year: 2027, month: 5, day: 1 },
            valorPercentual: "0.1",
            fonte: "IB\u0000GE",
          },
          auth.as.admin,
        ),
    ],
    [
      "an uso with spaces and quotes",
      () =>
        running.client.markIndiceValorUsado(
          { indice: IndiceEconomico.IPCA, referencia: { year: 2027, month: 1, day: 1 }, uso: "x' or 1=1" },
          auth.as.service,
        ),
    ],
  ];
  test.each(cases)("%s", async (_name, call) => {
    const before = await running.db.query("select count(*)::int as n from configuracao_change");
    expect(await codeOf(call())).toBe("InvalidArgument");
    expect(await running.db.query("select count(*)::int as n from configuracao_change")).toEqual(before);
  });
});
