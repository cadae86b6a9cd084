// The money side of a contemplação: credit in CREDITOS_A_PAGAR, the lance charged with a deadline
// (LancePago, or LanceNaoPago when it passes), the credit released once guarantees are registered.
import { Code, ConnectError } from "@connectrpc/connect";
import { Conta, CreditoSituacao } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { Modalidade } from "@consorcio/gen/consorcio/sorteios/v1/assembleia_pb.js";
import { ContemplacaoProcessadaSchema } from "@consorcio/gen/consorcio/sorteios/v1/eventos_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, expect, test } from "vitest";
import { LANCES_JOB } from "../src/service.ts";
import { type Financeiro, grupoComCotas, startFinanceiro } from "./support.ts";

let f: Financeiro;
beforeAll(async () => {
  f = await startFinanceiro();
}, 60_000);
afterAll(() => f?.stop());

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

const outbox = async (type: string) =>
  (
    await f.sql<{ n: number }>("select count(*)::int as n from platform_outbox where event_type = ?", [type])
  )[0]?.n;

async function contemplar(grupoId: string, cotaId: string, lance: bigint) {
  const contemplacaoId = uuidv7();
  await f.publish(ContemplacaoProcessadaSchema, {
    contemplacaoId,
    assembleiaId: uuidv7(),
    grupoId,
    cotaId,
    modalidade: lance > 0n ? Modalidade.LANCE_LIVRE : Modalidade.SORTEIO,
    creditoCentavos: 3_000_000n,
    lanceCentavos: lance,
    lanceEmbutidoCentavos: lance > 0n ? 300_000n : 0n,
    dataAssembleia: { year: 2026, month: 3, day: 20 },
  });
  await eventually(
    async () =>
      (await f.sql("select 1 from credito where contemplacao_id = ?", [contemplacaoId])).length === 1,
  );
  return contemplacaoId;
}

test("a paid lance and registered guarantees release the credit", async () => {
  const { grupoId, cotas } = await grupoComCotas(f, 1);
  const cotaId = (cotas[0] as { cotaId: string }).cotaId;
  const id = await contemplar(grupoId, cotaId, 900_000n);
  const { credito } = await f.creditos.getCredito({ contemplacaoId: id }, f.staff);
  expect(credito?.situacao).toBe(CreditoSituacao.AGUARDANDO_LANCE);
  // 20/03/2026 (Friday) + 3 business days.
  expect(credito?.lancePrazo).toMatchObject({ year: 2026, month: 3, day: 25 });
  const { balancete } = await f.ledger.getBalancete({ grupoId }, f.staff);
  const saldo = new Map(balancete?.saldos.map((s) => [s.conta, s.saldoCentavos]));
  expect(saldo.get(Conta.CREDITOS_A_PAGAR)).toBe(-2_700_000n);
  expect(balancete?.somaCentavos).toBe(0n);

  expect(await codeOf(f.creditos.liberarCredito({ contemplacaoId: id }, f.staff))).toBe(
    Code.FailedPrecondition,
  );
  const lance = (await f.parcelas.listParcelas({ cotaId }, f.staff)).parcelas.find((p) => p.tipo === 3);
  expect(lance?.valorCentavos).toBe(600_000n);
  await f.parcelas.registerPagamentoManual(
    {
      parcelaId: lance?.id ?? "",
      valorCentavos: 600_000n,
      dataPagamento: { year: 2026, month: 3, day: 24 },
      motivo: "TED do lance",
      requestId: "lance-1",
    },
    f.staff,
  );
  expect(await outbox("consorcio.financeiro.v1.LancePago")).toBe(1);
  expect(await codeOf(f.creditos.liberarCredito({ contemplacaoId: id }, f.staff))).toBe(
    Code.FailedPrecondition,
  );
  await f.creditos.registerGarantias(
    { contemplacaoId: id, descricao: "alienação fiduciária registrada" },
    f.staff,
  );
  const liberado = await f.creditos.liberarCredito({ contemplacaoId: id, requestId: "lib-1" }, f.staff);
  expect(liberado.credito?.situacao).toBe(CreditoSituacao.LIBERADO);
  expect(await outbox("consorcio.financeiro.v1.CreditoLiberado")).toBe(1);
  const after = await f.ledger.getBalancete({ grupoId }, f.staff);
  expect(after.balancete?.saldos.find((s) => s.conta === Conta.CREDITOS_A_PAGAR)?.saldoCentavos).toBe(0n);
  expect(after.balancete?.somaCentavos).toBe(0n);
});

test("a lance not paid by its deadline reverses the credit (LanceNaoPago)", async () => {
  const { grupoId, cotas } = await grupoComCotas(f, 1);
  const id = await contemplar(grupoId, (cotas[0] as { cotaId: string }).cotaId, 900_000n);
  await f.clock.set(new Date("2026-03-25T20:00:00Z"));
  await f.service.runJob(LANCES_JOB);
  expect((await f.creditos.getCredito({ contemplacaoId: id }, f.staff)).credito?.situacao).toBe(
    CreditoSituacao.AGUARDANDO_LANCE,
  );
  await f.clock.set(new Date("2026-03-26T12:00:00Z"));
  await f.service.runJob(LANCES_JOB);
  expect((await f.creditos.getCredito({ contemplacaoId: id }, f.staff)).credito?.situacao).toBe(
    CreditoSituacao.CANCELADO,
  );
  expect(await outbox("consorcio.financeiro.v1.LanceNaoPago")).toBe(1);
  const { balancete } = await f.ledger.getBalancete({ grupoId }, f.staff);
  expect(balancete?.saldos.find((s) => s.conta === Conta.CREDITOS_A_PAGAR)?.saldoCentavos).toBe(0n);
});
