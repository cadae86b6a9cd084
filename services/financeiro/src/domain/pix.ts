// Pix BR Code (EMV MPM with CRC16-CCITT-FALSE) through pix-utils, a maintained library.
//
// Two kinds of copia-e-cola:
// - static (default): key, amount and a txid of up to 25 characters in field 62-05 (the BCB's limit
//   for a static BR Code), paid straight to the key; the PSP reports the txid in its webhook;
// - dynamic (COB): a charge created at the PSP through the Pix API with a txid of 26–35 characters;
//   the BR Code then carries only the PSP's payload location, and the amount lives at the PSP.
import {
  createDynamicPix,
  createStaticPix,
  hasError,
  parsePix as libParsePix,
  PixElementType,
} from "pix-utils";
import { EngineInputError, requireInput } from "./erros.ts";

export const TXID_ESTATICO_MAX = 25;
export const TXID_COBRANCA_PATTERN = /^[a-zA-Z0-9]{26,35}$/;
const TXID_ESTATICO_PATTERN = /^[a-zA-Z0-9]{1,25}$/;

export type ModoPix = "ESTATICO" | "COBRANCA";

/**
 * The txid of a parcela from its unique sequence number (the one that makes its nosso número), so a
 * re-billing produces the same txid: `prefixo` + zero-padded number, 25 characters for a static BR
 * Code, 32 for a COB charge (26–35).
 */
export function txidDaParcela(sequencial: bigint, modo: ModoPix = "ESTATICO", prefixo = "CSC"): string {
  requireInput(sequencial > 0n, "sequencial", "sequencial.positive", "must be > 0");
  requireInput(
    /^[a-zA-Z]{0,10}$/.test(prefixo),
    "prefixo",
    "txid.prefix",
    "must be letters only, at most 10",
  );
  const length = modo === "ESTATICO" ? TXID_ESTATICO_MAX : 32;
  const digits = sequencial.toString();
  requireInput(prefixo.length + digits.length <= length, "sequencial", "txid.length", "too large for a txid");
  return prefixo + digits.padStart(length - prefixo.length, "0");
}

export interface PixInput {
  /** The administradora's Pix key (CNPJ, e-mail, phone +55…, or random EVP key). */
  readonly chave: string;
  readonly txid: string;
  readonly valorCentavos: bigint;
  /** Merchant name, at most 25 characters (accents are removed). */
  readonly nomeRecebedor: string;
  /** Merchant city, at most 15 characters (accents are removed). */
  readonly cidade: string;
  /** For a COB charge: the PSP's payload location (without https://); the txid must then be 26–35 characters. */
  readonly location?: string | undefined;
}

/** EMV fields allow ASCII only; a name like "São Paulo" becomes "Sao Paulo". */
function ascii(text: string): string {
  return text
    .normalize("NFD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^\x20-\x7e]/g, "")
    .trim();
}

/** Formats centavos as the EMV amount ("1234.56"), from the bigint: never through a float. */
export function formatValorPix(valorCentavos: bigint): string {
  const reais = valorCentavos / 100n;
  const centavos = valorCentavos % 100n;
  return `${reais}.${centavos.toString().padStart(2, "0")}`;
}

export function buildPixCopiaECola(input: PixInput): string {
  const nome = ascii(input.nomeRecebedor);
  const cidade = ascii(input.cidade);
  requireInput(
    nome.length >= 1 && nome.length <= 25,
    "nomeRecebedor",
    "pix.nome",
    "must have 1..25 characters",
  );
  requireInput(
    cidade.length >= 1 && cidade.length <= 15,
    "cidade",
    "pix.cidade",
    "must have 1..15 characters",
  );
  if (input.location !== undefined) {
    requireInput(
      TXID_COBRANCA_PATTERN.test(input.txid),
      "txid",
      "pix.txid",
      "a COB txid has 26–35 letters or digits",
    );
    requireInput(
      /^[\x21-\x7e]{1,77}$/.test(input.location),
      "location",
      "pix.location",
      "must be a URL of up to 77 characters",
    );
    const pix = createDynamicPix({ merchantName: nome, merchantCity: cidade, url: input.location });
    if (hasError(pix)) throw new EngineInputError("pix", "pix.invalid", pix.message);
    return pix.toBRCode();
  }
  requireInput(
    TXID_ESTATICO_PATTERN.test(input.txid),
    "txid",
    "pix.txid",
    "a static txid has 1–25 letters or digits",
  );
  requireInput(
    input.chave.length >= 1 && input.chave.length <= 77,
    "chave",
    "pix.chave",
    "must have 1..77 characters",
  );
  requireInput(
    input.valorCentavos > 0n && input.valorCentavos <= 999_999_999_999n,
    "valorCentavos",
    "valor.range",
    "must be > 0",
  );
  // The library takes a JS number and prints it with toFixed(2): exact for centavos below 2^53 / 100.
  const pix = createStaticPix({
    merchantName: nome,
    merchantCity: cidade,
    pixKey: input.chave,
    txid: input.txid,
    transactionAmount: Number(input.valorCentavos) / 100,
  });
  if (hasError(pix)) throw new EngineInputError("pix", "pix.invalid", pix.message);
  const brCode = pix.toBRCode();
  // Belt and braces: the amount printed must be the exact one.
  if (lerTag(brCode, "54") !== formatValorPix(input.valorCentavos))
    throw new RangeError(
      `pix amount printed as ${lerTag(brCode, "54")}, expected ${formatValorPix(input.valorCentavos)}`,
    );
  return brCode;
}

const CRC_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let n = 0; n < 256; n++) {
    let crc = n << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[n] = crc;
  }
  return table;
})();

