// Login, refresh, logout, client credentials and TOTP: the token side of identidade.
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { RetryInfoSchema } from "@consorcio/gen/google/rpc/error_details_pb.js";
import {
  type Cache,
  type Clock,
  FailedPreconditionError,
  InvalidArgumentError,
  type Outcome,
  open,
  ResourceExhaustedError,
  randomSecret,
  seal,
  sha256Hex,
  UnauthenticatedError,
  type UnitOfWork,
} from "@consorcio/platform";
import { type InferEntity, LockMode } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { hash, verify } from "@node-rs/argon2";
import { Secret, TOTP } from "otpauth";
import { uuidv7 } from "uuidv7";
import type { KeyRing } from "../crypto/key-ring.ts";
import { grantedScopes, isClient, type ThrottlePolicy } from "../domain/accounts.ts";
import { decideRefresh } from "../domain/refresh.ts";
import { type LoginFailureReason, mayObtainTokens, statusOf } from "../domain/usuario.ts";
import { publishLoginBloqueado, publishLoginFalhou } from "../events/published.ts";
import { RefreshToken, Usuario } from "../store/entities.ts";
import { Throttle } from "./login-throttle.ts";

export interface AuthSettings {
  secretKey: Buffer;
  refreshTtlSeconds: number;
  issuerName: string;
  loginLimitPerIp: number;
  loginLimitPerUser: number;
  throttle: ThrottlePolicy;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
}

type UsuarioRow = InferEntity<typeof Usuario>;

const ARGON2ID = 2;
/** Verified when the username does not exist, so both paths cost the same. */
const DUMMY_HASH = await hash(randomSecret(), { algorithm: ARGON2ID });
const GENERIC_FAILURE = "invalid username or password";

export function hashSecret(secret: string): Promise<string> {
  return hash(secret, { algorithm: ARGON2ID });
}

export function normalizeUsername(username: string): string {
  return username.trim().toLowerCase();
}

/** Refused without looking at the password; the same for every username, existing or not. */
function heldBack(until: Date, now: Date): ConnectError {
  const seconds = Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000));
  return new ConnectError(
    `too many failed logins from this address: try again in ${seconds} s`,
    Code.ResourceExhausted,
    { "retry-after": String(seconds) },
    [{ desc: RetryInfoSchema, value: { retryDelay: { seconds: BigInt(seconds) } } }],
  );
}

export class AuthFlows {
  private readonly keys: KeyRing;
  private readonly cache: Cache;
  private readonly settings: AuthSettings;
  /** Refresh-token expiry and revocation times; access tokens are signed on real time. */
  private readonly clock: Clock;
  readonly throttle: Throttle;

  constructor(keys: KeyRing, cache: Cache, settings: AuthSettings, clock: Clock) {
    this.keys = keys;
    this.cache = cache;
    this.settings = settings;
    this.clock = clock;
    this.throttle = new Throttle(settings.secretKey, settings.throttle);
  }

  /**
   * One-minute windows in Redis per source and per (username, source): a burst guard in front
   * of the database throttle, which holds on its own when Redis is down. Never per username
   * alone, or anyone could keep an account out.
   */
  async checkRateLimit(username: string, clientIp: string | undefined): Promise<void> {
    const { userKey, sourceKey } = this.throttle.keys(username, clientIp);
    const perUser = await this.cache.hit(`login:user:${userKey}:${sourceKey}`, 60);
    const perSource = clientIp ? await this.cache.hit(`login:source:${sourceKey}`, 60) : undefined;
    if (
      (perUser ?? 0) > this.settings.loginLimitPerUser ||
      (perSource ?? 0) > this.settings.loginLimitPerIp
    ) {
      throw new ResourceExhaustedError("too many login attempts, try again in a minute");
    }
  }

