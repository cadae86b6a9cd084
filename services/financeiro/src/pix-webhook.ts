// The PSP's payment webhook in the shape of the BCB Pix API (POST {"pix":[{endToEndId, txid, valor,
// horario, …}]}). Authentication: HMAC-SHA256 of the raw body with PIX_WEBHOOK_SECRET, hex, in the
// header `x-pix-signature` (optionally prefixed "sha256="), compared in constant time. A forged or
// unsigned call is 401 and writes nothing; a malformed body is 400 and writes nothing.
import { createHmac, timingSafeEqual } from "node:crypto";
import { type CivilDate, civilDate } from "@consorcio/domain";
import type { HttpRoute } from "@consorcio/platform";

export const PIX_WEBHOOK_PATH = "/webhooks/pix";
export const PIX_SIGNATURE_HEADER = "x-pix-signature";
const MAX_BODY = 1024 * 1024;

export function signPix(secret: string, body: string | Buffer): string {
  return createHmac("sha256", secret).update(body).digest("hex");
}

export function validSignature(secret: string, body: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  const given = header.startsWith("sha256=") ? header.slice(7) : header;
  if (!/^[0-9a-f]{64}$/i.test(given)) return false;
  const expected = createHmac("sha256", secret).update(body).digest();
  return timingSafeEqual(expected, Buffer.from(given, "hex"));
}

export interface PixRecebido {
  endToEndId: string;
  txid: string;
  valorCentavos: bigint;
  data: CivilDate;
}

/** "123.45" → 12345n; anything else (negative, more than 2 decimals, exponent) is refused. */
function centavos(valor: unknown): bigint | undefined {
  if (typeof valor !== "string" || !/^\d{1,12}(\.\d{1,2})?$/.test(valor)) return undefined;
  const [int, frac = ""] = valor.split(".");
  const v = BigInt(int as string) * 100n + BigInt(frac.padEnd(2, "0"));
  return v > 0n ? v : undefined;
}

/** The civil date in São Paulo of an RFC 3339 `horario`. */
function dataDe(horario: unknown): CivilDate | undefined {
  if (
    typeof horario !== "string" ||
    !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(horario)
  )
    return undefined;
  // Date parsing is lenient (30/02 becomes 02/03): the calendar part must be a real date.
  try {
    civilDate(Number(horario.slice(0, 4)), Number(horario.slice(5, 7)), Number(horario.slice(8, 10)));
  } catch {
    return undefined;
  }
  const at = new Date(horario);
  if (Number.isNaN(at.getTime())) return undefined;
  const parts = new Intl.DateTimeFormat("en-CA", {
    timeZone: "America/Sao_Paulo",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(at);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value);
  try {
    return civilDate(get("year"), get("month"), get("day"));
  } catch {
    return undefined;
  }
}

/** Parses the notification; a string says what is wrong. */
export function parsePixNotification(body: Buffer): PixRecebido[] | string {
  let json: unknown;
  try {
    json = JSON.parse(body.toString("utf8"));
  } catch {
    return "body is not JSON";
  }
  const list = (json as { pix?: unknown })?.pix;
  if (!Array.isArray(list) || list.length === 0 || list.length > 1000) return "pix must be a non-empty array";
  const out: PixRecebido[] = [];
  for (const [i, item] of list.entries()) {
    const e = item as Record<string, unknown>;
    if (typeof e.endToEndId !== "string" || !/^[a-zA-Z0-9]{32}$/.test(e.endToEndId))
      return `pix[${i}].endToEndId is not a valid end-to-end id`;
    if (typeof e.txid !== "string" || !/^[a-zA-Z0-9]{1,35}$/.test(e.txid)) return `pix[${i}].txid is invalid`;
    const valor = centavos(e.valor);
    if (valor === undefined) return `pix[${i}].valor must be a positive amount like "123.45"`;
    const data = dataDe(e.horario);
    if (!data) return `pix[${i}].horario must be an RFC 3339 date-time`;
    out.push({ endToEndId: e.endToEndId, txid: e.txid, valorCentavos: valor, data });
  }
  return out;
}

type Req = Parameters<HttpRoute>[0];
type Res = Parameters<HttpRoute>[1];

function reply(res: Res, status: number, body: unknown) {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: Req): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

export function pixWebhookRoute(
  secret: string,
  apply: (pix: PixRecebido[]) => Promise<{ aplicados: number; duplicados: number; desconhecidos: number }>,
): HttpRoute {
  return async (req, res) => {
    if (req.method !== "POST") return reply(res, 405, { error: "POST only" });
    const body = await readBody(req);
    if (!body) return reply(res, 413, { error: "body too large" });
    const header = req.headers[PIX_SIGNATURE_HEADER];
    if (!validSignature(secret, body, Array.isArray(header) ? header[0] : header))
      return reply(res, 401, { error: "invalid signature" });
    const parsed = parsePixNotification(body);
    if (typeof parsed === "string") return reply(res, 400, { error: parsed });
    try {
      reply(res, 200, await apply(parsed));
    } catch {
      reply(res, 500, { error: "internal error" });
    }
  };
}
