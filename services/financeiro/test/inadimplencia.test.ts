// Overdue parcelas make a cota INADIMPLENTE; three consecutive unpaid due dates exclude a
// non-contemplated cota and never a contemplated one.
import { CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import { CotaSituacaoAlteradaSchema } from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { ContemplacaoProcessadaSchema } from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, expect, test } from "vitest";
import { INADIMPLENCIA_JOB } from "../src/service.ts";
import { type Financeiro, grupoComCotas, startFinanceiro } from "./support.ts";

let f: Financeiro;
beforeAll(async () => {
  f = await startFinanceiro();
}, 60_000);
afterAll(() => f?.stop());

const situacao = async (cotaId: string) =>
  (await f.sql<{ situacao: string }>("select situacao from cota where id = ?", [cotaId]))[0]?.situacao;
const eventos = async (type: string, cotaId: string) =>
  (
    await f.sql<{ n: number }>(
      "select count(*)::int as n from platform_outbox o where event_type = ? and exists (select 1 from cota c where c.id = ? and position(convert_to(c.id::text, 'UTF8') in o.payload) > 0)",
      [type, cotaId],
    )
  )[0]?.n;

test("three unpaid due dates exclude a non-contemplated cota, never a contemplated one", async () => {
  const { grupoId, cotas } = await grupoComCotas(f, 2);
  const [comum, contemplada] = cotas as unknown as [{ cotaId: string }, { cotaId: string }];
  await f.publish(ContemplacaoProcessadaSchema, {
    contemplacaoId: uuidv7(),
    assembleiaId: uuidv7(),
    grupoId,
    cotaId: contemplada.cotaId,
    modalidade: Modalidade.SORTEIO,
    creditoCentavos: 3_000_000n,
    dataAssembleia: { year: 2026, month: 3, day: 20 },
  });
  // grupos then marks it CONTEMPLADA.
  await f.publish(CotaSituacaoAlteradaSchema, {
    cotaId: contemplada.cotaId,
    grupoId,
    situacao: CotaSituacao.CONTEMPLADA,
    contemplada: true,
  });
  await eventually(async () => (await situacao(contemplada.cotaId)) === "CONTEMPLADA");
  await eventually(
    async () => (await f.sql("select 1 from credito where cota_id = ?", [contemplada.cotaId])).length === 1,
  );

  // The adesão bill was due 05/03: on 06/03 it is overdue.
  await f.clock.set(new Date("2026-03-06T12:00:00Z"));
  expect((await f.service.runJob(INADIMPLENCIA_JOB)).outcome).toBe("succeeded");
  expect(await situacao(comum.cotaId)).toBe("INADIMPLENTE");
  expect(await eventos("consorcio.financeiro.v1.InadimplenciaDetectada", comum.cotaId)).toBe(1);

  await f.parcelas.generateCobranca({ grupoId, competencia: "2026-04" }, f.staff);
  await f.parcelas.generateCobranca({ grupoId, competencia: "2026-05" }, f.staff);
  await f.clock.set(new Date("2026-04-20T12:00:00Z"));
  await f.service.runJob(INADIMPLENCIA_JOB);
  expect(await situacao(comum.cotaId)).toBe("INADIMPLENTE");
  expect(await eventos("consorcio.financeiro.v1.CotaExcluida", comum.cotaId)).toBe(0);

  // 10/05/2026 is a Sunday: paid on Monday 11/05 it is still in time; on 13/05 it is the third.
  await f.clock.set(new Date("2026-05-11T20:00:00Z"));
  await f.service.runJob(INADIMPLENCIA_JOB);
  expect(await situacao(comum.cotaId)).toBe("INADIMPLENTE");
  await f.clock.set(new Date("2026-05-13T12:00:00Z"));
  await f.service.runJob(INADIMPLENCIA_JOB);
  expect(await situacao(comum.cotaId)).toBe("EXCLUIDA");
  expect(await eventos("consorcio.financeiro.v1.CotaExcluida", comum.cotaId)).toBe(1);
  // In arrears, still contemplated (grupos' model): never excluded.
  expect(await situacao(contemplada.cotaId)).toBe("INADIMPLENTE");
  expect(
    (
      await f.sql<{ contemplada: boolean }>("select contemplada from cota where id = ?", [contemplada.cotaId])
    )[0]?.contemplada,
  ).toBe(true);
  expect(await eventos("consorcio.financeiro.v1.CotaExcluida", contemplada.cotaId)).toBe(0);
  const [vencidas] = await f.sql<{ n: number }>(
    "select count(*)::int as n from parcela where cota_id = ? and situacao = 'VENCIDA'",
    [contemplada.cotaId],
  );
  expect(vencidas?.n).toBe(3);

  // Running again changes nothing.
  await f.service.runJob(INADIMPLENCIA_JOB);
  expect(await eventos("consorcio.financeiro.v1.CotaExcluida", comum.cotaId)).toBe(1);
  // An excluded cota is billed no more.
  expect((await f.parcelas.generateCobranca({ grupoId, competencia: "2026-06" }, f.staff)).geradas).toBe(1);
});
