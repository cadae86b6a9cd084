// CNAB 240 retorno import (per-line report, exactly once, original kept in S3) and remessa.
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { civilDate } from "@consorcio/domain";
import { PagamentoRealizadoSchema } from "@consorcio/gen/consorcio/financeiro/v1/eventos_pb.js";
import {
  CanalPagamento,
  LinhaResultado,
  ParcelaSituacao,
} from "@consorcio/gen/consorcio/financeiro/v1/parcela_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { FEBRABAN_240_V088 } from "../src/domain/cnab240/layout.ts";
import { parseRemessa } from "../src/domain/cnab240/remessa.ts";
import { type EmpresaCnab, writeRetorno } from "../src/domain/cnab240/retorno.ts";
import { type Financeiro, grupoComCotas, startFinanceiro } from "./support.ts";

let f: Financeiro;
beforeAll(async () => {
  f = await startFinanceiro();
}, 60_000);
afterAll(() => f?.stop());

const LAYOUT = "febraban-240-v088";
const empresa: EmpresaCnab = {
  banco: "001",
  bancoNome: "BANCO DO BRASIL",
  empresaTipoInscricao: "2",
  empresaInscricao: "12345678000195",
  empresaNome: "ADMINISTRADORA TESTE",
  convenio: "1234567",
  agencia: "1234",
  agenciaDv: "5",
  conta: "56789",
  contaDv: "9",
};

async function codeOf(call: Promise<unknown>): Promise<Code | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    return ConnectError.from(error).code;
  }
}

const pago = (nossoNumero: string, valorPagoCentavos = 58_500n) => ({
  nossoNumero,
  codigoMovimento: "06",
  valorTituloCentavos: 58_500n,
  valorPagoCentavos,
  dataPagamento: civilDate(2026, 3, 4),
  dataCredito: civilDate(2026, 3, 5),
});

const counts = async () =>
  (
    await f.sql<{ pagamentos: number; importacoes: number }>(
      "select (select count(*)::int from pagamento) as pagamentos, (select count(*)::int from importacao_cnab) as importacoes",
    )
  )[0];

