// The real CLI as a child process (Node 24, the `consorcio` bin) against real identidade,
// consorciados and grupos started in-process on fresh databases; grupos trusts identidade's keys.
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createTestClock } from "@consorcio/platform/clock.ts";
import { deleteQueues, startTestService } from "@consorcio/platform/testing.ts";
import { service as consorciadosService } from "../../consorciados/src/service.ts";
import { service as gruposService } from "../../grupos/src/service.ts";
import { service as identidadeService } from "../../identidade/src/service.ts";

export const BIN = fileURLToPath(new URL("../bin/consorcio.js", import.meta.url));
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** identidade on a fresh database with a known admin password (and grupos' service account). */
export async function startIdentidade(serviceSecret = randomBytes(24).toString("base64url")) {
  const adminPassword = `Adm-${randomBytes(12).toString("base64url")}`;
  const identidade = await startTestService(identidadeService, {
    IDENTIDADE_SECRET_KEY: randomBytes(32).toString("base64"),
    CONSORCIO_ADMIN_PASSWORD: adminPassword,
    SERVICE_ACCOUNTS: JSON.stringify({ grupos: serviceSecret }),
  });
  return { identidade, adminPassword, jwksUrl: `${identidade.service.url}/.well-known/jwks.json` };
}

/** Runs `consorcio <args>` under this Node 24, as the bin does (or through npx), with its own config dir. */
export async function cliRunner(urls: Record<string, string>) {
  const configDir = await mkdtemp(join(tmpdir(), "consorcio-cli-"));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: configDir,
    CONSORCIO_CONFIG_DIR: configDir,
    ...urls,
  };
  function cli(args: string[], options: { input?: string; via?: "node" | "npx" } = {}): Promise<Run> {
    const [file, argv] =
      options.via === "npx"
        ? ["npx", ["--no-install", "consorcio", ...args]]
        : [process.execPath, [BIN, ...args]];
    return new Promise((resolve) => {
      const child = execFile(file, argv, { env, cwd: ROOT, timeout: 60_000 }, (error, stdout, stderr) =>
        resolve({
          code: error ? (typeof error.code === "number" ? error.code : 1) : 0,
          stdout: String(stdout),
          stderr: String(stderr),
        }),
      );
      child.stdin?.end(options.input ?? "");
    });
  }
  /**
   * `consorcio <args>` on a terminal (a pty from util-linux `script`): once `prompt` shows, `typed`
   * is typed and Enter pressed. Returns all the terminal showed.
   */
  function cliOnTerminal(args: string[], prompt: string, typed: string): Promise<Run> {
    const command = [process.execPath, BIN, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    return new Promise((resolve) => {
      const child = spawn("script", ["-qec", command, "/dev/null"], { env, cwd: ROOT });
      let shown = "";
      let sent = false;
      child.stdout.on("data", (chunk: Buffer) => {
        shown += chunk.toString("utf8");
        if (!sent && shown.includes(prompt)) {
          sent = true;
          child.stdin.write(`${typed}\r`);
        }
      });
      const timer = setTimeout(() => child.kill(), 60_000);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? 1, stdout: shown, stderr: "" });
      });
    });
  }
  return { configDir, cli, cliOnTerminal, cleanup: () => rm(configDir, { recursive: true, force: true }) };
}

export async function startPlatform() {
  const secret = randomBytes(24).toString("base64url");
  const queue = `cli.test.${randomUUID().slice(0, 8)}`;
  const { identidade, adminPassword, jwksUrl } = await startIdentidade(secret);
  const consorciados = await startTestService(consorciadosService, {
    PII_MASTER_KEY: randomBytes(32).toString("base64"),
    PII_INDEX_KEY: randomBytes(32).toString("base64"),
    JWKS_URL: jwksUrl,
    CONSORCIADOS_QUEUE: `${queue}.consorciados`,
  });
  // grupos on a clock the test moves (to its first assembleia, where it is activated).
  const clock = createTestClock(new Date("2027-01-05T12:00:00Z"));
  const grupos = await startTestService(
    gruposService,
    {
      JWKS_URL: jwksUrl,
      IDENTIDADE_URL: identidade.service.url,
      CONSORCIADOS_URL: consorciados.service.url,
      SERVICE_CLIENT_SECRET: secret,
      GRUPOS_QUEUE: queue,
    },
    { clock },
  );
  const { configDir, cli, cliOnTerminal, cleanup } = await cliRunner({
    IDENTIDADE_URL: identidade.service.url,
    CONSORCIADOS_URL: consorciados.service.url,
    GRUPOS_URL: grupos.service.url,
  });
  return {
    adminPassword,
    configDir,
    identidade,
    consorciados,
    grupos,
    clock,
    cli,
    cliOnTerminal,
    async stop() {
      await grupos.stop();
      await consorciados.stop();
      await identidade.stop();
      await deleteQueues([queue]);
      await cleanup();
    },
  };
}

export type Platform = Awaited<ReturnType<typeof startPlatform>>;
