import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  buildPixCopiaECola,
  formatValorPix,
  parsePix,
  pixEstaticoBuilder,
  txidDaParcela,
} from "../../src/domain/pix.ts";

/** CRC16-CCITT-FALSE (poly 0x1021, init 0xFFFF), written here only to check the library's from outside. */
function crc16(text: string): string {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc.toString(16).toUpperCase().padStart(4, "0");
}

const base = {
  chave: "12345678000195",
  nomeRecebedor: "Administradora São João",
  cidade: "São Paulo",
};

describe("pix", () => {
  test("txid per parcela: static 25 characters, COB 32 (26–35), deterministic", () => {
    expect(txidDaParcela(123n)).toBe("CSC0000000000000000000123");
    expect(txidDaParcela(123n)).toHaveLength(25);
    expect(txidDaParcela(123n, "COBRANCA")).toMatch(/^[a-zA-Z0-9]{32}$/);
    expect(() => txidDaParcela(0n)).toThrow(/sequencial/);
  });

  test("static copia-e-cola: parses back with a valid CRC, exact amount and txid", () => {
    const txid = txidDaParcela(42n);
    const code = buildPixCopiaECola({ ...base, txid, valorCentavos: 58_500n });
    expect(code.startsWith("000201")).toBe(true);
    expect(code.slice(-8, -4)).toBe("6304");
    expect(code.slice(-4)).toBe(crc16(code.slice(0, -4)));
    expect(code).toContain("5406585.00");
    expect(parsePix(code)).toEqual({
      tipo: "ESTATICO",
      chave: base.chave,
      txid,
      valorCentavos: 58_500n,
      nomeRecebedor: "ADMINISTRADORA SAO JOAO",
      cidade: "SAO PAULO",
    });
  });

  test("a tampered payload fails the CRC", () => {
    const code = buildPixCopiaECola({ ...base, txid: "ABC123", valorCentavos: 100n });
    const tampered = code.replace("1.00", "9.00");
    expect(() => parsePix(tampered)).toThrow(/crc/);
    expect(() => parsePix("not a pix")).toThrow();
  });

  test("COB charge: dynamic BR Code with the PSP's location; txid of 26–35 characters", () => {
    const code = buildPixCopiaECola({
      ...base,
      txid: txidDaParcela(7n, "COBRANCA"),
      valorCentavos: 100n,
      location: "pix.example.com/qr/v2/9d36b84fc70b478fb95c12729b90ca25",
    });
    expect(parsePix(code)).toMatchObject({
      tipo: "COBRANCA",
      location: "pix.example.com/qr/v2/9d36b84fc70b478fb95c12729b90ca25",
    });
    expect(() =>
      buildPixCopiaECola({ ...base, txid: "short", valorCentavos: 100n, location: "pix.example.com/x" }),
    ).toThrow(/txid/);
  });

  test("bad input is refused with its field", () => {
    expect(() => buildPixCopiaECola({ ...base, txid: "has space", valorCentavos: 1n })).toThrow(/txid/);
    expect(() => buildPixCopiaECola({ ...base, txid: "A".repeat(26), valorCentavos: 1n })).toThrow(/txid/);
    expect(() => buildPixCopiaECola({ ...base, txid: "A", valorCentavos: 0n })).toThrow(/valorCentavos/);
    expect(() =>
      buildPixCopiaECola({ ...base, nomeRecebedor: "x".repeat(26), txid: "A", valorCentavos: 1n }),
    ).toThrow(/nomeRecebedor/);
  });

  test("property: any amount and txid round-trip exactly through the library's parser", () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 999_999_999_999n }),
        fc.bigInt({ min: 1n, max: 10n ** 20n }),
        (valor, seq) => {
          const txid = txidDaParcela(seq);
          const code = buildPixCopiaECola({ ...base, txid, valorCentavos: valor });
          expect(code.slice(-4)).toBe(crc16(code.slice(0, -4)));
          const lido = parsePix(code);
          expect(lido).toMatchObject({ tipo: "ESTATICO", txid, valorCentavos: valor });
          expect(code).toContain(formatValorPix(valor));
        },
      ),
    );
  });

  test("the bulk builder writes the library's payload byte for byte, parsed back with a valid CRC", () => {
    const receivers = [
      base,
      { chave: "financeiro@administradora.com.br", nomeRecebedor: "Consórcio X", cidade: "Rio de Janeiro" },
      { chave: "+5511999998888", nomeRecebedor: "A", cidade: "B" },
    ];
    for (const receiver of receivers) {
      const build = pixEstaticoBuilder(receiver);
      fc.assert(
        fc.property(
          fc.bigInt({ min: 1n, max: 999_999_999_999n }),
          fc.stringMatching(/^[a-zA-Z0-9]{1,25}$/),
          (valorCentavos, txid) => {
            const code = build(valorCentavos, txid);
            expect(code).toBe(buildPixCopiaECola({ ...receiver, valorCentavos, txid }));
            const lido = parsePix(code);
            expect(lido).toMatchObject({ tipo: "ESTATICO", txid, valorCentavos, chave: receiver.chave });
          },
        ),
        { numRuns: 200 },
      );
    }
    const build = pixEstaticoBuilder(base);
    expect(() => build(0n, "ABC")).toThrow(/valorCentavos/);
    expect(() => build(100n, "has space")).toThrow(/txid/);
  });
});
