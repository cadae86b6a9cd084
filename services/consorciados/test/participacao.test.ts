// The participation history from grupos' events on the real broker, and the retention clock a
// closed grupo starts for its participants' erasure.
import { randomUUID } from "node:crypto";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { TipoPessoa } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { CausaAlteracao, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaAderidaSchema,
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
  CotaTransferidaSchema,
  GrupoEncerradoSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { cpf } from "cpf-cnpj-validator";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { startConsorciados } from "./support.ts";

let h: Awaited<ReturnType<typeof startConsorciados>>;
let admin: { headers: Record<string, string> };

beforeAll(async () => {
  h = await startConsorciados();
  admin = { headers: { authorization: `Bearer ${await h.issuer.token({ roles: [Role.ADMIN] })}` } };
});
afterAll(() => h.stop());

async function novo(): Promise<string> {
  const { consorciado } = await h.client.createConsorciado(
    {
      consorciado: {
        tipo: TipoPessoa.FISICA,
        pessoa: { case: "pf", value: { cpf: cpf.generate(), nome: "Rita Lima" } },
        email: "rita@example.com",
      },
    },
    admin,
  );
  return consorciado?.id ?? "";
}

async function publish<Desc extends DescMessage>(schema: Desc, event: MessageInitShape<Desc>, id = uuidv7()) {
  await h.service.context.bus.publish([
    {
      id,
      type: schema.typeName,
      routingKey: schema.typeName,
      body: toBinary(schema, create(schema, event)),
      headers: { actor: "test" },
      timestamp: new Date(),
    },
  ]);
  return id;
}

const rows = (consorciadoId: string) =>
  h.db.query<{ evento: string; cota_numero: number; grupo_encerrado_at: Date | null }>(
    "select evento, cota_numero, grupo_encerrado_at from participacao where consorciado_id = $1 order by occurred_at, evento",
    [consorciadoId],
  );

describe("participation history", () => {
  test("adesão, cessão, changes of situation and withdrawal are recorded once, and exported", async () => {
    const [ana, bia] = [await novo(), await novo()];
    const grupoId = uuidv7();
    const [cota1, cota2] = [uuidv7(), uuidv7()];
    const t = (iso: string) => timestampFromDate(new Date(iso));
    const aderida = await publish(CotaAderidaSchema, {
      cotaId: cota1,
      grupoId,
      consorciadoId: ana,
      numero: 7,
      adesaoTime: t("2027-01-05T12:00:00Z"),
    });
    await publish(CotaAderidaSchema, { cotaId: cota1, grupoId, consorciadoId: ana, numero: 7 }, aderida);
    await publish(CotaAderidaSchema, {
      cotaId: cota2,
      grupoId,
      consorciadoId: ana,
      numero: 8,
      adesaoTime: t("2027-01-05T12:01:00Z"),
    });
    await publish(CotaSituacaoAlteradaSchema, {
      cotaId: cota1,
      grupoId,
      consorciadoId: ana,
      numero: 7,
      situacao: CotaSituacao.CONTEMPLADA,
      causa: CausaAlteracao.CONTEMPLACAO,
      time: t("2027-02-10T12:00:00Z"),
    });
    // Adesão's own CotaSituacaoAlterada adds nothing: CotaAderida recorded it.
    await publish(CotaSituacaoAlteradaSchema, {
      cotaId: cota1,
      grupoId,
      consorciadoId: ana,
      numero: 7,
      causa: CausaAlteracao.ADESAO,
    });
    await publish(CotaTransferidaSchema, {
      cotaId: cota1,
      grupoId,
      numero: 7,
      cedenteConsorciadoId: ana,
      cessionarioConsorciadoId: bia,
      transferenciaTime: t("2027-03-01T12:00:00Z"),
    });
    await publish(CotaCanceladaSchema, {
      cotaId: cota2,
      grupoId,
      consorciadoId: ana,
      numero: 8,
      cancelamentoTime: t("2027-01-07T12:00:00Z"),
    });
    // A consorciado this service does not know (another administradora's test run) is dropped.
    await publish(CotaAderidaSchema, { cotaId: uuidv7(), grupoId, consorciadoId: randomUUID(), numero: 9 });
    await eventually(async () => (await rows(ana)).length === 5 && (await rows(bia)).length === 1);
    expect((await rows(ana)).map((r) => [r.evento, r.cota_numero])).toEqual([
      ["ADESAO", 7],
      ["ADESAO", 8],
      ["CANCELAMENTO", 8],
      ["CONTEMPLACAO", 7],
      ["CESSAO_CEDIDA", 7],
    ]);
    expect((await rows(bia)).map((r) => [r.evento, r.cota_numero])).toEqual([["CESSAO_RECEBIDA", 7]]);
    const exported = await h.client.exportDadosPessoais({ consorciadoId: bia }, admin);
    const document = JSON.parse(new TextDecoder().decode(exported.document?.data));
    expect(document.participacoes).toMatchObject([{ grupoId, cota: 7, evento: "CESSAO_RECEBIDA" }]);
  });

  test("an erasure waits for the person's last grupo to close, then is due 5 years after", async () => {
    const rita = await novo();
    const [aberto, outro] = [uuidv7(), uuidv7()];
    await publish(CotaAderidaSchema, { cotaId: uuidv7(), grupoId: aberto, consorciadoId: rita, numero: 1 });
    await publish(CotaAderidaSchema, { cotaId: uuidv7(), grupoId: outro, consorciadoId: rita, numero: 2 });
    await eventually(async () => (await rows(rita)).length === 2);
    const owner = {
      headers: {
        authorization: `Bearer ${await h.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId: rita })}`,
      },
    };
    const { consorciado } = await h.client.requestErasure({ consorciadoId: rita }, owner);
    expect(consorciado?.anonimizacaoDueTime).toBeUndefined();
    const closed = new Date(h.clock.now().getTime() + 86_400_000);
    await publish(GrupoEncerradoSchema, { grupoId: aberto, encerramentoTime: timestampFromDate(closed) });
    await eventually(async () => (await rows(rita)).some((r) => r.grupo_encerrado_at));
    // One grupo of hers is still running: nothing scheduled yet.
    expect(
      (await h.client.getConsorciado({ id: rita }, admin)).consorciado?.anonimizacaoDueTime,
    ).toBeUndefined();
    const last = new Date(closed.getTime() + 30 * 86_400_000);
    await publish(GrupoEncerradoSchema, { grupoId: outro, encerramentoTime: timestampFromDate(last) });
    const due = await eventually(
      async () => (await h.client.getConsorciado({ id: rita }, admin)).consorciado?.anonimizacaoDueTime,
    );
    const expected = new Date(last);
    expected.setUTCFullYear(expected.getUTCFullYear() + 5);
    expect(Number(due.seconds)).toBe(Math.floor(expected.getTime() / 1000));
  });

  test("an event of a grupo already closed dates its row with the closing", async () => {
    const leo = await novo();
    const grupoId = uuidv7();
    const closed = new Date("2027-06-01T12:00:00Z");
    await publish(GrupoEncerradoSchema, { grupoId, encerramentoTime: timestampFromDate(closed) });
    await eventually(
      async () =>
        (await h.db.query("select 1 from grupo_encerrado where grupo_id = $1", [grupoId])).length === 1,
    );
    await publish(CotaCanceladaSchema, { cotaId: uuidv7(), grupoId, consorciadoId: leo, numero: 4 });
    const [row] = await eventually(async () => {
      const found = await rows(leo);
      return found.length > 0 ? found : undefined;
    });
    expect(row?.grupo_encerrado_at?.getTime()).toBe(closed.getTime());
  });
});
