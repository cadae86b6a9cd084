import { civilDate, Dec } from "@consorcio/domain";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import febrabanJson from "../../layouts/febraban-240-v088.json" with { type: "json" };
import {
  type EmpresaCnab,
  FEBRABAN_240_V088,
  type LinhaRetornoOk,
  loadLayout,
  parseRemessa,
  parseRetorno,
  type TituloRemessa,
  writeRemessa,
  writeRetorno,
} from "../../src/domain/cnab240/index.ts";

const layout = FEBRABAN_240_V088;
const empresa: EmpresaCnab = {
  banco: "237",
  bancoNome: "Bradesco",
  empresaTipoInscricao: "2",
  empresaInscricao: "11222333000181",
  empresaNome: "Administradora de Consórcios São José",
  convenio: "1234567",
  agencia: "1234",
  agenciaDv: "5",
  conta: "1234567",
  contaDv: "8",
};

const titulo = (i: number): TituloRemessa => ({
  nossoNumero: `0000000${String(1000 + i).padStart(4, "0")}8`,
  numeroDocumento: `G12C${i}P3`,
  vencimento: civilDate(2026, 3, 10),
  valorCentavos: 58_500n + BigInt(i),
  dataEmissao: civilDate(2026, 2, 20),
  jurosMoraDiaCentavos: 20n,
  multaPercentual: new Dec("2"),
  dataMulta: civilDate(2026, 3, 11),
  usoEmpresa: `parcela-${i}`,
  pagador: {
    tipoInscricao: "1",
    inscricao: "52998224725",
    nome: "José da Conceição",
    endereco: "Rua das Flores, 100",
    bairro: "Centro",
    cep: "01001000",
    cidade: "São Paulo",
    uf: "SP",
  },
});

function retorno(titulos: number) {
  return writeRetorno(
    {
      empresa,
      sequencialArquivo: 7,
      dataGeracao: civilDate(2026, 3, 26),
      titulos: Array.from({ length: titulos }, (_, i) => ({
        nossoNumero: titulo(i).nossoNumero,
        codigoMovimento: "06",
        valorTituloCentavos: 58_500n + BigInt(i),
        valorPagoCentavos: 58_500n + BigInt(i),
        dataPagamento: civilDate(2026, 3, 10),
        dataCredito: civilDate(2026, 3, 11),
        usoEmpresa: `parcela-${i}`,
        tarifaCentavos: 150n,
      })),
    },
    layout,
  );
}

