// auditoria's memory under a long burst of events, with auditoria in its own process:
//   npx node bench/auditoria-memory.ts [--events 30000] [--large-every 200] [--large-kib 256]
//     [--callers 4] [--node-args="--max-old-space-size=192"] [--idle-seconds 15] [--snapshot .tmp/auditoria]
// Publishes --events messages straight to the exchange as fast as the broker confirms them, like
// fuzz rounds do through the other services: mostly ChamadaRegistrada call records (some with
// thousands of characters or a NUL in the target), ConsorciadoCriado events, bodies that do not
// decode (retried, then dead-lettered), and every --large-every'th a body of --large-kib KiB of
// a type this build does not know (kept verbatim). Meanwhile --callers clients call VerifyChain
// over the whole chain and ListAuditRecords with the largest page, one after the other. Prints auditoria's memory over time until the
// queue is drained, then after --idle-seconds of quiet, and a summary.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuditoriaService } from "@consorcio/gen/consorcio/auditoria/v1/auditoria_service_pb.js";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import {
  ConsorciadoCriadoSchema,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import amqp from "amqplib";
import pg from "pg";
import { uuidv7 } from "uuidv7";
import type { OutgoingMessage } from "../services/platform/src/bus.ts";
import { createLogger } from "../services/platform/src/logging.ts";
import { connectRabbitMqBus } from "../services/platform/src/rabbitmq-bus.ts";
import { testServers } from "../services/platform/src/testing.ts";
import type { FromMemoryServer, MemoryServerInfo, ToMemoryServer } from "./auditoria-memory-server.ts";

const PUBLISH_BATCH = 500;
const SAMPLE_MS = 500;
const PRINT_EVERY = 4; // samples
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    events: { type: "string", default: "30000" },
    "large-every": { type: "string", default: "200" },
    "large-kib": { type: "string", default: "256" },
    "node-args": { type: "string", default: "" },
    "idle-seconds": { type: "string", default: "15" },
    "timeout-seconds": { type: "string", default: "900" },
    callers: { type: "string", default: "4" },
    snapshot: { type: "string" },
  },
});
const events = Number(values.events);
const largeEvery = Number(values["large-every"]);
const largeBytes = Number(values["large-kib"]) * 1024;
const nodeArgs = values["node-args"].split(" ").filter(Boolean);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const METHODS = [
  "consorcio.consorciados.v1.ConsorciadoService/CreateConsorciado",
  "consorcio.identidade.v1.AuthService/Login",
  "consorcio.grupos.v1.GrupoService/CreateGrupo",
];
const RESULTS = [
  RpcCode.INVALID_ARGUMENT,
  RpcCode.UNAUTHENTICATED,
  RpcCode.PERMISSION_DENIED,
  RpcCode.NOT_FOUND,
  RpcCode.OK,
];

/** The i-th message of the burst. */
function message(i: number): OutgoingMessage {
  const base = {
    id: uuidv7(),
    headers: { "correlation-id": randomUUID(), actor: "fuzz" },
    timestamp: new Date(),
  };
  if (i % largeEvery === 0) {
    const type = "consorcio.fuzz.v1.Desconhecido";
    return { ...base, type, routingKey: type, body: randomBytes(largeBytes) };
  }
  if (i % 50 === 7) {
    const type = ChamadaRegistradaSchema.typeName;
    return { ...base, type, routingKey: type, body: Buffer.from([0xff, 0xff, 0xff, 0x0f, 0x01]) };
  }
  if (i % 5 === 0) {
    const type = ConsorciadoCriadoSchema.typeName;
    const body = toBinary(
      ConsorciadoCriadoSchema,
      create(ConsorciadoCriadoSchema, { consorciadoId: uuidv7(), tipo: TipoPessoa.FISICA }),
    );
    return { ...base, type, routingKey: type, body };
  }
  // A hostile call: a huge or NUL-bearing target, as fuzzing sends them.
  const target = i % 10 === 1 ? "x".repeat(4_000 + (i % 1000)) : i % 10 === 3 ? `a\u0000${i}` : uuidv7();
  const call = create(ChamadaRegistradaSchema, {
    service: "consorciados",
    method: METHODS[i % METHODS.length] ?? "",
    actor: i % 3 === 0 ? "" : uuidv7(),
    actorRoles: [Role.OPERADOR],
    target,
    requestId: randomUUID(),
    correlationId: base.headers["correlation-id"],
    result: RESULTS[i % RESULTS.length] ?? RpcCode.OK,
    time: timestampNow(),
    clientIp: `10.0.${i % 256}.${(i >> 8) % 256}`,
    count: 1,
  });
  const type = ChamadaRegistradaSchema.typeName;
  return { ...base, type, routingKey: type, body: toBinary(ChamadaRegistradaSchema, call) };
}

interface Sample {
  seconds: number;
  published: number;
  stored: number;
  memory: NodeJS.MemoryUsage;
}

function startServer(): Promise<{
  child: ChildProcess;
  info: MemoryServerInfo;
  ask(message: ToMemoryServer): Promise<FromMemoryServer>;
}> {
  const child = spawn(
    process.execPath,
    [...nodeArgs, new URL("./auditoria-memory-server.ts", import.meta.url).pathname],
    {
      stdio: ["ignore", "ignore", "inherit", "ipc"],
    },
  );
  const waiting: Array<(message: FromMemoryServer) => void> = [];
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`auditoria exited with ${code}`)));
    child.on("message", (message: FromMemoryServer) => {
      if (message.type === "ready")
        resolve({
          child,
          info: message.info,
          ask: (request) =>
            new Promise((answer) => {
              waiting.push(answer);
              child.send(request);
            }),
        });
      else waiting.shift()?.(message);
    });
  });
}