  async login(
    uow: UnitOfWork,
    input: {
      username: string;
      password: string;
      totpCode: string;
      recoveryCode: string;
      clientIp?: string | undefined;
    },
  ): Promise<Outcome<Tokens>> {
    const { em } = uow;
    const username = normalizeUsername(input.username);
    const fail = (reason: LoginFailureReason, usuarioId: string, error: Error) => {
      publishLoginFalhou(uow, { usuarioId, reason, clientIp: input.clientIp ?? "" });
      return { error };
    };
    const keys = this.throttle.keys(username, input.clientIp);
    const now = this.clock.now();
    const heldUntil = await this.throttle.heldUntil(em, keys, now);
    if (heldUntil) return fail("LOCKED", "", heldBack(heldUntil, now));
    const usuario = await em.findOne(Usuario, { username });
    const person = usuario && !isClient(usuario.kind) ? usuario : undefined;
    const recordFailure = async () => {
      const { failures, heldUntil } = await this.throttle.recordFailure(em, keys, person?.id, now);
      if (person && heldUntil) {
        // For the account's owner and the administrators: someone is guessing.
        publishLoginBloqueado(uow, { usuarioId: person.id, sourceKey: keys.sourceKey, heldUntil, failures });
      }
    };
    const passwordOk = await verify(person?.secretHash ?? DUMMY_HASH, input.password);
    if (!person || !passwordOk) {
      await recordFailure();
      return fail("BAD_CREDENTIALS", person?.id ?? "", new UnauthenticatedError(GENERIC_FAILURE));
    }
    if (!mayObtainTokens(statusOf(person)))
      return fail("DISABLED", person.id, new FailedPreconditionError("account disabled"));
    if (person.totpSecret) {
      if (!input.totpCode && !input.recoveryCode) {
        return fail(
          "MFA_REQUIRED",
          person.id,
          new FailedPreconditionError("MFA code required: send totp_code or recovery_code"),
        );
      }
      if (!this.checkSecondFactor(person, input.totpCode, input.recoveryCode)) {
        await recordFailure();
        return fail("MFA_INVALID", person.id, new UnauthenticatedError("invalid MFA code"));
      }
    }
    await this.throttle.clear(em, keys);
    return { ok: await this.issue(em, person, uuidv7()) };
  }

  private checkSecondFactor(usuario: UsuarioRow, totpCode: string, recoveryCode: string): boolean {
    if (totpCode) {
      const secret = open(this.settings.secretKey, usuario.totpSecret ?? "", `totp:${usuario.id}`);
      const delta = this.totp(usuario, secret).validate({ token: totpCode, window: 1 });
      if (delta === null) return false;
      const step = Math.floor(Date.now() / 30_000) + delta;
      if (
        usuario.totpLastStep !== null &&
        usuario.totpLastStep !== undefined &&
        step <= usuario.totpLastStep
      ) {
        return false; // replayed
      }
      usuario.totpLastStep = step;
      return true;
    }
    const codeHash = sha256Hex(recoveryCode.trim().toUpperCase());
    if (!usuario.recoveryCodes.includes(codeHash)) return false;
    usuario.recoveryCodes = usuario.recoveryCodes.filter((code: string) => code !== codeHash); // single use
    return true;
  }

  private async issue(em: EntityManager, usuario: UsuarioRow, familyId: string): Promise<Tokens> {
    const { token, expiresIn } = await this.keys.sign(usuario.id, accessClaims(usuario));
    const refreshToken = randomSecret(32);
    em.create(RefreshToken, {
      id: uuidv7(),
      tokenHash: sha256Hex(refreshToken),
      familyId,
      usuarioId: usuario.id,
      expiresAt: new Date(this.clock.now().getTime() + this.settings.refreshTtlSeconds * 1000),
      usedAt: null,
      revokedAt: null,
    });
    return { accessToken: token, refreshToken, expiresIn };
  }

