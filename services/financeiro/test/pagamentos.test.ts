// Payments exactly once: the Pix webhook (HMAC-signed, BCB Pix API shape) and manual payments;
// overpayment, underpayment and payment of a cancelled parcela each explicit; the ledger balanced.
import { Code, ConnectError } from "@connectrpc/connect";
import {
  Conta,
  PagamentoResultado,
  ParcelaSituacao,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { PIX_SIGNATURE_HEADER, PIX_WEBHOOK_PATH, signPix } from "../src/pix-webhook.ts";
import { type Financeiro, grupoComCotas, PIX_SECRET, startFinanceiro } from "./support.ts";

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

async function webhook(body: string, signature = signPix(PIX_SECRET, body)) {
  const res = await fetch(`${f.service.url}${PIX_WEBHOOK_PATH}`, {
    method: "POST",
    headers: { "content-type": "application/json", [PIX_SIGNATURE_HEADER]: signature },
    body,
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function primeiraParcela() {
  const { grupoId, cotas } = await grupoComCotas(f, 1);
  const cotaId = (cotas[0] as { cotaId: string }).cotaId;
  const [parcela] = (await f.parcelas.listParcelas({ cotaId }, f.staff)).parcelas;
  if (!parcela) throw new Error("no parcela");
  return { grupoId, cotaId, parcela };
}

const e2e = (n: number) => `E12345678202603021200${String(n).padStart(11, "0")}`;
const counts = async () =>
  (
    await f.sql<{ pagamentos: number; lancamentos: number; outbox: number }>(
      `select (select count(*)::int from pagamento) as pagamentos, (select count(*)::int from lancamento) as lancamentos,
        (select count(*)::int from platform_outbox where event_type = 'consorcio.financeiro.v1.PagamentoRealizado') as outbox`,
    )
  )[0];

async function balanceteZero(grupoId: string) {
  const { balancete } = await f.ledger.getBalancete({ grupoId }, f.staff);
  expect(balancete?.somaCentavos).toBe(0n);
  return new Map(balancete?.saldos.map((s) => [s.conta, s.saldoCentavos]));
}

describe("Pix webhook", () => {
  test("the same notification delivered 3 times applies once", async () => {
    const { grupoId, parcela } = await primeiraParcela();
    const body = JSON.stringify({
      pix: [
        {
          endToEndId: e2e(1),
          txid: parcela.pixTxid,
          valor: "585.00",
          horario: "2026-03-03T10:00:00.000-03:00",
        },
      ],
    });
    const replies = [await webhook(body), await webhook(body), await webhook(body)];
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies.map((r) => r.body.aplicados)).toEqual([1, 0, 0]);
    expect(replies.map((r) => r.body.duplicados)).toEqual([0, 1, 1]);
    const { parcela: paga } = await f.parcelas.getParcela({ id: parcela.id }, f.staff);
    expect(paga?.situacao).toBe(ParcelaSituacao.PAGA);
    expect(paga?.pagoCentavos).toBe(58_500n);
    const { pagamentos } = await f.parcelas.listPagamentos({ parcelaId: parcela.id }, f.staff);
    expect(pagamentos).toHaveLength(1);
    const saldos = await balanceteZero(grupoId);
    expect(saldos.get(Conta.CAIXA)).toBe(58_500n);
    expect(saldos.get(Conta.FUNDO_COMUM)).toBe(-50_000n);
    expect(saldos.get(Conta.TAXA_ADMINISTRACAO)).toBe(-7_500n);
    expect(saldos.get(Conta.FUNDO_RESERVA)).toBe(-1_000n);
    expect(await f.ledger.getCaixaDisponivel({ grupoId }, f.staff)).toMatchObject({
      fundoComumCentavos: 50_000n,
      fundoReservaCentavos: 1_000n,
    });
  });

  test("a Pix with a txid no parcela has is kept in suspense, once, and counts as paid nowhere", async () => {
    const body = JSON.stringify({
      pix: [
        {
          endToEndId: e2e(90),
          txid: "CSC9999999999999999999999",
          valor: "10.00",
          horario: "2026-03-03T10:00:00Z",
        },
      ],
    });
    const before = await counts();
    const replies = [await webhook(body), await webhook(body)];
    expect(replies.map((r) => [r.status, r.body.desconhecidos, r.body.aplicados])).toEqual([
      [200, 1, 0],
      [200, 1, 0],
    ]);
    expect(await counts()).toEqual(before);
    expect(
      await f.sql("select txid, valor_centavos::text as v from pix_suspenso where end_to_end_id = ?", [
        e2e(90),
      ]),
    ).toEqual([{ txid: "CSC9999999999999999999999", v: "1000" }]);
  });

  test("a forged or unsigned notification is 401 and writes nothing", async () => {
    const { parcela } = await primeiraParcela();
    const body = JSON.stringify({
      pix: [{ endToEndId: e2e(2), txid: parcela.pixTxid, valor: "585.00", horario: "2026-03-03T10:00:00Z" }],
    });
    const before = await counts();
    expect((await webhook(body, signPix("not-the-secret", body))).status).toBe(401);
    expect((await webhook(body, "")).status).toBe(401);
    expect((await webhook(`${body} `, signPix(PIX_SECRET, body))).status).toBe(401);
    expect(await counts()).toEqual(before);
  });

  test("malformed notifications (negative amount, bad date, garbage) are 400 and write nothing", async () => {
    const { parcela } = await primeiraParcela();
    const before = await counts();
    const bad = [
      "garbage{",
      JSON.stringify({ pix: [] }),
      JSON.stringify({
        pix: [
          { endToEndId: e2e(3), txid: parcela.pixTxid, valor: "-585.00", horario: "2026-03-03T10:00:00Z" },
        ],
      }),
      JSON.stringify({
        pix: [
          { endToEndId: e2e(3), txid: parcela.pixTxid, valor: "585.00", horario: "2026-02-30T10:00:00Z" },
        ],
      }),
      JSON.stringify({
        pix: [
          { endToEndId: "short", txid: parcela.pixTxid, valor: "585.00", horario: "2026-03-03T10:00:00Z" },
        ],
      }),
    ];
    for (const body of bad) expect((await webhook(body)).status).toBe(400);
    expect(await counts()).toEqual(before);
  });
});

describe("manual payments and exceptions", () => {
  test("an underpayment leaves the parcela partial; the rest, late, pays encargos split by the grupo", async () => {
    const { grupoId, parcela } = await primeiraParcela();
    // Due 2026-03-05 (adesão 02/03 + 3 days).
    const first = await f.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: 30_000n,
        dataPagamento: { year: 2026, month: 3, day: 4 },
        motivo: "depósito identificado",
        requestId: "manual-1",
      },
      f.staff,
    );
    expect(first.pagamento?.resultado).toBe(PagamentoResultado.PARCIAL);
    expect(first.parcela?.situacao).toBe(ParcelaSituacao.PARCIAL);
    expect(first.parcela?.pagoCentavos).toBe(30_000n);
    // The same request again changes nothing.
    const again = await f.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: 30_000n,
        dataPagamento: { year: 2026, month: 3, day: 4 },
        motivo: "depósito identificado",
        requestId: "manual-1",
      },
      f.staff,
    );
    expect(again.pagamento?.id).toBe(first.pagamento?.id);
    // 28.500 owed, paid 30 days late: multa 570, juros 285.
    const rest = await f.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: 28_500n + 570n + 285n,
        dataPagamento: { year: 2026, month: 4, day: 4 },
        motivo: "restante com encargos",
        requestId: "manual-2",
      },
      f.staff,
    );
    expect(rest.pagamento).toMatchObject({
      resultado: PagamentoResultado.INTEGRAL,
      principalCentavos: 28_500n,
      multaCentavos: 570n,
      jurosCentavos: 285n,
    });
    expect(rest.parcela?.situacao).toBe(ParcelaSituacao.PAGA);
    const saldos = await balanceteZero(grupoId);
    expect(saldos.get(Conta.FUNDO_COMUM)).toBe(-50_000n);
    expect((saldos.get(Conta.ENCARGOS_GRUPO) ?? 0n) + (saldos.get(Conta.ENCARGOS_ADMINISTRADORA) ?? 0n)).toBe(
      -855n,
    );
    expect(saldos.get(Conta.ENCARGOS_GRUPO)).toBe(-428n);
  });

  test("an overpayment is a credit of the cota; paying a paid parcela again is a refund", async () => {
    const { grupoId, parcela } = await primeiraParcela();
    const over = await f.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: 60_000n,
        dataPagamento: { year: 2026, month: 3, day: 3 },
        motivo: "transferência a maior",
        requestId: "over-1",
      },
      f.staff,
    );
    expect(over.pagamento).toMatchObject({
      resultado: PagamentoResultado.EXCEDENTE,
      creditoCentavos: 1_500n,
    });
    const twice = await f.parcelas.registerPagamentoManual(
      {
        parcelaId: parcela.id,
        valorCentavos: 58_500n,
        dataPagamento: { year: 2026, month: 3, day: 3 },
        motivo: "pagamento em duplicidade",
        requestId: "over-2",
      },
      f.staff,
    );
    expect(twice.pagamento).toMatchObject({
      resultado: PagamentoResultado.ESTORNO,
      estornoCentavos: 58_500n,
    });
    const saldos = await balanceteZero(grupoId);
    expect(saldos.get(Conta.VALORES_A_DEVOLVER)).toBe(-(1_500n + 58_500n));
    const { extrato } = await f.extrato.getExtrato({ cotaId: parcela.cotaId }, f.staff);
    expect(extrato?.creditoCentavos).toBe(1_500n);
  });

  test("bad input is InvalidArgument and writes nothing", async () => {
    const { parcela } = await primeiraParcela();
    const before = await counts();
    for (const req of [
      { valorCentavos: -5n, dataPagamento: { year: 2026, month: 3, day: 3 } },
      { valorCentavos: 100n, dataPagamento: { year: 2026, month: 2, day: 31 } },
      { valorCentavos: 100n, dataPagamento: undefined },
    ])
      expect(
        await codeOf(
          f.parcelas.registerPagamentoManual(
            { parcelaId: parcela.id, motivo: "teste de validação", requestId: "bad", ...req },
            f.staff,
          ),
        ),
      ).toBe(Code.InvalidArgument);
    expect(await counts()).toEqual(before);
  });
});