/** CRC16-CCITT-FALSE of ASCII `text`, continuing from `crc`. */
function crc16(text: string, crc = 0xffff): number {
  for (let i = 0; i < text.length; i++)
    crc = ((crc << 8) & 0xffff) ^ (CRC_TABLE[((crc >> 8) ^ text.charCodeAt(i)) & 0xff] as number);
  return crc;
}

const len2 = (text: string) => (text.length < 10 ? `0${text.length}` : String(text.length));

/**
 * A static copia-e-cola builder for one receiver, for bulk billing: the library builds the payload
 * once, and each call fills in only the amount, the txid and the CRC (the CRC of the fixed prefix
 * is computed once). Its output is the library's byte for byte (tested against it).
 */
export function pixEstaticoBuilder(receiver: {
  readonly chave: string;
  readonly nomeRecebedor: string;
  readonly cidade: string;
}): (valorCentavos: bigint, txid: string) => string {
  const sample = buildPixCopiaECola({ ...receiver, valorCentavos: 1n, txid: "X" });
  const at = (id: string) => {
    let i = 0;
    while (i + 4 <= sample.length) {
      const length = Number(sample.slice(i + 2, i + 4));
      if (sample.slice(i, i + 2) === id) return { start: i, end: i + 4 + length };
      i += 4 + length;
    }
    return undefined;
  };
  const amount = at("54");
  const additional = at("62");
  const crc = at("63");
  // An unexpected shape (a new library version reordering fields): the library per call.
  if (!amount || !additional || !crc || amount.end > additional.start || additional.end !== crc.start)
    return (valorCentavos, txid) =>
      buildPixCopiaECola({ ...receiver, valorCentavos, txid: requireTxid(txid) });
  const head = sample.slice(0, amount.start);
  const mid = sample.slice(amount.end, additional.start);
  const headCrc = crc16(head);
  return (valorCentavos, txid) => {
    requireInput(
      valorCentavos > 0n && valorCentavos <= 999_999_999_999n,
      "valorCentavos",
      "valor.range",
      "must be > 0",
    );
    requireTxid(txid);
    const valor = formatValorPix(valorCentavos);
    const campoTxid = `05${len2(txid)}${txid}`;
    const rest = `54${len2(valor)}${valor}${mid}62${len2(campoTxid)}${campoTxid}6304`;
    return `${head}${rest}${crc16(rest, headCrc).toString(16).toUpperCase().padStart(4, "0")}`;
  };
}

function requireTxid(txid: string): string {
  requireInput(
    TXID_ESTATICO_PATTERN.test(txid),
    "txid",
    "pix.txid",
    "a static txid has 1–25 letters or digits",
  );
  return txid;
}

/** A top-level EMV field of a BR Code (ID, 2-digit length, value). */
function lerTag(brCode: string, id: string): string | undefined {
  let i = 0;
  while (i + 4 <= brCode.length) {
    const tag = brCode.slice(i, i + 2);
    const length = Number(brCode.slice(i + 2, i + 4));
    if (!Number.isInteger(length)) return undefined;
    if (tag === id) return brCode.slice(i + 4, i + 4 + length);
    i += 4 + length;
  }
  return undefined;
}

export type PixLido =
  | {
      readonly tipo: "ESTATICO";
      readonly chave: string;
      readonly txid: string | undefined;
      /** Undefined when the BR Code carries no amount. */
      readonly valorCentavos: bigint | undefined;
      readonly nomeRecebedor: string;
      readonly cidade: string;
    }
  | {
      readonly tipo: "COBRANCA";
      readonly location: string;
      readonly nomeRecebedor: string;
      readonly cidade: string;
    };

/** Reads a copia-e-cola back with the library's parser, which checks its CRC16. */
export function parsePix(brCode: string): PixLido {
  const parsed = libParsePix(brCode);
  if (hasError(parsed)) throw new EngineInputError("pixCopiaECola", "pix.invalid", parsed.message);
  if (parsed.type === PixElementType.STATIC) {
    const amount = lerTag(brCode, "54");
    requireInput(
      amount === undefined || /^\d{1,10}\.\d{2}$/.test(amount),
      "pixCopiaECola",
      "pix.amount",
      "bad amount",
    );
    return {
      tipo: "ESTATICO",
      chave: parsed.pixKey,
      txid: parsed.txid === "***" ? undefined : parsed.txid,
      valorCentavos: amount === undefined ? undefined : BigInt(amount.replace(".", "")),
      nomeRecebedor: parsed.merchantName,
      cidade: parsed.merchantCity,
    };
  }
  if (parsed.type === PixElementType.DYNAMIC)
    return {
      tipo: "COBRANCA",
      location: parsed.url,
      nomeRecebedor: parsed.merchantName,
      cidade: parsed.merchantCity,
    };
  throw new EngineInputError("pixCopiaECola", "pix.unsupported", `unsupported BR Code type ${parsed.type}`);
}
