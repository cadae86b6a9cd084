import type { DescField, DescMessage, DescMethod } from "@bufbuild/protobuf";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type Policy, policy as policyExtension, Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTPayload,
  type JWTVerifyGetKey,
  errors as joseErrors,
  jwtVerify,
} from "jose";
import { LRUCache } from "lru-cache";
import { ownerScopeKey, type Principal, principalKey } from "./context.ts";

/** Algorithms identidade may sign with; anything else (notably `none` and HS*) is rejected. */
export const ACCEPTED_ALGORITHMS = ["EdDSA", "RS256"];

/** Services run by the platform itself, open to every caller (never routed by the edge). */
const PLATFORM_SERVICES = new Set([
  "grpc.health.v1.Health",
  "grpc.reflection.v1.ServerReflection",
  "grpc.reflection.v1alpha.ServerReflection",
]);

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Remote JWKS (identidade's); cached, refetched when a token names an unknown `kid`. */
  jwksUrl?: URL;
  /** A fixed key set, for tests. */
  jwks?: JSONWebKeySet;
  /** A key resolver, for identidade verifying its own tokens from its key ring. */
  getKey?: JWTVerifyGetKey;
}

export type TokenVerifier = (token: string) => Promise<Principal>;

/** What is wrong with the token itself; every other failure is ours. */
const TOKEN_ERRORS = [
  joseErrors.JWTExpired,
  joseErrors.JWTClaimValidationFailed,
  joseErrors.JWTInvalid,
  joseErrors.JWSInvalid,
  joseErrors.JWSSignatureVerificationFailed,
  joseErrors.JWKSNoMatchingKey,
  joseErrors.JWKSMultipleMatchingKeys,
  joseErrors.JOSEAlgNotAllowed,
  joseErrors.JOSENotSupported,
];

export function roleFromName(name: string): Role | undefined {
  const value = (Role as unknown as Record<string, number>)[name];
  return typeof value === "number" && value !== Role.UNSPECIFIED ? (value as Role) : undefined;
}

export function roleName(role: Role): string {
  return Role[role];
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const keys = options.getKey
    ? options.getKey
    : options.jwks
      ? createLocalJWKSet(options.jwks)
      : options.jwksUrl
        ? // A short cooldown: a token signed by a freshly rotated key is accepted within a second.
          createRemoteJWKSet(options.jwksUrl, { cooldownDuration: 1_000, cacheMaxAge: 10 * 60_000 })
        : undefined;
  if (!keys) throw new Error("token verifier needs jwksUrl or jwks");
  // Callers reuse a token for its whole life: verify each once, until it expires.
  const verified = new LRUCache<string, Principal>({ max: 10_000 });
  return async (token) => {
    const cached = verified.get(token);
    if (cached) return cached;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, keys, {
        issuer: options.issuer,
        audience: options.audience,
        algorithms: ACCEPTED_ALGORITHMS,
        requiredClaims: ["sub", "exp", "iat"],
        clockTolerance: 5,
      }));
    } catch (error) {
      if (TOKEN_ERRORS.some((kind) => error instanceof kind)) {
        throw new ConnectError("invalid or expired access token", Code.Unauthenticated);
      }
      // Anything else (the key set cannot be fetched, identidade is down) is our outage, not the caller's fault.
      throw new ConnectError("cannot verify the access token now", Code.Unavailable);
    }
    const principal = principalFromClaims(payload);
    const ttl = typeof payload.exp === "number" ? payload.exp * 1000 - Date.now() : 0;
    if (ttl > 0) verified.set(token, principal, { ttl });
    return principal;
  };
}

function principalFromClaims(payload: JWTPayload): Principal {
  const rawRoles = Array.isArray(payload.roles) ? payload.roles : [];
  const roles = rawRoles.flatMap((name) => {
    const role = typeof name === "string" ? roleFromName(name) : undefined;
    return role === undefined ? [] : [role];
  });
  const principal: Principal = { subject: String(payload.sub), roles };
  if (typeof payload.cid === "string") principal.consorciadoId = payload.cid;
  if (typeof payload.jti === "string") principal.tokenId = payload.jti;
  if (typeof payload.username === "string") principal.username = payload.username;
  if (typeof payload.iat === "number") principal.issuedAt = payload.iat;
  return principal;
}

const policies = new WeakMap<DescMethod, Policy | null>();

/** The RPC's policy from the contract, decoded once per method. */
export function methodPolicy(method: DescMethod): Policy | undefined {
  let policy = policies.get(method);
  if (policy === undefined) {
    policy = hasOption(method, policyExtension) ? getOption(method, policyExtension) : null;
    policies.set(method, policy);
  }
  return policy ?? undefined;
}

function bearerToken(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  return match?.[1];
}

/**
 * Authentication: verifies the bearer token of every call to a non-public RPC and
 * stores the principal. An RPC without a policy is denied here, before anything else.
 */
export function createAuthenticationInterceptor(verify: TokenVerifier): Interceptor {
  return (next) => async (req) => {
    if (PLATFORM_SERVICES.has(req.service.typeName)) return next(req);
    const policy = methodPolicy(req.method);
    if (!policy) throw denied(`${req.method.name} has no authorization policy`);
    const token = bearerToken(req.header.get("authorization"));
    if (policy.public) {
      if (token) req.contextValues.set(principalKey, await verify(token).catch(() => undefined));
      return next(req);
    }
    if (!token) throw new ConnectError("authentication required", Code.Unauthenticated);
    req.contextValues.set(principalKey, await verify(token));
    return next(req);
  };
}

/**
 * Authorization from the contract's policy: a role in `roles` allows everything;
 * a role in `owner_roles` allows only the caller's own resources.
 */
export function createAuthorizationInterceptor(): Interceptor {
  return (next) => async (req) => {
    if (PLATFORM_SERVICES.has(req.service.typeName)) return next(req);
    const policy = methodPolicy(req.method);
    if (!policy) throw denied(`${req.method.name} has no authorization policy`);
    if (policy.public) return next(req);
    const principal = req.contextValues.get(principalKey);
    if (!principal) throw new ConnectError("authentication required", Code.Unauthenticated);
    if (principal.roles.some((role) => policy.roles.includes(role))) return next(req);
    if (principal.roles.some((role) => policy.ownerRoles.includes(role)) && principal.consorciadoId) {
      if (policy.ownerField && req.stream === false) {
        const owner = ownerFieldValue(req.method.input, req.message, policy.ownerField);
        if (owner !== principal.consorciadoId) throw denied();
      }
      req.contextValues.set(ownerScopeKey, { consorciadoId: principal.consorciadoId });
      return next(req);
    }
    throw denied();
  };
}

/** The value at an owner_field path such as `consorciado_id` or `cota.consorciado_id`. */
export function ownerFieldValue(schema: DescMessage, message: unknown, path: string): unknown {
  let desc: DescMessage | undefined = schema;
  let value = message;
  for (const segment of path.split(".")) {
    const field: DescField | undefined = desc?.fields.find((f) => f.name === segment);
    if (!field || typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[field.localName];
    desc = field.fieldKind === "message" ? field.message : undefined;
  }
  return value;
}

// Thrown outside the error-mapping interceptor, so these are statuses already.
function denied(message = "permission denied"): ConnectError {
  return new ConnectError(message, Code.PermissionDenied);
}
