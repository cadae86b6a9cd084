// Login, refresh, logout, client credentials and TOTP: the token side of identidade.
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { LoginFalhouSchema } from "@consorcio/gen/consorcio/identidade/v1/usuario_pb.js";
import {
  type Cache,
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
import { grantedScopes, isClient, isLocked } from "./domain/accounts.ts";
import { decideRefresh } from "./domain/refresh.ts";
import { LoginAttempt, RefreshToken, Usuario } from "./store/entities.ts";
import type { KeyRing } from "./store/key-ring.ts";

export interface AuthSettings {
  secretKey: Buffer;
  refreshTtlSeconds: number;
  issuerName: string;
  loginLimitPerIp: number;
  loginLimitPerUser: number;
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

export class AuthFlows {
  private readonly keys: KeyRing;
  private readonly cache: Cache;
  private readonly settings: AuthSettings;

  constructor(keys: KeyRing, cache: Cache, settings: AuthSettings) {
    this.keys = keys;
    this.cache = cache;
    this.settings = settings;
  }

  /** Per-IP and per-username windows in Redis; when Redis is down the DB lockout still holds. */
  async checkRateLimit(username: string, clientIp: string | undefined): Promise<void> {
    const perUser = await this.cache.hit(`login:user:${sha256Hex(username)}`, 60);
    const perIp = clientIp ? await this.cache.hit(`login:ip:${clientIp}`, 60) : undefined;
    if ((perUser ?? 0) > this.settings.loginLimitPerUser || (perIp ?? 0) > this.settings.loginLimitPerIp) {
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
    const fail = (reason: string, usuarioId: string, error: Error) => {
      uow.publish(
        LoginFalhouSchema,
        create(LoginFalhouSchema, { usuarioId, reason, clientIp: input.clientIp ?? "" }),
      );
      return { error };
    };
    const attempt = await em.findOne(LoginAttempt, { username });
    if (attempt && isLocked(attempt.failures)) {
      return fail(
        "LOCKED",
        "",
        new FailedPreconditionError("account locked after repeated failed logins: ask an administrator"),
      );
    }
    const usuario = await em.findOne(Usuario, { username });
    const person = usuario && !isClient(usuario.kind) ? usuario : undefined;
    const passwordOk = await verify(person?.secretHash ?? DUMMY_HASH, input.password);
    if (!person || !passwordOk) {
      await this.recordFailure(em, username);
      return fail("BAD_CREDENTIALS", person?.id ?? "", new UnauthenticatedError(GENERIC_FAILURE));
    }
    if (person.disabled) return fail("DISABLED", person.id, new FailedPreconditionError("account disabled"));
    if (person.totpSecret) {
      if (!input.totpCode && !input.recoveryCode) {
        return fail(
          "MFA_REQUIRED",
          person.id,
          new FailedPreconditionError("MFA code required: send totp_code or recovery_code"),
        );
      }
      if (!this.checkSecondFactor(person, input.totpCode, input.recoveryCode)) {
        await this.recordFailure(em, username);
        return fail("MFA_INVALID", person.id, new UnauthenticatedError("invalid MFA code"));
      }
    }
    if (attempt) em.remove(attempt);
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

  private async recordFailure(em: EntityManager, username: string): Promise<void> {
    await em.execute(
      `insert into login_attempt (username, failures, last_failure_at) values (?, 1, now())
       on conflict (username) do update set failures = login_attempt.failures + 1, last_failure_at = now()`,
      [username],
    );
  }

  private async issue(em: EntityManager, usuario: UsuarioRow, familyId: string): Promise<Tokens> {
    const { token, expiresIn } = await this.keys.sign(usuario.id, accessClaims(usuario));
    const refreshToken = randomSecret(32);
    em.create(RefreshToken, {
      id: uuidv7(),
      tokenHash: sha256Hex(refreshToken),
      familyId,
      usuarioId: usuario.id,
      expiresAt: new Date(Date.now() + this.settings.refreshTtlSeconds * 1000),
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
    const decision = decideRefresh(
      { expiresAt: current.expiresAt, usedAt: current.usedAt ?? null, revokedAt: current.revokedAt ?? null },
      new Date(),
    );
    if (decision === "reuse") {
      await this.revokeFamily(em, current.familyId);
      return invalid;
    }
    if (decision !== "rotate") return invalid;
    const usuario = await em.findOne(Usuario, { id: current.usuarioId });
    if (!usuario || usuario.disabled) {
      await this.revokeFamily(em, current.familyId);
      return invalid;
    }
    current.usedAt = new Date();
    return { ok: await this.issue(em, usuario, current.familyId) };
  }

  async logout(em: EntityManager, refreshToken: string): Promise<void> {
    const current = await em.findOne(RefreshToken, { tokenHash: sha256Hex(refreshToken) });
    if (current) await this.revokeFamily(em, current.familyId);
  }

  async revokeFamily(em: EntityManager, familyId: string): Promise<void> {
    await em.nativeUpdate(RefreshToken, { familyId, revokedAt: null }, { revokedAt: new Date() });
  }

  async clientToken(
    em: EntityManager,
    input: { clientId: string; clientSecret: string; scope: string },
  ): Promise<{ accessToken: string; expiresIn: number; scope: string }> {
    await this.checkRateLimit(`client:${input.clientId}`, undefined);
    const client = await em.findOne(Usuario, { username: normalizeUsername(input.clientId) });
    const eligible = client && isClient(client.kind) ? client : undefined;
    const secretOk = await verify(eligible?.secretHash ?? DUMMY_HASH, input.clientSecret);
    if (!eligible || !secretOk || eligible.disabled)
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
