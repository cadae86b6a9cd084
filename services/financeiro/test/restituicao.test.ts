// Restitution to an excluded cota (% of FC paid × price at the assembleia, TA not refunded), the
// full refund of a withdrawal within 7 days, and the database refusing an unbalanced entry.
import { Code, ConnectError } from "@connectrpc/connect";
import { RestituicaoMotivo } from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { CausaAlteracao, CotaSituacao } from "@consorcio/gen/consorcio/grupos/v1/cota_pb.js";
import {
  CotaCanceladaSchema,
  CotaSituacaoAlteradaSchema,
} from "@consorcio/gen/consorcio/grupos/v1/eventos_pb.js";
import { eventually } from "@consorcio/platform/testing.ts";
import { uuidv7 } from "uuidv7";
import { afterAll, beforeAll, expect, test } from "vitest";
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

async function cotaPaga() {
  const { grupoId, cotas } = await grupoComCotas(f, 1);
  const cotaId = (cotas[0] as { cotaId: string }).cotaId;
  const [parcela] = (await f.parcelas.listParcelas({ cotaId }, f.staff)).parcelas;
  await f.parcelas.registerPagamentoManual(
    {
      parcelaId: parcela?.id ?? "",
      valorCentavos: 58_500n,
      dataPagamento: { year: 2026, month: 3, day: 3 },
      motivo: "primeira parcela",
      requestId: uuidv7(),
    },
    f.staff,
  );
  return { grupoId, cotaId };
}

test("an excluded cota gets back its % of FC paid at the new price; TA is not refunded", async () => {
  const { grupoId, cotaId } = await cotaPaga();
  expect(
    await codeOf(f.restituicoes.calculateRestituicao({ cotaId, precoCentavos: 3_300_000n }, f.staff)),
  ).toBe(Code.FailedPrecondition);
  await f.publish(CotaSituacaoAlteradaSchema, {
    cotaId,
    grupoId,
    situacao: CotaSituacao.EXCLUIDA,
    causa: CausaAlteracao.UNSPECIFIED,
  });
  await eventually(
    async () =>
      (await f.sql<{ situacao: string }>("select situacao from cota where id = ?", [cotaId]))[0]?.situacao ===
      "EXCLUIDA",
  );
  // 1/60 of the FC paid (500,00 of 30.000,00) at a price of 33.000,00: 550,00.
  const { restituicao } = await f.restituicoes.calculateRestituicao(
    { cotaId, precoCentavos: 3_300_000n, requestId: "rest-1" },
    f.staff,
  );
  expect(restituicao).toMatchObject({ motivo: RestituicaoMotivo.EXCLUSAO, valorCentavos: 55_000n });
  const again = await f.restituicoes.calculateRestituicao({ cotaId, precoCentavos: 3_300_000n }, f.staff);
  expect(again.restituicao?.id).toBe(restituicao?.id);
  const paid = await f.restituicoes.payRestituicao(
    { id: restituicao?.id ?? "", requestId: "pay-1" },
    f.staff,
  );
  expect(paid.restituicao?.situacao).toBe(2);
  const { balancete } = await f.ledger.getBalancete({ grupoId }, f.staff);
  expect(balancete?.somaCentavos).toBe(0n);
});

test("a withdrawal within 7 days refunds everything paid, TA included", async () => {
  const { grupoId, cotaId } = await cotaPaga();
  await f.publish(CotaCanceladaSchema, { cotaId, grupoId, restituicaoIntegral: true });
  await eventually(
    async () => (await f.sql("select 1 from restituicao where cota_id = ?", [cotaId])).length === 1,
  );
  const { restituicoes } = await f.restituicoes.listRestituicoes({ grupoId }, f.staff);
  expect(restituicoes).toHaveLength(1);
  expect(restituicoes[0]).toMatchObject({ motivo: RestituicaoMotivo.DESISTENCIA, valorCentavos: 58_500n });
});

test("the database refuses an unbalanced entry", async () => {
  const { grupoId } = await grupoComCotas(f, 1);
  const id = uuidv7();
  await expect(
    f.em().transactional(async (em) => {
      await em.execute("insert into lancamento (id, grupo_id, tipo, origem) values (?, ?, 'TESTE', ?)", [
        id,
        grupoId,
        `teste:${id}`,
      ]);
      await em.execute(
        "insert into partida (lancamento_id, grupo_id, conta, valor_centavos) values (?, ?, 'CAIXA', 100), (?, ?, 'FUNDO_COMUM', -99)",
        [id, grupoId, id, grupoId],
      );
    }),
  ).rejects.toThrow(/not balanced/);
  expect(await f.sql("select 1 from lancamento where id = ?", [id])).toHaveLength(0);
});
