// consorciados and auditoria under load, against bare baselines measured in the same run.
// Cases:
//   - bare node:http2 echo of a CreateConsorciado request body (the baseline of the RPC cases);
//   - CreateConsorciado over Connect binary with an OPERADOR token: JWT, policy, validation, CPF
//     check digits, blind index lookup, a fresh data key wrapped and the personal data sealed,
//     INSERT + outbox (event and call record) in one transaction, then the relay publishes both.
//     Every request carries a distinct CPF, generated here before the run;
//   - GetConsorciado by id of the consorciados just created: a read that unwraps the data key and
//     decrypts the personal data every time;
//   - event ingestion: N ConsorciadoCriado events published in one burst straight to RabbitMQ, timed
//     until all N are stored. Baseline: a bare amqplib consumer doing one INSERT per message
//     (ack after commit); then auditoria: inbox + hash chain appended under the chain head's lock.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  ConsorciadoCriadoSchema,
  TipoPessoa,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_pb.js";
import {
  ConsorciadoService,
  CreateConsorciadoRequestSchema,
  GetConsorciadoRequestSchema,
} from "@consorcio/gen/consorcio/consorciados/v1/consorciado_service_pb.js";
import { cpf } from "cpf-cnpj-validator";
import pg from "pg";
import { uuidv7 } from "uuidv7";
import type { EventBus, OutgoingMessage } from "../services/platform/src/bus.ts";
import { createLogger } from "../services/platform/src/logging.ts";
import { connectRabbitMqBus } from "../services/platform/src/rabbitmq-bus.ts";
import { deleteQueues, testServers } from "../services/platform/src/testing.ts";
import { type ServerChild, startChild } from "./lib/child.ts";
import type { Target } from "./lib/load.ts";
import { measureCase } from "./lib/measure.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { IngestInfo } from "./servers/auditoria.ts";
import type { ConsorciadosInfo } from "./servers/consorciados.ts";

const GROUP = "consorciados";
const BASELINE = "node:http2 echo";
const INGEST_BASELINE = "ingest: amqplib + 1 INSERT/msg";
/** Events per ingestion case, at most (the case takes min(--requests, this)). */
const MAX_EVENTS = 5_000;
const MAX_WARMUP_EVENTS = 500;
const PUBLISH_BATCH = 500;

const connectHeaders = { "content-type": "application/proto", "connect-protocol-version": "1" };
const nonEmpty = (body: Buffer) => body.length > 0;

/** `count` distinct valid CPFs (cpf.generate draws at random, so repeats are dropped). */
function distinctCpfs(count: number): string[] {
  const cpfs = new Set<string>();
  while (cpfs.size < count) cpfs.add(cpf.generate());
  return [...cpfs];
}

/** A complete pessoa física, as the service's own tests create them. */
function createRequest(documento: string): Uint8Array {
  return toBinary(
    CreateConsorciadoRequestSchema,
    create(CreateConsorciadoRequestSchema, {
      consorciado: {
        tipo: TipoPessoa.FISICA,
        pessoa: {
          case: "pf",
          value: {
            cpf: documento,
            nome: "Maria José da Conceição",
            dataNascimento: { year: 1980, month: 5, day: 17 },
          },
        },
        endereco: {
          cep: "01310-100",
          logradouro: "Avenida Paulista",
          numero: "1000",
          municipio: "São Paulo",
          uf: "SP",
        },
        email: "maria.jose@example.com",
        telefones: ["+5511998765432"],
        contaBancaria: { banco: "001", agencia: "1234", conta: "567890", digito: "1", tipo: 1 },
        chavePix: "maria.jose@example.com",
      },
    }),
  );
}

interface Bodies {
  warm: readonly Uint8Array[];
  run: readonly Uint8Array[];
}