  async refresh(em: EntityManager, refreshToken: string): Promise<Outcome<Tokens>> {
    // Row lock: two concurrent uses of one token are serialized, and the second is a reuse.
    const current = await em.findOne(
      RefreshToken,
      { tokenHash: sha256Hex(refreshToken) },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    const invalid = { error: new UnauthenticatedError("invalid refresh token") };
    if (!current) return invalid;
    const now = this.clock.now();
    const decision = decideRefresh(
      { expiresAt: current.expiresAt, usedAt: current.usedAt ?? null, revokedAt: current.revokedAt ?? null },
      now,
    );
    if (decision === "reuse") {
      await this.revokeFamily(em, current.familyId);
      return invalid;
    }
    if (decision !== "rotate") return invalid;
    const usuario = await em.findOne(Usuario, { id: current.usuarioId });
    if (!usuario || !mayObtainTokens(statusOf(usuario))) {
      await this.revokeFamily(em, current.familyId);
      return invalid;
    }
    current.usedAt = now;
    return { ok: await this.issue(em, usuario, current.familyId) };
  }

  async logout(em: EntityManager, refreshToken: string): Promise<void> {
    const current = await em.findOne(RefreshToken, { tokenHash: sha256Hex(refreshToken) });
    if (current) await this.revokeFamily(em, current.familyId);
  }

  async revokeFamily(em: EntityManager, familyId: string): Promise<void> {
    await em.nativeUpdate(RefreshToken, { familyId, revokedAt: null }, { revokedAt: this.clock.now() });
  }

  async clientToken(
    em: EntityManager,
    input: { clientId: string; clientSecret: string; scope: string },
    clientIp: string | undefined,
  ): Promise<{ accessToken: string; expiresIn: number; scope: string }> {
    await this.checkRateLimit(`client:${normalizeUsername(input.clientId)}`, clientIp);
    const client = await em.findOne(Usuario, { username: normalizeUsername(input.clientId) });
    const eligible = client && isClient(client.kind) ? client : undefined;
    const secretOk = await verify(eligible?.secretHash ?? DUMMY_HASH, input.clientSecret);
    if (!eligible || !secretOk || !mayObtainTokens(statusOf(eligible)))
      throw new UnauthenticatedError("invalid client credentials");
    const granted = grantedScopes(input.scope, eligible.scopes);
    if ("invalid" in granted) {
      throw new InvalidArgumentError([
        { field: "scope", ruleId: "invalid_scope", message: `not granted: ${granted.invalid.join(" ")}` },
      ]);
    }
    const scope = granted.scopes.join(" ");
    const { token, expiresIn } = await this.keys.sign(eligible.id, {
      ...accessClaims(eligible),
      ...(scope ? { scope } : {}),
    });
    return { accessToken: token, expiresIn, scope };
  }

  async enrollTotp(em: EntityManager, usuarioId: string): Promise<{ secret: string; uri: string }> {
    const usuario = await em.findOne(Usuario, { id: usuarioId });
    if (!usuario || isClient(usuario.kind)) throw new FailedPreconditionError("only people enrol in MFA");
    if (usuario.totpSecret) throw new FailedPreconditionError("MFA is already enabled");
    const secret = new Secret({ size: 20 });
    usuario.totpPending = seal(this.settings.secretKey, secret.base32, `totp:${usuario.id}`);
    return { secret: secret.base32, uri: this.totp(usuario, secret.base32).toString() };
  }

  async confirmTotp(em: EntityManager, usuarioId: string, code: string): Promise<string[]> {
    const usuario = await em.findOne(Usuario, { id: usuarioId });
    if (!usuario?.totpPending) throw new FailedPreconditionError("no MFA enrolment in progress");
    const secret = open(this.settings.secretKey, usuario.totpPending, `totp:${usuario.id}`);
    if (this.totp(usuario, secret).validate({ token: code, window: 1 }) === null) {
      throw new InvalidArgumentError([
        { field: "code", ruleId: "totp.invalid", message: "code does not match" },
      ]);
    }
    const recoveryCodes = Array.from({ length: 10 }, () => randomBytes(5).toString("hex").toUpperCase());
    usuario.totpSecret = usuario.totpPending;
    usuario.totpPending = null;
    usuario.recoveryCodes = recoveryCodes.map(sha256Hex);
    return recoveryCodes;
  }

  private totp(usuario: UsuarioRow, base32: string): TOTP {
    return new TOTP({
      issuer: this.settings.issuerName,
      label: usuario.username,
      algorithm: "SHA1",
      digits: 6,
      period: 30,
      secret: Secret.fromBase32(base32),
    });
  }
}

function accessClaims(usuario: UsuarioRow): Record<string, unknown> {
  return {
    roles: usuario.roles,
    username: usuario.username,
    ...(usuario.consorciadoId ? { cid: usuario.consorciadoId } : {}),
  };
}