const server = await startServer();
const db = new pg.Client({ connectionString: server.info.databaseUrl });
await db.connect();
const broker = await amqp.connect(testServers.amqpUrl);
const channel = await broker.createChannel();
const publisher = await connectRabbitMqBus({
  url: testServers.amqpUrl,
  logger: createLogger({ service: "bench", level: "silent" }),
});
const stored = async () =>
  Number((await db.query<{ n: string }>("select count(*) as n from audit_record")).rows[0]?.n);
const memory = async () => {
  const answer = await server.ask({ type: "memory" });
  if (answer.type !== "memory") throw new Error("unexpected answer");
  return answer.memory;
};
const mib = (bytes: number) => (bytes / MiB).toFixed(0).padStart(5);
const samples: Sample[] = [];
const started = performance.now();
let published = 0;
const sample = async () => {
  const s: Sample = {
    seconds: (performance.now() - started) / 1000,
    published,
    stored: await stored(),
    memory: await memory(),
  };
  samples.push(s);
  return s;
};
const print = (s: Sample, label = "") =>
  console.log(
    `${s.seconds.toFixed(1).padStart(6)} s ${String(s.published).padStart(7)} ${String(s.stored).padStart(7)}` +
      ` ${mib(s.memory.rss)} ${mib(s.memory.heapUsed)} ${mib(s.memory.heapTotal)} ${mib(s.memory.external)}` +
      ` ${mib(s.memory.arrayBuffers)}  ${label}`,
  );

try {
  await sleep(2_000);
  const idleStart = await sample();
  console.log(
    `auditoria memory: ${events} events, 1 in ${largeEvery} of ${largeBytes / 1024} KiB, node ${process.version}` +
      ` ${nodeArgs.join(" ") || "(no node args)"}`,
  );
  console.log("  time   published  stored   rss  heapUsed heapTotal external arrayBuffers (MiB)");
  print(idleStart, "idle after start");
  let publishing = true;
  let calling = true;
  let calls = 0;
  let callFailures = 0;
  const client = createClient(
    AuditoriaService,
    createConnectTransport({ baseUrl: server.info.url, httpVersion: "2" }),
  );
  const auth = { headers: { authorization: `Bearer ${server.info.token}` } };
  const callers = Array.from({ length: Number(values.callers) }, async () => {
    while (calling) {
      try {
        await client.verifyChain({}, auth);
        await client.listAuditRecords({ pageSize: 1000 }, auth);
        calls += 2;
      } catch {
        callFailures++;
        await sleep(100);
      }
    }
  });
  const publishAll = (async () => {
    for (let i = 0; i < events; i += PUBLISH_BATCH) {
      const batch = Array.from({ length: Math.min(PUBLISH_BATCH, events - i) }, (_, k) => message(i + k));
      await publisher.publish(batch);
      published += batch.length;
    }
    publishing = false;
  })();
  const deadline = performance.now() + Number(values["timeout-seconds"]) * 1000;
  let quiet = 0;
  let last = -1;
  for (let n = 1; ; n++) {
    await sleep(SAMPLE_MS);
    const s = await sample();
    if (n % PRINT_EVERY === 0) print(s);
    const { messageCount } = await channel.checkQueue(server.info.queue);
    quiet = !publishing && messageCount === 0 && s.stored === last ? quiet + 1 : 0;
    last = s.stored;
    if (quiet >= 6 || performance.now() > deadline) break;
  }
  await publishAll;
  calling = false;
  await Promise.all(callers);
  const drained = samples.at(-1) as Sample;
  print(drained, "drained");
  if (values.snapshot) {
    const answer = await server.ask({ type: "snapshot", path: `${values.snapshot}-drained.heapsnapshot` });
    if (answer.type === "snapshot") console.log(`heap snapshot: ${answer.path}`);
  }
  await sleep(Number(values["idle-seconds"]) * 1000);
  const idle = await sample();
  print(idle, `after ${values["idle-seconds"]} s idle`);
  const peak = samples.reduce((a, b) => (b.memory.rss > a.memory.rss ? b : a));
  const peakHeap = Math.max(...samples.map((s) => s.memory.heapUsed));
  const busySeconds = drained.seconds - idleStart.seconds;
  console.log(
    `\nstored ${drained.stored - idleStart.stored} of ${events} published in ${busySeconds.toFixed(1)} s` +
      ` (${((drained.stored - idleStart.stored) / busySeconds).toFixed(0)}/s);` +
      ` RSS MiB: start ${mib(idleStart.memory.rss).trim()}, peak ${mib(peak.memory.rss).trim()}` +
      ` (at ${peak.seconds.toFixed(0)} s), drained ${mib(drained.memory.rss).trim()}, idle ${mib(idle.memory.rss).trim()};` +
      ` peak heapUsed ${mib(peakHeap).trim()}; ${calls} read calls (${callFailures} failed)`,
  );
} finally {
  await publisher.close();
  await broker.close();
  await db.end();
  const exited = new Promise((resolve) => server.child.once("exit", resolve));
  server.child.send({ type: "stop" } satisfies ToMemoryServer);
  await exited;
}
