import { createHmac, createSecretKey, type KeyObject, randomBytes } from "node:crypto";
import { open, openBytes, seal } from "@consorcio/platform";
import type { DadosPessoais } from "../domain/consorciado.ts";

/**
 * Envelope encryption of personal data: each consorciado has a random data key,
 * stored wrapped (AES-256-GCM) by the master key; the data is sealed with the
 * data key. Deleting the wrapped key shreds the data, backups included.
 */
export class PiiVault {
  private readonly masterKey: Buffer;
  /** A key object made once: hashing with a raw Buffer key re-imports it on every call (about 5x slower). */
  private readonly indexKey: KeyObject;

  constructor(masterKey: Buffer, indexKey: Buffer) {
    this.masterKey = masterKey;
    this.indexKey = createSecretKey(indexKey);
  }

  newDataKey(consorciadoId: string): { dataKey: Buffer; wrapped: string } {
    const dataKey = randomBytes(32);
    return { dataKey, wrapped: seal(this.masterKey, dataKey, `data_key:${consorciadoId}`) };
  }

  unwrap(consorciadoId: string, wrapped: string): Buffer {
    return openBytes(this.masterKey, wrapped, `data_key:${consorciadoId}`);
  }

  sealDados(consorciadoId: string, dataKey: Buffer, dados: DadosPessoais): string {
    return seal(dataKey, JSON.stringify(dados), `dados:${consorciadoId}`);
  }

  openDados(consorciadoId: string, dataKey: Buffer, sealed: string): DadosPessoais {
    return JSON.parse(open(dataKey, sealed, `dados:${consorciadoId}`)) as DadosPessoais;
  }

  /** Keyed hash for equality lookups (a bare hash of a CPF is reversible by brute force). */
  blindIndex(kind: string, value: string): string {
    return createHmac("sha256", this.indexKey).update(`${kind}:${value}`).digest("base64url");
  }
}
