import { civilDate } from "@consorcio/domain";
import fc from "fast-check";
import { PDFDocument } from "pdf-lib";
import { describe, expect, test } from "vitest";
import { formatReais, itfBars, renderBoletoPdf } from "../../src/boleto-pdf.ts";
import { buildBoleto } from "../../src/domain/boleto.ts";

// Decodes ITF bar/space widths back to digits: written here to check the library's drawing from outside.
const PATTERNS = ["nnwwn", "wnnnw", "nwnnw", "wwnnn", "nnwnw", "wnwnn", "nwwnn", "nnnww", "wnnwn", "nwnwn"];
function decodeItf(bars: Array<{ x: number; width: number }>): string {
  const elements: number[] = [];
  bars.forEach((bar, i) => {
    const next = bars[i + 1];
    elements.push(bar.width);
    if (next) elements.push(next.x - (bar.x + bar.width));
  });
  const narrow = Math.min(...elements);
  const kind = (w: number) => (w > narrow * 1.5 ? "w" : "n");
  // Start: 4 narrow elements; stop: wide bar, narrow space, narrow bar.
  const body = elements.slice(4, -3);
  let out = "";
  for (let i = 0; i < body.length; i += 10) {
    const chunk = body.slice(i, i + 10);
    const barsPattern = chunk
      .filter((_, j) => j % 2 === 0)
      .map(kind)
      .join("");
    const spacesPattern = chunk
      .filter((_, j) => j % 2 === 1)
      .map(kind)
      .join("");
    out += String(PATTERNS.indexOf(barsPattern)) + String(PATTERNS.indexOf(spacesPattern));
  }
  return out;
}

const boleto = buildBoleto({
  beneficiario: { banco: "237", agencia: "1234", conta: "1234567", carteira: "09" },
  sequencial: 123n,
  vencimento: civilDate(2026, 3, 10),
  valorCentavos: 58_500n,
});

describe("boleto PDF", () => {
  test("the ITF drawn by bwip-js decodes back to the 44 digits", () => {
    const { bars } = itfBars(boleto.codigoBarras);
    expect(bars).toHaveLength(2 + (44 * 5) / 2 + 2);
    expect(decodeItf(bars)).toBe(boleto.codigoBarras);
    fc.assert(
      fc.property(fc.stringMatching(/^\d{44}$/), (digits) => {
        expect(decodeItf(itfBars(digits).bars)).toBe(digits);
      }),
      { numRuns: 20 },
    );
    expect(() => itfBars("123")).toThrow(/44 digits/);
  });

  test("renders a one-page PDF that loads back", async () => {
    const pdf = await renderBoletoPdf({
      banco: { codigo: "237", nome: "Bradesco" },
      beneficiario: {
        nome: "Administradora de Consórcios São José",
        documento: "11.222.333/0001-81",
        agenciaCodigo: "1234/1234567-8",
      },
      pagador: { nome: "José da Conceição", documento: "529.982.247-25" },
      nossoNumero: boleto.nossoNumero.nossoNumero,
      numeroDocumento: "G12-C7-P3",
      vencimento: civilDate(2026, 3, 10),
      dataDocumento: civilDate(2026, 2, 20),
      valorCentavos: 58_500n,
      linhaDigitavel: boleto.linhaDigitavel,
      codigoBarras: boleto.codigoBarras,
      instrucoes: ["Após o vencimento, multa de 2% e juros de 1% ao mês pro rata die."],
      segundaVia: true,
    });
    expect(pdf.subarray(0, 5).toString("latin1")).toBe("%PDF-");
    const doc = await PDFDocument.load(pdf);
    expect(doc.getPageCount()).toBe(1);
    expect(doc.getTitle()).toBe(`Boleto ${boleto.nossoNumero.nossoNumero}`);
  });

  test("reais formatting from centavos", () => {
    expect(formatReais(58_500n)).toBe("585,00");
    expect(formatReais(123_456_789n)).toBe("1.234.567,89");
    expect(formatReais(5n)).toBe("0,05");
  });
});