describe("CNAB 240 retorno", () => {
  test("good lines apply once; duplicate, unknown and malformed lines are reported with their numbers", async () => {
    const { grupoId } = await grupoComCotas(f, 3);
    const { parcelas } = await f.parcelas.listParcelas({ grupoId }, f.staff);
    const [a, b] = parcelas as unknown as [
      { nossoNumero: string; id: string },
      { nossoNumero: string; id: string },
    ];
    const file = writeRetorno(
      {
        empresa,
        sequencialArquivo: 1,
        dataGeracao: civilDate(2026, 3, 5),
        titulos: [pago(a.nossoNumero), pago(b.nossoNumero), pago(a.nossoNumero), pago("99999999999999999")],
      },
      FEBRABAN_240_V088,
    );
    const lines = file.split(/\r?\n/).filter(Boolean);
    // Lines: 1 header, 2 lote header, 3-4 A, 5-6 B, 7-8 A again, 9-10 unknown, then a broken line.
    lines.splice(10, 0, `${(lines[2] as string).slice(0, 100)}XX`);
    const conteudo = Buffer.from(`${lines.join("\r\n")}\r\n`, "latin1");
    const imports = [];
    for (let i = 0; i < 3; i++)
      imports.push(
        await f.parcelas.importRetornoCnab({ layout: LAYOUT, nomeArquivo: "RET0001.ret", conteudo }, f.staff),
      );
    const [first, second, third] = imports;
    const titulos = (r: typeof first) => r?.linhas.filter((l) => l.linha <= 11) ?? [];
    expect(titulos(first).map((l) => [l.linha, LinhaResultado[l.resultado]])).toEqual([
      [3, "APLICADA"],
      [5, "APLICADA"],
      [7, "DUPLICADA"],
      [9, "REJEITADA"],
      [11, "REJEITADA"],
    ]);
    expect(first?.importacao).toMatchObject({ aplicadas: 2, duplicadas: 1 });
    for (const again of [second, third]) {
      expect(again?.importacao?.aplicadas).toBe(0);
      expect(titulos(again).map((l) => LinhaResultado[l.resultado])).toEqual([
        "DUPLICADA",
        "DUPLICADA",
        "DUPLICADA",
        "REJEITADA",
        "REJEITADA",
      ]);
    }
    for (const p of [a, b]) {
      const { parcela } = await f.parcelas.getParcela({ id: p.id }, f.staff);
      expect(parcela?.situacao).toBe(ParcelaSituacao.PAGA);
      expect((await f.parcelas.listPagamentos({ parcelaId: p.id }, f.staff)).pagamentos).toHaveLength(1);
    }
    // The original file is kept, byte for byte.
    const storage = f.service.context.storage;
    const stored = await storage?.get(first?.importacao?.arquivoKey ?? "");
    const chunks: Buffer[] = [];
    for await (const chunk of stored?.body ?? []) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(conteudo)).toBe(true);
    const { balancete } = await f.ledger.getBalancete({ grupoId }, f.staff);
    expect(balancete?.somaCentavos).toBe(0n);
    // The file's payments are one entry of the grupo (a lote de baixa) naming the import, with the
    // sum of both; each pagamento row keeps its own amount; one PagamentoRealizado per pagamento.
    const lote = await f.sql<{ tipo: string; caixa: string }>(
      `select l.tipo, p.valor_centavos::text as caixa from lancamento l join partida p on p.lancamento_id = l.id
       where l.grupo_id = ? and l.origem = ? and p.conta = 'CAIXA'`,
      [grupoId, `importacao:${first?.importacao?.id}`],
    );
    const pagos = await f.sql<{ soma: string; fc: string }>(
      `select sum(valor_centavos)::text as soma, sum(fundo_comum_centavos)::text as fc from pagamento
       where parcela_id in (?, ?)`,
      [a.id, b.id],
    );
    expect(lote).toEqual([{ tipo: "LOTE_BAIXA", caixa: pagos[0]?.soma }]);
    expect(BigInt(pagos[0]?.fc ?? "0")).toBeGreaterThan(0n);
    const eventos = await f.sql<{ payload: Buffer; actor: string | null }>(
      `select payload, headers->>'actor' as actor from platform_outbox
       where event_type = 'consorcio.financeiro.v1.PagamentoRealizado'`,
    );
    const realizados = eventos.map((e) => ({
      ...fromBinary(PagamentoRealizadoSchema, e.payload),
      actor: e.actor,
    }));
    for (const p of [a, b])
      expect(realizados.filter((e) => e.parcelaId === p.id)).toEqual([
        expect.objectContaining({ grupoId, canal: CanalPagamento.CNAB, actor: expect.any(String) }),
      ]);
  });

  test("a garbage file or an unknown layout is InvalidArgument and writes nothing", async () => {
    const before = await counts();
    expect(
      await codeOf(
        f.parcelas.importRetornoCnab(
          { layout: LAYOUT, nomeArquivo: "x.ret", conteudo: Buffer.from("not a cnab file\nat all\n") },
          f.staff,
        ),
      ),
    ).toBe(Code.InvalidArgument);
    expect(
      await codeOf(
        f.parcelas.importRetornoCnab(
          { layout: "no-such-bank", nomeArquivo: "x.ret", conteudo: Buffer.from("x") },
          f.staff,
        ),
      ),
    ).toBe(Code.InvalidArgument);
    expect(await counts()).toEqual(before);
  });
});

describe("CNAB 240 remessa", () => {
  test("registers the open boletos of a competência with segments P, Q and R", async () => {
    const { grupoId } = await grupoComCotas(f, 2);
    const r = await f.parcelas.generateRemessaCnab(
      { grupoId, competencia: "2026-03", layout: LAYOUT },
      f.staff,
    );
    expect(r.boletos).toBe(2);
    const lida = parseRemessa(Buffer.from(r.conteudo).toString("latin1"), FEBRABAN_240_V088);
    const segmentos = Buffer.from(r.conteudo)
      .toString("latin1")
      .split(/\r?\n/)
      .filter((l) => l[7] === "3")
      .map((l) => l[13]);
    expect(segmentos).toEqual(["P", "Q", "R", "P", "Q", "R"]);
    expect(lida).toBeDefined();
  });
});
