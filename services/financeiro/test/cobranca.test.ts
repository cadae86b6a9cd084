// The simulator (public, exact) and monthly billing (idempotent, set-based, boleto and Pix per parcela).
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CobrancaGeradaSchema } from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
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

describe("simulator (public, no token)", () => {
  test("R$ 30.000,00 in 60 months, TA 15%, FR 2% is 585,00 a month; in 50 months 702,00", async () => {
    const sessenta = await f.simulador.simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 60,
      taxaAdministracaoPercentual: "15",
      fundoReservaPercentual: "2",
    });
    expect(sessenta.parcelas).toHaveLength(60);
    expect(sessenta.parcelas[0]).toMatchObject({
      mes: 1,
      fundoComumCentavos: 50_000n,
      taxaAdministracaoCentavos: 7_500n,
      fundoReservaCentavos: 1_000n,
      seguroCentavos: 0n,
      totalCentavos: 58_500n,
    });
    expect(sessenta.totalCentavos).toBe(58_500n * 60n);
    const cinquenta = await f.simulador.simulatePlano({
      precoCentavos: 3_000_000n,
      prazoMeses: 50,
      taxaAdministracaoPercentual: "15",
      fundoReservaPercentual: "2",
    });
    expect(cinquenta.parcelas[49]?.totalCentavos).toBe(70_200n);
  });

  test("R$ 1.000,00 due 10/03 paid 25/03 costs 20,00 + 5,00", async () => {
    const r = await f.simulador.calculateEncargos({
      valorCentavos: 100_000n,
      vencimento: { year: 2026, month: 3, day: 10 },
      pagamento: { year: 2026, month: 3, day: 25 },
    });
    expect(r).toMatchObject({
      diasAtraso: 15,
      multaCentavos: 2_000n,
      jurosCentavos: 500n,
      totalCentavos: 102_500n,
    });
  });

  test("bad input is InvalidArgument", async () => {
    expect(
      await codeOf(
        f.simulador.calculateEncargos({
          valorCentavos: 100_000n,
          vencimento: { year: 2026, month: 2, day: 30 },
          pagamento: { year: 2026, month: 3, day: 25 },
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        f.simulador.calculateEncargos({
          valorCentavos: -1n,
          vencimento: { year: 2026, month: 3, day: 10 },
          pagamento: { year: 2026, month: 3, day: 25 },
        }),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        f.simulador.simulatePlano({
          precoCentavos: 3_000_000n,
          prazoMeses: 60,
          taxaAdministracaoPercentual: "-1",
          fundoReservaPercentual: "2",
        }),
      ),
    ).toBe(Code.InvalidArgument);
  });
});

