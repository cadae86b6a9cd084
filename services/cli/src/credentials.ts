// The logged-in session: access and refresh token in a file only its owner can read (0600).
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { configDir } from "./config.ts";

export interface Credentials {
  identidadeUrl: string;
  username: string;
  accessToken: string;
  refreshToken: string;
  /** Epoch milliseconds at which the access token expires. */
  accessExpiresAt: number;
}

export function credentialsFile(): string {
  return join(configDir(), "credentials.json");
}

export function loadCredentials(): Credentials | undefined {
  const file = credentialsFile();
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, "utf8")) as Credentials;
  } catch {
    return undefined;
  }
}

/** Written beside and renamed into place, so a crash never leaves half a file (or a readable one). */
export function saveCredentials(credentials: Credentials): void {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = credentialsFile();
  const staging = `${file}.${process.pid}.tmp`;
  writeFileSync(staging, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });
  chmodSync(staging, 0o600);
  renameSync(staging, file);
}

/**
 * Holds the session's lock while `work` runs: refresh tokens rotate and a reused one revokes the
 * whole session, so two `consorcio` processes renewing at once must take turns (the second then
 * finds the first one's new pair). A lock older than 30 s is a crashed holder's and is taken over.
 */
export async function withCredentialsLock<T>(work: () => Promise<T>): Promise<T> {
  const dir = configDir();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = `${credentialsFile()}.lock`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      closeSync(openSync(lock, "wx", 0o600));
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      try {
        if (Date.now() - statSync(lock).mtimeMs > 30_000) rmSync(lock, { force: true });
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline)
        throw new Error(`${lock} is held by another consorcio: remove it if none runs`);
      await sleep(25 + Math.random() * 50);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

export function deleteCredentials(): void {
  rmSync(credentialsFile(), { force: true });
}

/** The claims of a JWT, unverified (the services verify it; this only shows them). */
export function tokenClaims(token: string): Record<string, unknown> {
  const payload = token.split(".")[1] ?? "";
  try {
    return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}
