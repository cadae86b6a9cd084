// The boleto as a PDF (the second copy a consorciado downloads): recibo do pagador and ficha de
// compensação, with the ITF (interleaved 2 of 5) barcode drawn by bwip-js as vector bars into the
// page through a pdf-lib drawing context, at FEBRABAN's size (103 mm × 13 mm).
import { type CivilDate, isoDate } from "@consorcio/domain";
import bwipjs, { type DrawingContext } from "bwip-js";
import { PDFDocument, type PDFFont, type PDFPage, rgb, StandardFonts } from "pdf-lib";
import { formatLinhaDigitavel } from "./domain/boleto.ts";

const MM = 72 / 25.4;
export const BARCODE_WIDTH_MM = 103;
export const BARCODE_HEIGHT_MM = 13;

/** A bar of a linear barcode, in the library's drawing units (left edge and width, full height). */
export interface Barra {
  readonly x: number;
  readonly width: number;
}

/** The bars of the ITF of a 44-digit barcode, as bwip-js draws them, and the total width they span. */
export function itfBars(codigoBarras: string): { bars: Barra[]; width: number } {
  if (!/^\d{44}$/.test(codigoBarras)) throw new RangeError("a boleto barcode has 44 digits");
  const bars: Barra[] = [];
  let width = 0;
  const drawing: DrawingContext<void> = {
    scale: () => null,
    measure: () => ({ width: 0, ascent: 0, descent: 0 }),
    init: (w) => {
      width = w;
    },
    // Linear barcodes are drawn as vertical stroked lines centred on x with width lw.
    line: (x0, _y0, x1, _y1, lw) => {
      if (x0 !== x1) throw new RangeError("unexpected non-vertical bar");
      bars.push({ x: x0 - lw / 2, width: lw });
    },
    polygon: () => {},
    hexagon: () => {},
    ellipse: () => {},
    fill: () => {},
    text: () => {},
    end: () => {},
  };
  bwipjs.render(
    { bcid: "interleaved2of5", text: codigoBarras, scale: 4, height: BARCODE_HEIGHT_MM, includetext: false },
    drawing,
  );
  bars.sort((a, b) => a.x - b.x);
  return { bars, width };
}

function drawBarcode(page: PDFPage, codigoBarras: string, x: number, y: number): void {
  const { bars, width } = itfBars(codigoBarras);
  const k = (BARCODE_WIDTH_MM * MM) / width;
  for (const bar of bars)
    page.drawRectangle({
      x: x + bar.x * k,
      y,
      width: bar.width * k,
      height: BARCODE_HEIGHT_MM * MM,
      color: rgb(0, 0, 0),
    });
}

export interface BoletoPdfInput {
  readonly banco: { readonly codigo: string; readonly nome: string };
  readonly beneficiario: {
    readonly nome: string;
    readonly documento: string;
    readonly agenciaCodigo: string;
  };
  readonly pagador: { readonly nome: string; readonly documento?: string; readonly endereco?: string };
  readonly nossoNumero: string;
  readonly numeroDocumento: string;
  readonly vencimento: CivilDate;
  readonly dataDocumento?: CivilDate;
  readonly valorCentavos: bigint;
  readonly linhaDigitavel: string;
  readonly codigoBarras: string;
  readonly instrucoes?: readonly string[];
  /** Printed as "2ª via" when set. */
  readonly segundaVia?: boolean;
}

const dataBr = (d: CivilDate) => isoDate(d).split("-").reverse().join("/");

/** "1.234,56" from centavos, without floats. */
export function formatReais(centavos: bigint): string {
  const negative = centavos < 0n;
  const abs = negative ? -centavos : centavos;
  const reais = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ".");
  return `${negative ? "-" : ""}${reais},${(abs % 100n).toString().padStart(2, "0")}`;
}

