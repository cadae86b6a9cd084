// grupos' adesão under concurrency against a bare PostgreSQL insert of a cota row, in the same run.
// Cases (× base is the ratio to the bare insert):
//   - bare INSERT of a cota row (baseline): node-postgres, a pool of 10 connections (the service's
//     DATABASE_POOL_MAX), `--concurrency` inserts in flight into grupos' own migrated schema (same
//     indexes and checks), one autocommit statement each. CPU is the inserting process's;
//   - AderirGrupo over Connect with an ADMIN token, spread over 16 grupos: JWT, policy, validation,
//     GetConsorciado at consorciados (another process, with the service token from identidade),
//     then one transaction: the grupo row locked FOR UPDATE, the lowest free number, the cota, its
//     history row, the grupo's count, CotaAderida + CotaSituacaoAlterada + the call record in the
//     outbox; the relay publishes them. CPU is the grupos process's only;
//   - the same into one grupo at a time (10,000 cotas each, filled in turn): every adesão of the
//     grupo queues on its row lock, which is what keeps numbers unique and capacity exact.
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import {
  AderirGrupoRequestSchema,
  CotaService,
} from "@consorcio/gen/consorcio/grupos/v1/grupo_service_pb.js";
import pg from "pg";
import { uuidv7 } from "uuidv7";
import { migrations } from "../services/grupos/migrations/index.ts";
import { entities } from "../services/grupos/src/store/entities.ts";
import { openDatabase } from "../services/platform/src/db.ts";
import { createLogger } from "../services/platform/src/logging.ts";
import { createTestDatabase } from "../services/platform/src/testing.ts";
import { startChild } from "./lib/child.ts";
import { timeLoop } from "./lib/loop.ts";
import { measureCase } from "./lib/measure.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { GruposInfo } from "./servers/grupos.ts";
import type { GruposPeersInfo } from "./servers/grupos-peers.ts";

const GROUP = "grupos";
const BASELINE = "bare INSERT of a cota row (pg, pool 10)";
const COTAS = 10_000;
const SPREAD = 16;

async function bareInsert(options: BenchOptions): Promise<Row> {
  process.stderr.write(`${GROUP}: ${BASELINE} ... `);
  const database = await createTestDatabase("bench_grupos");
  const db = await openDatabase({
    url: database.url,
    entities,
    migrations,
    logger: createLogger({ service: "bench", level: "silent" }),
  });
  const pool = new pg.Pool({ connectionString: database.url, max: 10 });
  // Dropping the database at the end ends any connection still open: not an error here.
  pool.on("error", () => undefined);
  try {
    await db.migrate();
    const grupoId = uuidv7();
    await pool.query(
      `insert into grupo (id, codigo, segmento, status, quantidade_cotas, cotas_ocupadas, parametros, created_at, updated_at)
       values ($1, 'BENCH', 'VEICULO_LEVE', 'EM_FORMACAO', 10000, 0, '{}', now(), now())`,
      [grupoId],
    );
    let numero = 0;
    const insert = async () => {
      numero++;
      await pool.query(
        `insert into cota (id, grupo_id, numero, consorciado_id, situacao, contemplada, data_adesao, adesao_at, updated_at)
         values ($1, $2, $3, $4, 'ATIVA', false, '2027-01-05', now(), now())`,
        [uuidv7(), grupoId, numero, randomUUID()],
      );
      return true;
    };
    const limits = { concurrency: options.concurrency, seconds: options.seconds };
    await timeLoop(insert, { ...limits, requests: options.warmup });
    const run = await timeLoop(insert, { ...limits, requests: options.requests });
    const row: Row = {
      group: GROUP,
      name: BASELINE,
      completed: run.completed,
      failures: run.failures,
      ...(run.firstFailure ? { firstFailure: run.firstFailure } : {}),
      perSecond: run.completed / run.seconds,
      p50Ms: run.p50Ms,
      p99Ms: run.p99Ms,
      cpuMicrosPerCall: run.cpuMicros / run.completed,
      clientCpuMicrosPerCall: 0,
      rssMiB: run.rssBytes / 2 ** 20,
      note: "in the bench process; CPU µs is node-postgres's side (PostgreSQL's own CPU is in no row)",
    };
    process.stderr.write(`${Math.round(row.perSecond)} req/s\n`);
    return row;
  } finally {
    await pool.end();
    await db.close();
    await database.drop();
  }
}

async function adesaoCases(options: BenchOptions): Promise<Row[]> {
  const total = options.warmup + options.requests;
  const hot = Math.ceil(total / COTAS);
  const peers = await startChild<GruposPeersInfo>(new URL("./servers/grupos-peers.ts", import.meta.url), {
    timeoutMs: 180_000,
  });
  try {
    const server = await startChild<GruposInfo>(new URL("./servers/grupos.ts", import.meta.url), {
      nodeArgs: process.env.BENCH_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROF}`] : [],
      timeoutMs: 120_000,
      env: {
        BENCH_GRUPOS_PEERS: JSON.stringify(peers.info),
        BENCH_GRUPOS_COUNT: String(hot + SPREAD),
        BENCH_GRUPOS_COTAS: String(COTAS),
      },
    });
    try {
      const { consorciadoIds } = peers.info;
      const body = (grupoId: string, i: number) =>
        toBinary(
          AderirGrupoRequestSchema,
          create(AderirGrupoRequestSchema, {
            grupoId,
            consorciadoId: consorciadoIds[i % consorciadoIds.length] ?? "",
          }),
        );
      const target = (bodies: Uint8Array[]) => ({
        url: `http://127.0.0.1:${server.info.port}`,
        path: `/${CotaService.typeName}/${CotaService.method.aderirGrupo.name}`,
        headers: {
          "content-type": "application/proto",
          "connect-protocol-version": "1",
          authorization: `Bearer ${peers.info.token}`,
        },
        body: new Uint8Array(),
        bodies,
        expect: new Uint8Array(),
        accept: (response: Buffer) => response.length > 0,
        grpc: false,
      });
      const cases = async (name: string, grupoOf: (i: number) => string) => {
        const bodies = Array.from({ length: total }, (_, i) => body(grupoOf(i), i));
        const row = await measureCase({
          group: GROUP,
          name,
          baseline: BASELINE,
          server,
          targets: {
            warm: target(bodies.slice(0, options.warmup)),
            run: target(bodies.slice(options.warmup)),
          },
          limits: options,
        });
        row.note =
          `${consorciadoIds.length} consorciados in turn; CPU µs is the grupos process only ` +
          "(consorciados and identidade run in another process)";
        return row;
      };
      const spread = server.info.grupoIds.slice(hot);
      return [
        await cases(
          `AderirGrupo, ${SPREAD} grupos in turn, Connect + JWT + consorciados + SQL/outbox`,
          (i) => spread[i % SPREAD] ?? "",
        ),
        await cases(
          "AderirGrupo, one grupo at a time (its row lock serialises them)",
          (i) => server.info.grupoIds[Math.floor(i / COTAS)] ?? "",
        ),
      ];
    } finally {
      await server.stop();
    }
  } finally {
    await peers.stop();
  }
}

export async function run(options: BenchOptions): Promise<Row[]> {
  return [await bareInsert(options), ...(await adesaoCases(options))];
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}
