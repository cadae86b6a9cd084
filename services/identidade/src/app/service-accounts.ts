// Service accounts the platform provisions: one SERVICE client per service that calls others,
// its secret from the environment (local secrets in `npm start`, a Kubernetes Secret in Helm).
import type { Logger } from "@consorcio/platform";
import { serviceAccountId } from "@consorcio/platform";
import { UniqueConstraintViolationException } from "@mikro-orm/core";
import type { EntityManager } from "@mikro-orm/postgresql";
import { verify } from "@node-rs/argon2";
import { uuidv7 } from "uuidv7";
import { z } from "zod";
import { Usuario } from "../store/entities.ts";
import { hashSecret } from "./auth.ts";

/** `SERVICE_ACCOUNTS`: a JSON object from service name to its client secret. */
export const serviceAccountsSetting = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (!text) return {};
    try {
      return z.record(z.string().regex(/^[a-z]{2,32}$/), z.string().min(24).max(256)).parse(JSON.parse(text));
    } catch {
      ctx.addIssue({ code: "custom", message: 'a JSON object {"<service>": "<secret of 24+ characters>"}' });
      return z.NEVER;
    }
  });

/**
 * Creates each account, or resets its secret when it no longer matches (a rotated Secret).
 * Safe with replicas starting at once: a concurrent create loses on the unique username.
 */
export async function provisionServiceAccounts(
  em: EntityManager,
  accounts: Record<string, string>,
  logger: Logger,
): Promise<void> {
  for (const [service, secret] of Object.entries(accounts)) {
    const username = serviceAccountId(service);
    const existing = await em.findOne(Usuario, { username });
    if (existing) {
      if (existing.kind !== "SERVICE") {
        logger.error({ username }, "a non-service account holds a service account's name; left alone");
        continue;
      }
      if (!(await verify(existing.secretHash, secret))) {
        existing.secretHash = await hashSecret(secret);
        existing.disabled = false;
        await em.flush();
        logger.info({ username }, "service account secret rotated");
      }
      continue;
    }
    em.create(Usuario, {
      id: uuidv7(),
      username,
      kind: "SERVICE",
      roles: ["SERVICE"],
      consorciadoId: null,
      scopes: [],
      secretHash: await hashSecret(secret),
      disabled: false,
      totpSecret: null,
      totpPending: null,
      totpLastStep: null,
      recoveryCodes: [],
    });
    try {
      await em.flush();
      logger.info({ username }, "service account created");
    } catch (error) {
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      em.clear();
    }
  }
}