/** Renders the boleto to PDF bytes (A4, one page). */
export async function renderBoletoPdf(input: BoletoPdfInput): Promise<Buffer> {
  const doc = await PDFDocument.create();
  doc.setTitle(`Boleto ${input.nossoNumero}`);
  doc.setProducer("consorcio financeiro");
  const page = doc.addPage([595.28, 841.89]);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const left = 15 * MM;
  const right = 595.28 - 15 * MM;
  const text = (t: string, x: number, y: number, size = 8, f: PDFFont = font) =>
    page.drawText(t, { x, y, size, font: f, color: rgb(0, 0, 0) });
  const field = (label: string, value: string, x: number, y: number, w: number) => {
    page.drawRectangle({ x, y: y - 8, width: w, height: 22, borderColor: rgb(0, 0, 0), borderWidth: 0.5 });
    text(label, x + 2, y + 7, 6);
    text(value, x + 2, y - 4, 9, bold);
  };
  const linha = formatLinhaDigitavel(input.linhaDigitavel);
  const bancoDv = input.codigoBarras.slice(0, 3);
  const valor = `R$ ${formatReais(input.valorCentavos)}`;
  const w = right - left;

  // Recibo do pagador.
  let y = 790;
  text(input.banco.nome, left, y, 12, bold);
  text(`${bancoDv}-9`, left + 150, y, 12, bold);
  text(input.segundaVia ? "RECIBO DO PAGADOR — 2ª VIA" : "RECIBO DO PAGADOR", right - 170, y, 9, bold);
  y -= 30;
  field("Beneficiário", `${input.beneficiario.nome} — ${input.beneficiario.documento}`, left, y, w * 0.6);
  field("Agência/Código do beneficiário", input.beneficiario.agenciaCodigo, left + w * 0.6, y, w * 0.4);
  y -= 24;
  field("Pagador", input.pagador.nome, left, y, w * 0.6);
  field("Nosso número", input.nossoNumero, left + w * 0.6, y, w * 0.4);
  y -= 24;
  field("Número do documento", input.numeroDocumento, left, y, w * 0.3);
  field("Vencimento", dataBr(input.vencimento), left + w * 0.3, y, w * 0.3);
  field("Valor do documento", valor, left + w * 0.6, y, w * 0.4);

  // Ficha de compensação.
  y -= 60;
  page.drawLine({
    start: { x: left, y: y + 20 },
    end: { x: right, y: y + 20 },
    thickness: 0.5,
    dashArray: [3, 3],
  });
  text(input.banco.nome, left, y, 12, bold);
  text(`${bancoDv}-9`, left + 150, y, 12, bold);
  text(linha, left + 200, y, 10, bold);
  y -= 30;
  field(
    "Local de pagamento",
    "Pagável em qualquer banco, lotérica ou aplicativo até o vencimento",
    left,
    y,
    w * 0.7,
  );
  field("Vencimento", dataBr(input.vencimento), left + w * 0.7, y, w * 0.3);
  y -= 24;
  field("Beneficiário", `${input.beneficiario.nome} — ${input.beneficiario.documento}`, left, y, w * 0.7);
  field("Agência/Código do beneficiário", input.beneficiario.agenciaCodigo, left + w * 0.7, y, w * 0.3);
  y -= 24;
  field("Data do documento", input.dataDocumento ? dataBr(input.dataDocumento) : "", left, y, w * 0.2);
  field("Número do documento", input.numeroDocumento, left + w * 0.2, y, w * 0.3);
  field("Espécie", "R$", left + w * 0.5, y, w * 0.2);
  field("Nosso número", input.nossoNumero, left + w * 0.7, y, w * 0.3);
  y -= 24;
  page.drawRectangle({
    x: left,
    y: y - 60,
    width: w * 0.7,
    height: 74,
    borderColor: rgb(0, 0, 0),
    borderWidth: 0.5,
  });
  text("Instruções (texto de responsabilidade do beneficiário)", left + 2, y + 5, 6);
  (input.instrucoes ?? []).slice(0, 6).forEach((line, i) => {
    text(line, left + 2, y - 7 - i * 10, 8);
  });
  field("(=) Valor do documento", valor, left + w * 0.7, y, w * 0.3);
  y -= 80;
  const pagador = [input.pagador.nome, input.pagador.documento, input.pagador.endereco]
    .filter(Boolean)
    .join(" — ");
  text("Pagador", left, y + 8, 6);
  text(pagador, left, y - 2, 8);
  y -= 20;
  text("Autenticação mecânica — Ficha de compensação", right - 170, y, 6);
  drawBarcode(page, input.codigoBarras, left, y - 5 - BARCODE_HEIGHT_MM * MM);
  return Buffer.from(await doc.save());
}