function measure(
  name: string,
  target: Target,
  server: ServerChild<unknown>,
  options: BenchOptions,
  bodies?: Bodies,
): Promise<Row> {
  const targets = bodies
    ? { warm: { ...target, bodies: bodies.warm }, run: { ...target, bodies: bodies.run } }
    : { warm: target, run: target };
  const baseline = name === BASELINE ? undefined : BASELINE;
  return measureCase({ group: GROUP, name, baseline, server, targets, limits: options });
}

async function echoBaseline(options: BenchOptions, body: Uint8Array): Promise<Row> {
  const server = await startChild<{ port: number }>(new URL("./servers/http2-echo.ts", import.meta.url));
  try {
    const url = `http://127.0.0.1:${server.info.port}`;
    const target = { url, path: "/echo", headers: connectHeaders, body, expect: body, grpc: false };
    return await measure(BASELINE, target, server, options);
  } finally {
    await server.stop();
  }
}

/** CreateConsorciado with a distinct CPF per request, then GetConsorciado of what was created. */
async function consorciadosCases(options: BenchOptions, createBodies: readonly Uint8Array[]): Promise<Row[]> {
  const server = await startChild<ConsorciadosInfo>(new URL("./servers/consorciados.ts", import.meta.url));
  try {
    const url = `http://127.0.0.1:${server.info.port}`;
    const headers = { ...connectHeaders, authorization: `Bearer ${server.info.token}` };
    const rpc = (method: { name: string }) => ({
      url,
      path: `/${ConsorciadoService.typeName}/${method.name}`,
      headers,
      body: new Uint8Array(),
      expect: new Uint8Array(),
      accept: nonEmpty,
      grpc: false,
    });
    const created = await measure(
      "CreateConsorciado, Connect + JWT + PII sealed + SQL/outbox",
      rpc(ConsorciadoService.method.createConsorciado),
      server,
      options,
      { warm: createBodies.slice(0, options.warmup), run: createBodies.slice(options.warmup) },
    );
    const ids = await query<{ id: string }>(
      server.info.databaseUrl,
      "select id from consorciado order by id",
    );
    if (ids.length === 0) throw new Error("no consorciado was created: GetConsorciado has nothing to read");
    const getBodies = ids.map(({ id }) =>
      toBinary(GetConsorciadoRequestSchema, create(GetConsorciadoRequestSchema, { id })),
    );
    const cycle = (offset: number, count: number) =>
      Array.from({ length: count }, (_, i) => getBodies[(offset + i) % getBodies.length] as Uint8Array);
    const read = await measure(
      "GetConsorciado, Connect + JWT + SQL + PII opened",
      rpc(ConsorciadoService.method.getConsorciado),
      server,
      options,
      { warm: cycle(0, options.warmup), run: cycle(options.warmup, options.requests) },
    );
    read.note = `cycles through the ${ids.length} consorciados created by the case above`;
    return [created, read];
  } finally {
    await server.stop();
  }
}

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts a consumer child, publishes a warm-up burst and waits for it, then publishes `count`
 * ConsorciadoCriado events in one burst and polls the child's table until all of them are stored.
 * The queue is bound to `#`, so anything else published meanwhile lands there too: the count
 * is first taken over the whole table, then confirmed over this run's message ids.
 */
