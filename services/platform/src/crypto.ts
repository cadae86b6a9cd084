import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** Parses a 256-bit key given as base64 (the form secrets take in the environment). */
export function parseKey(base64: string, name: string): Buffer {
  const key = Buffer.from(base64, "base64");
  if (key.length !== 32) throw new Error(`${name} must be 32 bytes, base64-encoded`);
  return key;
}

/**
 * AES-256-GCM. The result is `v1.<iv>.<ciphertext>.<tag>` in base64url; `context`
 * binds it to where it is stored (additional data), so a sealed value moved to
 * another row or column does not open.
 */
export function seal(key: Buffer, plaintext: string | Uint8Array, context = ""): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return ["v1", iv, body, cipher.getAuthTag()]
    .map((part) => (typeof part === "string" ? part : part.toString("base64url")))
    .join(".");
}

export function openBytes(key: Buffer, sealed: string, context = ""): Buffer {
  const [version, iv, body, tag] = sealed.split(".");
  if (version !== "v1" || !iv || body === undefined || !tag) throw new Error("not a sealed value");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(iv, "base64url"));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(body, "base64url")), decipher.final()]);
}

export function open(key: Buffer, sealed: string, context = ""): string {
  return openBytes(key, sealed, context).toString("utf8");
}

/** SHA-256 hex: for high-entropy secrets (tokens) that need lookup, not for passwords. */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value).digest("hex");
}

/** A random secret of `bytes` bytes in base64url. */
export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}