describe("billing", () => {
  test("CotaAderida bills the first parcela with its boleto and Pix", async () => {
    const { cotas } = await grupoComCotas(f, 1);
    const cota = cotas[0] as { cotaId: string };
    const { parcelas } = await f.parcelas.listParcelas({ cotaId: cota.cotaId }, f.staff);
    expect(parcelas).toHaveLength(1);
    const p = parcelas[0];
    expect(p?.valorCentavos).toBe(58_500n);
    expect(p?.competencia).toBe("2026-03");
    expect(p?.codigoBarras).toMatch(/^\d{44}$/);
    expect(p?.linhaDigitavel).toMatch(/^\d{47}$/);
    expect(p?.pixCopiaECola).toMatch(/^000201/);
    expect(p?.pixCopiaECola).toContain(p?.pixTxid);
  });

  test("the boleto's second copy is a PDF", async () => {
    const { cotas } = await grupoComCotas(f, 1);
    const [parcela] = (
      await f.parcelas.listParcelas({ cotaId: (cotas[0] as { cotaId: string }).cotaId }, f.staff)
    ).parcelas;
    const pdf = await f.parcelas.getBoletoPdf({ id: parcela?.id ?? "" }, f.staff);
    expect(pdf.contentType).toBe("application/pdf");
    expect(Buffer.from(pdf.content).subarray(0, 5).toString()).toBe("%PDF-");
  });

  test("billing a competência twice creates nothing new", async () => {
    const { grupoId } = await grupoComCotas(f, 25);
    const first = await f.parcelas.generateCobranca({ grupoId, competencia: "2026-04" }, f.staff);
    expect(first.geradas).toBe(25);
    expect(first.vencimento).toMatchObject({ year: 2026, month: 4, day: 10 });
    const second = await f.parcelas.generateCobranca({ grupoId, competencia: "2026-04" }, f.staff);
    expect(second).toMatchObject({ geradas: 0, existentes: 25 });
    const [row] = await f.sql<{ n: number; distintos: number }>(
      "select count(*)::int as n, count(distinct nosso_numero)::int as distintos from parcela where grupo_id = ? and competencia = '2026-04'",
      [grupoId],
    );
    expect(row).toEqual({ n: 25, distintos: 25 });
    // The batch is one CobrancaGerada (a ParcelaGerada per parcela would flood the relay), none for the second run.
    const eventos = await f.sql<{ payload: Buffer }>(
      "select payload from platform_outbox where event_type = 'consorcio.financeiro.v1.CobrancaGerada'",
    );
    const cobrancas = eventos
      .map((e) => fromBinary(CobrancaGeradaSchema, e.payload))
      .filter((e) => e.grupoId === grupoId && e.competencia === "2026-04");
    expect(cobrancas).toEqual([
      expect.objectContaining({
        geradas: 25,
        vencimento: expect.objectContaining({ year: 2026, month: 4, day: 10 }),
      }),
    ]);
    // The adesão month is billed already by CotaAderida.
    expect((await f.parcelas.generateCobranca({ grupoId, competencia: "2026-03" }, f.staff)).geradas).toBe(0);
  });

  test("two billings of the same competência at once create each parcela once", async () => {
    const { grupoId } = await grupoComCotas(f, 10);
    const both = await Promise.all([
      f.parcelas.generateCobranca({ grupoId, competencia: "2026-05" }, f.staff),
      f.parcelas.generateCobranca({ grupoId, competencia: "2026-05" }, f.staff),
    ]);
    expect(both.map((r) => r.geradas).sort()).toEqual([0, 10]);
  });

  test("an unknown grupo or a bad competência writes nothing", async () => {
    expect(
      await codeOf(
        f.parcelas.generateCobranca(
          { grupoId: "0190b3a0-0000-7000-8000-000000000001", competencia: "2026-04" },
          f.staff,
        ),
      ),
    ).toBe(Code.NotFound);
    expect(
      await codeOf(
        f.parcelas.generateCobranca(
          { grupoId: "0190b3a0-0000-7000-8000-000000000001", competencia: "2026-13" },
          f.staff,
        ),
      ),
    ).toBe(Code.InvalidArgument);
  });

  test("a consorciado sees only their own parcelas", async () => {
    const { cotas } = await grupoComCotas(f, 2);
    const [mine, theirs] = cotas as [{ cotaId: string; consorciadoId: string }, { cotaId: string }];
    const token = f.auth(await f.issuer.token({ roles: [6], consorciadoId: mine.consorciadoId }));
    expect((await f.parcelas.listParcelas({ cotaId: mine.cotaId }, token)).parcelas).toHaveLength(1);
    expect(await codeOf(f.parcelas.listParcelas({ cotaId: theirs.cotaId }, token))).toBe(
      Code.PermissionDenied,
    );
    const { extrato } = await f.extrato.getExtrato({ cotaId: mine.cotaId }, token);
    expect(extrato).toMatchObject({
      devidoCentavos: 58_500n,
      pagoCentavos: 0n,
      fundoComumPagoPercentual: "0",
    });
    expect(await codeOf(f.extrato.getExtrato({ cotaId: theirs.cotaId }, token))).toBe(Code.PermissionDenied);
    const [alheia] = (await f.parcelas.listParcelas({ cotaId: theirs.cotaId }, f.staff)).parcelas;
    expect(await codeOf(f.parcelas.getParcela({ id: alheia?.id ?? "" }, token))).toBe(Code.PermissionDenied);
    expect(await codeOf(f.parcelas.getBoletoPdf({ id: alheia?.id ?? "" }, token))).toBe(
      Code.PermissionDenied,
    );
  });
});
