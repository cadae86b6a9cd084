// Each benchmarked server runs in its own process, so the load generator never
// shares its event loop. They talk over IPC: the child says where it listens,
// and answers "usage" with its own CPU time, so we can charge CPU per call.
import { type ChildProcess, spawn } from "node:child_process";

export interface Usage {
  /** User + system CPU time of the server process, in microseconds. */
  cpuMicros: number;
  rssBytes: number;
}

type ToChild = { type: "usage" } | { type: "stop" };
type FromChild = { type: "ready"; info: unknown } | { type: "usage"; usage: Usage };

export interface ServerChild<Info> {
  info: Info;
  usage(): Promise<Usage>;
  stop(): Promise<void>;
}

/**
 * Spawns `script` on this very Node binary (with `nodeArgs`, e.g. --cpu-prof) and waits until it is ready.
 * `env` is added to this process's environment for the child (e.g. a URL it needs).
 */
export async function startChild<Info>(
  script: URL,
  {
    nodeArgs = [] as string[],
    timeoutMs = 60_000,
    env = {} as Record<string, string>,
  }: { nodeArgs?: string[]; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ServerChild<Info>> {
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, script.pathname], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, ...env },
  });
  const waiting: Array<{ resolve: (usage: Usage) => void; reject: (error: Error) => void }> = [];
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const fail = (cause: Error) => {
    const error = new Error(`server ${script.pathname} is gone: ${cause.message}`);
    for (const request of waiting.splice(0)) request.reject(error);
  };
  child.on("error", fail); // IPC to a dead child (EPIPE); its exit follows
  child.once("exit", (code, signal) => fail(new Error(`exited (${signal ?? code})`)));
  let timer: NodeJS.Timeout | undefined;
  const info = await new Promise<Info>((resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${script.pathname} not ready in ${timeoutMs} ms`)), timeoutMs);
    child.once("exit", (code) => reject(new Error(`${script.pathname} exited with ${code} before ready`)));
    child.on("message", (message: FromChild) => {
      if (message.type === "ready") resolve(message.info as Info);
      else waiting.shift()?.resolve(message.usage);
    });
  })
    .catch(async (error: unknown) => {
      child.kill();
      await exited;
      throw error;
    })
    .finally(() => clearTimeout(timer));
  const send = (message: ToChild) => child.connected && child.send(message);
  return {
    info,
    usage() {
      return new Promise((resolve, reject) => {
        if (!child.connected) return reject(new Error(`${script.pathname} is gone`));
        waiting.push({ resolve, reject });
        send({ type: "usage" });
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      send({ type: "stop" });
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: announces `info`, serves usage requests, and runs `cleanup` on stop or orphaning. */
export function serveChild(info: unknown, cleanup: () => Promise<void> = async () => {}): void {
  const send = (message: FromChild) => process.send?.(message);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    cleanup().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error("cleanup failed:", error);
        process.exit(1);
      },
    );
  };
  process.on("message", (message: ToChild) => {
    if (message.type === "stop") stop();
    else {
      const cpu = process.cpuUsage();
      send({
        type: "usage",
        usage: { cpuMicros: cpu.user + cpu.system, rssBytes: process.memoryUsage.rss() },
      });
    }
  });
  process.on("disconnect", stop);
  send({ type: "ready", info });
}
