import { randomBytes } from "node:crypto";
import { ConsorciadoService } from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { UsuarioService } from "@consorcio/gen/consorcio/identidade/v1/usuario_service_pb.js";
import { createTokenVerifier, parseKey, type ServiceDefinition } from "@consorcio/platform";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import { uuidv7 } from "uuidv7";
import { z } from "zod";
import { migrations } from "../migrations/index.ts";
import { AuthFlows, hashSecret } from "./app/auth.ts";
import { provisionServiceAccounts, serviceAccountsSetting } from "./app/service-accounts.ts";
import { KeyRing } from "./crypto/key-ring.ts";
import { oauthTokenRoute, TOKEN_PATH } from "./oauth-token.ts";
import { type IdentidadeDeps, routes } from "./routes.ts";
import { entities, Usuario } from "./store/entities.ts";

const env = z.object({
  /** Seals signing keys and TOTP secrets at rest: 32 random bytes, base64. */
  IDENTIDADE_SECRET_KEY: z.string().min(1),
  ACCESS_TOKEN_TTL_SECONDS: z.coerce.number().int().min(1).max(3600).default(900),
  REFRESH_TOKEN_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(300)
    .default(30 * 24 * 3600),
  /** Password of the first `admin`; generated and printed once when absent. */
  CONSORCIO_ADMIN_PASSWORD: z.string().min(12).optional(),
  /** Login attempts a minute from one address (Redis). */
  LOGIN_LIMIT_PER_IP: z.coerce.number().int().positive().default(30),
  /** Login attempts a minute to one username from one address (Redis): never per username alone. */
  LOGIN_LIMIT_PER_USER: z.coerce.number().int().positive().default(10),
  /** Consecutive failures to one username from one address before that address is held back. */
  LOGIN_THROTTLE_FAILURES: z.coerce.number().int().min(1).default(5),
  /** The first hold, in seconds; it doubles with each further failure, up to the maximum. */
  LOGIN_THROTTLE_SECONDS: z.coerce.number().int().min(1).default(30),
  /** The longest hold; after that long without a failure, the failures are forgotten. */
  LOGIN_THROTTLE_MAX_SECONDS: z.coerce.number().int().min(1).default(900),
  /** Service accounts to provision: {"<service>": "<client secret>"} (the platform's clients use them). */
  SERVICE_ACCOUNTS: serviceAccountsSetting,
  /**
   * CreateUsuario asks consorciados whether a CONSORCIADO account's consorciado exists. Off only
   * where no consorciados runs (tests of identidade alone); never in a deployment.
   */
  CHECK_CONSORCIADO_ID: z.stringbool().default(true),
});

export const service: ServiceDefinition<typeof env, IdentidadeDeps> = {
  name: "identidade",
  services: [AuthService, UsuarioService],
  calls: [ConsorciadoService],
  env,
  entities,
  migrations,
  async prepare({ config, db, cache, clock }) {
    const secretKey = parseKey(config.IDENTIDADE_SECRET_KEY, "IDENTIDADE_SECRET_KEY");
    const keys = new KeyRing({
      db,
      secretKey,
      issuer: config.JWT_ISSUER,
      audience: config.JWT_AUDIENCE,
      accessTtlSeconds: config.ACCESS_TOKEN_TTL_SECONDS,
    });
    await keys.start();
    const auth = new AuthFlows(
      keys,
      cache,
      {
        secretKey,
        refreshTtlSeconds: config.REFRESH_TOKEN_TTL_SECONDS,
        issuerName: "Consórcio",
        loginLimitPerIp: config.LOGIN_LIMIT_PER_IP,
        loginLimitPerUser: config.LOGIN_LIMIT_PER_USER,
        throttle: {
          maxFailures: config.LOGIN_THROTTLE_FAILURES,
          holdSeconds: config.LOGIN_THROTTLE_SECONDS,
          maxSeconds: config.LOGIN_THROTTLE_MAX_SECONDS,
        },
      },
      clock,
    );
    return { keys, auth, checkConsorciadoId: config.CHECK_CONSORCIADO_ID };
  },
  // identidade verifies its own tokens from its key ring, not over HTTP from itself.
  tokenVerifier: ({ keys }) =>
    createTokenVerifier({ issuer: keys.issuer, audience: keys.audience, getKey: keys.getKey }),
  routes,
  httpRoutes: (context, { keys, auth }) => ({
    // Stock OAuth clients post a form, which Envoy's transcoder cannot read: served here instead.
    [TOKEN_PATH]: oauthTokenRoute(context, auth),
    "/.well-known/jwks.json": (_req, res) => {
      res.writeHead(200, {
        "content-type": "application/jwk-set+json",
        "cache-control": "public, max-age=60",
      });
      res.end(JSON.stringify(keys.jwks()));
    },
  }),
  async onStart({ db, config, logger }) {
    await provisionServiceAccounts(db.fork(), config.SERVICE_ACCOUNTS, logger);
    const em = db.fork();
    if ((await em.count(Usuario, { username: "admin" })) > 0) return;
    const password = config.CONSORCIO_ADMIN_PASSWORD ?? randomBytes(15).toString("base64url");
    em.create(Usuario, {
      id: uuidv7(),
      username: "admin",
      kind: "STAFF",
      roles: ["ADMIN"],
      consorciadoId: null,
      scopes: [],
      secretHash: await hashSecret(password),
      disabled: false,
      totpSecret: null,
      totpPending: null,
      totpLastStep: null,
      recoveryCodes: [],
    });
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) return; // another replica made it first
      throw error;
    }
    logger.info("first administrator created: admin");
    // Printed once, to the console only: never to the structured log.
    if (!config.CONSORCIO_ADMIN_PASSWORD) process.stdout.write(`\nFirst login: admin / ${password}\n\n`);
  },
  onStop: async ({ keys }) => keys.stop(),
};
