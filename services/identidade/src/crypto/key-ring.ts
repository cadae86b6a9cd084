import { type Database, open, seal } from "@consorcio/platform";
import {
  errors,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
  SignJWT,
} from "jose";
import { uuidv7 } from "uuidv7";
import { SigningKey } from "../store/entities.ts";

const ALG = "EdDSA";
type KeyLike = Awaited<ReturnType<typeof importJWK>>;
/** How often a replica re-reads the keys (to see another replica's rotation). */
const RELOAD_MS = 60_000;

interface LoadedKey {
  kid: string;
  publicJwk: JWK;
  privateKey: KeyLike;
  publicKey: KeyLike;
  createdAt: Date;
  retiredAt: Date | null;
}

export interface KeyRingOptions {
  db: Database;
  /** Seals the private keys at rest. */
  secretKey: Buffer;
  issuer: string;
  audience: string;
  accessTtlSeconds: number;
}

/**
 * identidade's signing keys (Ed25519), kept in its database with the private half
 * sealed. The newest key signs; retired keys stay in the JWKS until every token
 * they signed has expired, so a rotation never invalidates a live token.
 */
export class KeyRing {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private readonly options: KeyRingOptions;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: KeyRingOptions) {
    this.options = options;
  }

  get issuer(): string {
    return this.options.issuer;
  }

  get audience(): string {
    return this.options.audience;
  }

  async start(): Promise<void> {
    await this.reload();
    if (this.keys.length === 0) await this.rotate();
    this.timer = setInterval(() => void this.reload().catch(() => undefined), RELOAD_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Keys still published: active, or retired less than one token lifetime (plus margin) ago. */
  private publishedSince(): Date {
    return new Date(Date.now() - (this.options.accessTtlSeconds + 300) * 1000);
  }

  async reload(): Promise<void> {
    const em = this.options.db.fork();
    const rows = await em.find(
      SigningKey,
      { $or: [{ retiredAt: null }, { retiredAt: { $gt: this.publishedSince() } }] },
      { orderBy: { createdAt: "desc" } },
    );
    const keys: LoadedKey[] = [];
    for (const row of rows) {
      const privateJwk = JSON.parse(
        open(this.options.secretKey, row.privateJwk, `signing_key:${row.kid}`),
      ) as JWK;
      keys.push({
        kid: row.kid,
        publicJwk: row.publicJwk as JWK,
        privateKey: await importJWK(privateJwk, ALG),
        publicKey: await importJWK(row.publicJwk as JWK, ALG),
        createdAt: row.createdAt,
        retiredAt: row.retiredAt ?? null,
      });
    }
    this.keys = keys;
    this.loadedAt = Date.now();
  }

  /** Adds a new signing key and retires the others; returns its kid. */
  async rotate(): Promise<string> {
    const { publicKey, privateKey } = await generateKeyPair(ALG, { crv: "Ed25519", extractable: true });
    const kid = uuidv7();
    const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: ALG, use: "sig" };
    const privateJwk = JSON.stringify(await exportJWK(privateKey));
    await this.options.db.fork().transactional(async (em) => {
      await em.nativeUpdate(SigningKey, { retiredAt: null }, { retiredAt: new Date() });
      em.create(SigningKey, {
        kid,
        alg: ALG,
        publicJwk,
        privateJwk: seal(this.options.secretKey, privateJwk, `signing_key:${kid}`),
        retiredAt: null,
      });
    });
    await this.reload();
    return kid;
  }

  jwks(): JSONWebKeySet {
    return { keys: this.keys.map((key) => key.publicJwk) };
  }

  async sign(subject: string, claims: JWTPayload): Promise<{ token: string; expiresIn: number }> {
    const active = this.keys.find((key) => key.retiredAt === null) ?? this.keys[0];
    if (!active) throw new Error("no signing key");
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: ALG, kid: active.kid, typ: "at+jwt" })
      .setSubject(subject)
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setIssuedAt()
      .setJti(uuidv7())
      .setExpirationTime(`${this.options.accessTtlSeconds}s`)
      .sign(active.privateKey);
    return { token, expiresIn: this.options.accessTtlSeconds };
  }

  /** Key resolver for verifying our own tokens: an unknown kid triggers one reload (rate-limited). */
  getKey: JWTVerifyGetKey = async (header) => {
    let key = this.keys.find((k) => k.kid === header.kid);
    if (!key && Date.now() - this.loadedAt > 1_000) {
      await this.reload();
      key = this.keys.find((k) => k.kid === header.kid);
    }
    if (!key || header.alg !== ALG) throw new errors.JWKSNoMatchingKey();
    return key.publicKey;
  };
}
