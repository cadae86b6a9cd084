import { type ChildProcess, execFile, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const offset = 30_000 + Math.floor(Math.random() * 200) * 10;
const identidade = `http://127.0.0.1:${7001 + offset}`;
const gateway = `http://127.0.0.1:${8080 + offset}`;
// Readable by the postgres user the launcher runs PostgreSQL as when it runs as root.
const freshDir = () => {
  const dir = mkdtempSync(`${tmpdir()}/consorcio-start-`);
  chmodSync(dir, 0o755);
  return dir;
};
const dataDir = freshDir();
const launchers: ChildProcess[] = [];

// The embedded defaults only: none of the shared test servers.
function launcherEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", ...extra };
  for (const key of ["DATABASE_URL", "AMQP_URL", "REDIS_URL", "S3_ENDPOINT", "PORT", "HOST"]) delete env[key];
  return {
    ...env,
    CONSORCIO_DATA_DIR: dataDir,
    CONSORCIO_PORT_OFFSET: String(offset),
    CONSORCIO_ADMIN_PASSWORD: "senha-inicial-de-teste",
    // More logins from 127.0.0.1 than a person makes in a minute; the failure throttle stays as shipped.
    LOGIN_LIMIT_PER_USER: "50",
    ...extra,
  };
}

/** Starts the launcher; resolves once it printed every address, or with its output when it exits. */
function launch(extra: Record<string, string> = {}) {
  const child = spawn(process.execPath, ["scripts/start.ts"], { cwd: root, env: launcherEnv(extra) });
  launchers.push(child);
  let output = "";
  child.stdout?.on("data", (chunk) => {
    output += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output += chunk;
  });
  const ready = new Promise<{ ready: boolean; output: string }>((resolve) => {
    child.stdout?.on("data", () => {
      if (/^rest-gateway\s+http:/m.test(output)) resolve({ ready: true, output });
    });
    child.once("exit", () => resolve({ ready: false, output }));
  });
  return { child, ready };
}

// Running, not a zombie waiting for a parent (PID 1 of a container) to reap it.
const alive = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.[0] !== "Z";
  } catch {
    return false;
  }
};

const login = (password: string) =>
  fetch(`${identidade}/consorcio.identidade.v1.AuthService/Login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password }),
  });

afterAll(async () => {
  for (const child of launchers) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.once("exit", resolve));
    }
  }
  rmSync(dataDir, { recursive: true, force: true });
});

test("a launcher killed with SIGKILL leaves a PostgreSQL that the next start stops; taken ports and a second launcher get one clear line; the admin password resets", {
  timeout: 240_000,
}, async () => {
  const first = launch();
  const started = await first.ready;
  expect(started.output).toContain(`listening on 127.0.0.1 only:`);
  expect(started.output).toMatch(new RegExp(`^identidade\\s+http://127\\.0\\.0\\.1:${7001 + offset}$`, "m"));

  const postmaster = Number(readFileSync(`${dataDir}/postgres/postmaster.pid`, "utf8").split("\n")[0]);
  first.child.kill("SIGKILL");
  await new Promise((resolve) => first.child.once("exit", resolve));
  // The crash left it running: that is what the next start must deal with.
  expect(alive(postmaster)).toBe(true);

  const second = launch();
  const restarted = await second.ready;
  expect(restarted.ready, restarted.output).toBe(true);
  expect(alive(postmaster)).toBe(false);
  expect((await login("senha-inicial-de-teste")).status).toBe(200);
  expect(restarted.output).toMatch(new RegExp(`^rest-gateway\\s+${gateway.replaceAll(".", "\\.")}\\s`, "m"));

  // REST through the gateway, as partners call Envoy: login, a call with the token, a refusal.
  const restLogin = await fetch(`${gateway}/v1/auth:login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username: "admin", password: "senha-inicial-de-teste" }),
  });
  expect(restLogin.status).toBe(200);
  const { accessToken } = (await restLogin.json()) as { accessToken: string };
  const authorization = `Bearer ${accessToken}`;
  const listed = await fetch(`${gateway}/v1/consorciados?pageSize=1`, { headers: { authorization } });
  expect(listed.status).toBe(200);
  expect(await listed.json()).toMatchObject({ consorciados: [] });
  const unknownParameter = await fetch(`${gateway}/v1/consorciados?tamanho=1`, {
    headers: { authorization },
  });
  expect(unknownParameter.status).toBe(400);
  expect(((await unknownParameter.json()) as { code: number }).code).toBe(3);
  expect((await fetch(`${gateway}/v1/consorciados`)).status).toBe(401);
  // Local pages may call in (CORS), other origins get no permission.
  const preflight = (origin: string, url: string) =>
    fetch(url, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type",
      },
    });
  for (const url of [`${gateway}/v1/auth:login`, `${identidade}/consorcio.identidade.v1.AuthService/Login`]) {
    const allowed = await preflight("http://localhost:5173", url);
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(allowed.headers.get("access-control-allow-headers")).toContain("authorization");
    const refused = await preflight("https://elsewhere.example", url);
    expect(refused.headers.get("access-control-allow-origin")).toBeNull();
  }

  // A second launcher on the same data directory refuses, naming the first.
  const twin = await launch().ready;
  expect(twin.ready).toBe(false);
  expect(twin.output.trim().split("\n").at(-1)).toBe(
    `npm start: another npm start (pid ${second.child.pid}) is running on ${dataDir}: stop it first`,
  );

  // Another launcher whose PostgreSQL port is taken: one line naming the port.
  const otherDir = freshDir();
  try {
    const taken = await launch({ CONSORCIO_DATA_DIR: otherDir }).ready;
    expect(taken.ready).toBe(false);
    expect(taken.output).not.toContain("undefined");
    expect(taken.output.trim().split("\n").at(-1)).toBe(
      `npm start: port ${7432 + offset} (embedded PostgreSQL) is already in use: stop what holds it (\`ss -ltnp 'sport = :${7432 + offset}'\` shows it) or set CONSORCIO_PORT_OFFSET to move every port`,
    );
  } finally {
    rmSync(otherDir, { recursive: true, force: true });
  }

  // Throttled by failures, then reset: the new password works at once, the old one no more.
  for (let attempt = 0; attempt < 6; attempt++) await login("errada");
  expect((await login("senha-inicial-de-teste")).status).toBe(429);
  const reset = await promisify(execFile)(process.execPath, ["scripts/admin-reset-password.ts"], {
    cwd: root,
    env: launcherEnv({ CONSORCIO_ADMIN_PASSWORD: "" }),
  });
  const password = /admin \/ (\S+)$/m.exec(reset.stdout)?.[1];
  expect(password).toMatch(/^[A-Za-z0-9_-]{24}$/);
  expect((await login(password as string)).status).toBe(200);
  expect((await login("senha-inicial-de-teste")).status).toBe(401);
  expect(existsSync(`${dataDir}/local-secrets.json`)).toBe(true);
});