async function ingest(name: string, script: string, options: BenchOptions): Promise<Row> {
  const count = Math.min(options.requests, MAX_EVENTS);
  const warmup = Math.min(options.warmup, MAX_WARMUP_EVENTS);
  const timeoutMs = Math.max(options.seconds, 120) * 1000;
  process.stderr.write(`${GROUP}: ${name} ... `);
  const server = await startChild<IngestInfo>(new URL(script, import.meta.url));
  const { databaseUrl, table, idColumn, queue } = server.info;
  const db = new pg.Client({ connectionString: databaseUrl });
  let bus: EventBus | undefined;
  try {
    await db.connect();
    const publisher = await connectRabbitMqBus({
      url: testServers.amqpUrl,
      logger: createLogger({ service: "bench", level: "silent" }),
    });
    bus = publisher;
    const total = async () =>
      Number((await db.query<{ n: string }>(`select count(*) as n from ${table}`)).rows[0]?.n);
    const ofIds = async (ids: readonly string[]) =>
      Number(
        (
          await db.query<{ n: string }>(
            `select count(*) as n from ${table} where ${idColumn} = any($1::text[])`,
            [ids],
          )
        ).rows[0]?.n,
      );
    /** Publishes `n` events and waits until they are all stored or the time is up; returns how many were. */
    const burst = async (n: number) => {
      const start = await total();
      const ids = Array.from({ length: n }, () => uuidv7());
      for (let i = 0; i < n; i += PUBLISH_BATCH) {
        await publisher.publish(
          ids.slice(i, i + PUBLISH_BATCH).map(
            (id): OutgoingMessage => ({
              id,
              type: ConsorciadoCriadoSchema.typeName,
              routingKey: ConsorciadoCriadoSchema.typeName,
              body: toBinary(
                ConsorciadoCriadoSchema,
                create(ConsorciadoCriadoSchema, { consorciadoId: uuidv7(), tipo: TipoPessoa.FISICA }),
              ),
              headers: { "correlation-id": randomUUID(), actor: "bench" },
              timestamp: new Date(),
            }),
          ),
        );
      }
      const deadline = performance.now() + timeoutMs;
      let stored = 0;
      for (;;) {
        const seen = (await total()) - start;
        if (seen >= n || performance.now() > deadline) {
          stored = await ofIds(ids);
          if (stored >= n || performance.now() > deadline) return { stored, foreign: seen - stored };
        }
        await sleep(50);
      }
    };
    const warm = await burst(warmup);
    const before = await server.usage();
    const client = process.cpuUsage();
    const started = performance.now();
    const run = await burst(count);
    const seconds = (performance.now() - started) / 1000;
    const clientCpu = process.cpuUsage(client);
    const after = await server.usage();
    const failures = warmup - warm.stored + (count - run.stored);
    const foreign = warm.foreign + run.foreign;
    const row: Row = {
      group: GROUP,
      name,
      ...(name === INGEST_BASELINE ? {} : { baseline: INGEST_BASELINE }),
      completed: run.stored,
      failures,
      ...(failures > 0 ? { firstFailure: `events not stored within ${timeoutMs / 1000} s` } : {}),
      perSecond: run.stored / seconds,
      p50Ms: Number.NaN,
      p99Ms: Number.NaN,
      cpuMicrosPerCall: (after.cpuMicros - before.cpuMicros) / run.stored,
      clientCpuMicrosPerCall: (clientCpu.user + clientCpu.system) / run.stored,
      rssMiB: after.rssBytes / 2 ** 20,
      note:
        `${warmup} events to warm up, then ${count} published in one burst (persistent, confirmed), ` +
        `timed from the first publish until all ${count} were stored; per-event latency not measured` +
        (name === INGEST_BASELINE ? "" : `; × base against "${INGEST_BASELINE}"`) +
        (foreign > 0 ? `; ${foreign} other events from the bus were stored meanwhile` : ""),
    };
    process.stderr.write(`${Math.round(row.perSecond)} events/s${failures ? `, ${failures} missing` : ""}\n`);
    return row;
  } finally {
    await db.end().catch(() => undefined);
    await bus?.close();
    await server.stop();
    await deleteQueues([queue]); // the child deletes it too; this covers a child that died
  }
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const createBodies = distinctCpfs(options.warmup + options.requests).map(createRequest);
  return [
    await echoBaseline(options, createBodies[0] as Uint8Array),
    ...(await consorciadosCases(options, createBodies)),
    await ingest(INGEST_BASELINE, "./servers/amqp-insert.ts", options),
    await ingest("ingest: auditoria, inbox + hash chain", "./servers/auditoria.ts", options),
  ];
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}