describe("CNAB 240", () => {
  test("the FEBRABAN layout file covers 1..240 in every record; a broken layout is refused", () => {
    expect(layout.nome).toBe("febraban-240-v088");
    const broken = structuredClone(febrabanJson) as { registros: { T: { campos: Array<{ de: number }> } } };
    const campo = broken.registros.T.campos[5];
    if (campo) campo.de += 1;
    expect(() => loadLayout(broken)).toThrow(/T\./);
  });

  test("retorno: T and U paired into one payment per título", () => {
    const text = retorno(3);
    for (const line of text.split("\r\n").slice(0, -1)) expect(line).toHaveLength(240);
    const r = parseRetorno(text, layout);
    expect(r.problems).toEqual([]);
    expect(r.header).toMatchObject({ banco: "237", codigoArquivo: "2", sequencialArquivo: "000007" });
    expect(r.lines).toHaveLength(3);
    expect(r.lines[0]).toMatchObject({
      ok: true,
      lineNumber: 3,
      lineNumberU: 4,
      nossoNumero: titulo(0).nossoNumero,
      codigoMovimento: "06",
      liquidacao: true,
      valorPagoCentavos: 58_500n,
      valorLiquidoCentavos: 58_350n,
      tarifaCentavos: 150n,
      dataPagamento: civilDate(2026, 3, 10),
      dataCredito: civilDate(2026, 3, 11),
      usoEmpresa: "PARCELA-0",
    });
  });

  test("a file with good, duplicate, unknown and malformed lines: the good ones parse, the rest are reported with line numbers", () => {
    const lines = retorno(4).split("\r\n").slice(0, -1);
    // lines: 1 header, 2 header lote, 3-10 T/U × 4, 11 trailer lote, 12 trailer arquivo
    const [t1, u1] = [lines[2] ?? "", lines[3] ?? ""];
    const garbledValue = `${(lines[7] ?? "").slice(0, 77)}ABCDEFGHIJKLMNO${(lines[7] ?? "").slice(92)}`; // U of título 3: valorPago not a number
    const badDate = `${(lines[8] ?? "").slice(0, 73)}31022026${(lines[8] ?? "").slice(81)}`; // T of título 4: 31/02
    const file = [
      lines[0],
      lines[1],
      t1,
      u1,
      lines[4],
      lines[5],
      t1, // duplicate of título 1
      u1,
      lines[6],
      garbledValue,
      `${(lines[2] ?? "").slice(0, 13)}Z${(lines[2] ?? "").slice(14)}`, // unknown segment Z
      "short line",
      badDate,
      lines[9],
      lines[10],
      lines[11],
    ].join("\n");
    const r = parseRetorno(file, layout);
    const good = r.lines.filter((l): l is LinhaRetornoOk => l.ok);
    expect(good.map((l) => [l.lineNumber, l.nossoNumero])).toEqual([
      [3, titulo(0).nossoNumero],
      [5, titulo(1).nossoNumero],
    ]);
    const bad = r.lines.filter((l) => !l.ok);
    expect(bad).toEqual([
      expect.objectContaining({ lineNumber: 7, kind: "DUPLICADA", duplicateOf: 3 }),
      expect.objectContaining({
        lineNumber: 10,
        kind: "MALFORMADA",
        error: expect.stringMatching(/valorPago/),
      }),
      expect.objectContaining({
        lineNumber: 11,
        kind: "DESCONHECIDA",
        error: expect.stringMatching(/segment "Z"/),
      }),
      expect.objectContaining({
        lineNumber: 12,
        kind: "MALFORMADA",
        error: expect.stringMatching(/10 characters/),
      }),
      expect.objectContaining({
        lineNumber: 13,
        kind: "MALFORMADA",
        error: expect.stringMatching(/vencimento/),
      }),
      expect.objectContaining({
        lineNumber: 14,
        kind: "MALFORMADA",
        error: expect.stringMatching(/malformed segment T at line 13/),
      }),
    ]);
    // The trailers still declare the original counts: reported, not fatal.
    expect(r.problems.map((p) => p.lineNumber)).toEqual([15, 16]);
  });

  test("a file bigger than a lote holds is split into lotes, each numbered from 1, with its own counts", () => {
    const titulos = Array.from({ length: 5 }, (_, i) => ({
      nossoNumero: String(100 + i),
      codigoMovimento: "06",
      valorTituloCentavos: 1_000n,
      valorPagoCentavos: 1_000n,
      dataPagamento: civilDate(2026, 3, 10),
    }));
    // At most 4 detail records a lote: two títulos (T+U) each, three lotes.
    const text = writeRetorno(
      { empresa, sequencialArquivo: 1, dataGeracao: civilDate(2026, 3, 11), titulos },
      layout,
      4,
    );
    const lines = text.split("\r\n").slice(0, -1);
    expect(lines.map((l) => l[7]).join("")).toBe("0" + "13333" + "5" + "13333" + "5" + "1335" + "9");
    expect(lines.filter((l) => l[7] === "3").map((l) => `${l.slice(3, 7)}:${l.slice(8, 13)}`)).toEqual([
      "0001:00001",
      "0001:00002",
      "0001:00003",
      "0001:00004",
      "0002:00001",
      "0002:00002",
      "0002:00003",
      "0002:00004",
      "0003:00001",
      "0003:00002",
    ]);
    const r = parseRetorno(text, layout, { todosCampos: true });
    expect(r.problems).toEqual([]);
    expect(r.lines.map((l) => (l.ok ? l.lote : "x"))).toEqual(["0001", "0001", "0002", "0002", "0003"]);
    const first = r.lines[0];
    expect(first?.ok && first.campos?.T.bancoCobrador).toBe("000");
    expect(parseRetorno(text, layout).lines[0]).toHaveProperty("campos", undefined);
  });

  test("garbage is reported, never thrown", () => {
    const r = parseRetorno("hello\nworld\n\u0000\u0001", layout);
    expect(r.header).toBeUndefined();
    expect(r.lines.every((l) => !l.ok)).toBe(true);
    expect(r.lines.map((l) => l.lineNumber)).toEqual([1, 2, 3]);
    expect(r.problems).toEqual([{ lineNumber: 1, error: "no valid file header" }]);
    expect(parseRetorno("", layout).lines).toEqual([]);
  });

  test("remessa: P, Q, R per título with headers, trailers and counts; round-trips through the parser", () => {
    const titulos = [titulo(1), titulo(2)];
    const text = writeRemessa(
      { empresa, sequencialArquivo: 12, dataGeracao: civilDate(2026, 2, 20), horaGeracao: "101500", titulos },
      layout,
    );
    const lines = text.split("\r\n").slice(0, -1);
    expect(lines).toHaveLength(2 + 3 * 2 + 2);
    for (const line of lines) expect(line).toHaveLength(240);
    expect(lines.map((l) => `${l[7]}${l[7] === "3" ? l[13] : ""}`)).toEqual([
      "0",
      "1",
      "3P",
      "3Q",
      "3R",
      "3P",
      "3Q",
      "3R",
      "5",
      "9",
    ]);
    const lida = parseRemessa(text, layout);
    expect(lida.header).toMatchObject({
      codigoArquivo: "1",
      sequencialArquivo: "000012",
      empresaNome: "ADMINISTRADORA DE CONSORCIOS S" /* 30 characters */,
    });
    expect(lida.trailerLote).toMatchObject({
      quantidadeRegistros: "000008",
      quantidadeTitulosSimples: "000002",
      valorTitulosSimples: 117_003n,
    });
    expect(lida.trailerArquivo).toMatchObject({ quantidadeLotes: "000001", quantidadeRegistros: "000010" });
    expect(lida.titulos).toHaveLength(2);
    lida.titulos.forEach((t, i) => {
      const original = titulos[i] as TituloRemessa;
      expect(t.ok).toBe(true);
      if (!t.ok) return;
      expect(t.campos).toMatchObject({
        nossoNumero: original.nossoNumero,
        numeroDocumento: original.numeroDocumento.toUpperCase(),
        vencimento: original.vencimento,
        valorTitulo: original.valorCentavos,
        dataEmissao: original.dataEmissao,
        jurosMora: 20n,
        dataMulta: original.dataMulta,
        pagadorNome: "JOSE DA CONCEICAO",
        pagadorCidade: "SAO PAULO",
        pagadorCep: "01001000",
        codigoMovimento: "01",
      });
      expect((t.campos.multaPercentual as Dec).eq(2)).toBe(true);
    });
  });

  test("remessa refuses a value that does not fit, naming the título and the field", () => {
    expect(() =>
      writeRemessa(
        {
          empresa,
          sequencialArquivo: 1,
          dataGeracao: civilDate(2026, 2, 20),
          titulos: [titulo(1), { ...titulo(2), valorCentavos: -1n }],
        },
        layout,
      ),
    ).toThrow(/titulos\[1\]\.valorTitulo/);
  });

  test("property: any set of títulos round-trips through retorno writer and parser", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            nn: fc.stringMatching(/^[0-9]{1,20}$/),
            valor: fc.bigInt({ min: 0n, max: 10n ** 13n }),
            dia: fc.integer({ min: 1, max: 28 }),
          }),
          { maxLength: 30 },
        ),
        (items) => {
          const unique = [...new Map(items.map((x) => [x.nn, x])).values()];
          const text = writeRetorno(
            {
              empresa,
              sequencialArquivo: 1,
              dataGeracao: civilDate(2026, 3, 28),
              titulos: unique.map((x) => ({
                nossoNumero: x.nn,
                codigoMovimento: "06",
                valorTituloCentavos: x.valor,
                valorPagoCentavos: x.valor,
                dataPagamento: civilDate(2026, 3, x.dia),
              })),
            },
            layout,
          );
          const r = parseRetorno(text, layout);
          expect(r.problems).toEqual([]);
          expect(
            r.lines.map((l) => (l.ok ? [l.nossoNumero, l.valorPagoCentavos, l.dataPagamento?.day] : l)),
          ).toEqual(unique.map((x) => [x.nn, x.valor, x.dia]));
        },
      ),
    );
  });
});
