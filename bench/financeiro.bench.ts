// financeiro's bulk work against PostgreSQL binary COPY of the same rows, in the same run.
// Cases (figures are rows per second; × base is the ratio to the COPY baseline of its rows):
//   - COPY parcelas (baseline): the parcela rows billing produced, exported with
//     COPY … TO STDOUT (FORMAT binary) and loaded again with COPY FROM STDIN (FORMAT binary) into a
//     table LIKE parcela INCLUDING ALL (same indexes and checks);
//   - billing: GenerateCobranca over Connect, one RPC per grupo of 10,000 cotas: amounts from the
//     engine's percentages, nosso número, boleto and Pix per row, inserted in chunks;
//   - COPY pagamentos (baseline of the import): the pagamento rows the import wrote, loaded the same way;
//   - CNAB retorno import: a FEBRABAN 240 file of one T+U pair per parcela, parsed, reconciled by
//     nosso número, applied (pagamento, parcela, ledger entries, outbox) in one transaction, the file
//     stored in S3. In process (the RPC takes files up to 8 MiB, about 16,000 títulos).
// BENCH_FINANCEIRO_COTAS sets the number of cotas (default 100,000; the target is 1,000,000).
import { performance } from "node:perf_hooks";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { civilDate } from "@consorcio/domain";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { ParcelaService } from "@consorcio/gen/consorcio/financeiro/v1/parcela_service_pb.js";
import pg from "pg";
import { from as copyFrom, to as copyTo } from "pg-copy-streams";
import { uuidv7 } from "uuidv7";
import { importRetorno, layoutNamed } from "../services/financeiro/src/cnab.ts";
import { writeRetorno } from "../services/financeiro/src/domain/cnab240/retorno.ts";
import { service } from "../services/financeiro/src/service.ts";
import { financeiroEnv } from "../services/financeiro/test/support.ts";
import { createTestClock } from "../services/platform/src/clock.ts";
import {
  createTestIssuer,
  deleteQueues,
  serveJwks,
  startTestS3,
  startTestService,
} from "../services/platform/src/testing.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";

const GROUP = "financeiro";
const COPY_PARCELAS = "COPY binary of the parcelas";
const COPY_PAGAMENTOS = "COPY binary of the pagamentos";
const POR_GRUPO = 10_000;
const COMPETENCIA = "2026-04";

function row(
  name: string,
  rows: number,
  seconds: number,
  cpuMicros: number,
  baseline?: string,
  note?: string,
): Row {
  return {
    group: GROUP,
    name,
    ...(baseline ? { baseline } : {}),
    completed: rows,
    failures: 0,
    perSecond: rows / seconds,
    p50Ms: seconds * 1000,
    p99Ms: seconds * 1000,
    cpuMicrosPerCall: cpuMicros / rows,
    clientCpuMicrosPerCall: 0,
    rssMiB: process.memoryUsage.rss() / 2 ** 20,
    ...(note ? { note } : {}),
  };
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; cpuMicros: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await work();
  const used = process.cpuUsage(cpu);
  return { value, seconds: (performance.now() - start) / 1000, cpuMicros: used.user + used.system };
}

/** Exports `select` as binary COPY, then times loading it into a fresh table LIKE `table` INCLUDING ALL. */
async function copyBaseline(
  url: string,
  table: string,
  select: string,
): Promise<{ seconds: number; rows: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const chunks: Buffer[] = [];
    await pipeline(client.query(copyTo(`COPY (${select}) TO STDOUT (FORMAT binary)`)), async (source) => {
      for await (const chunk of source) chunks.push(chunk as Buffer);
    });
    const copy = `${table}_copy_${Date.now()}`;
    await client.query(`create table ${copy} (like ${table} including all)`);
    const start = performance.now();
    const stream = client.query(copyFrom(`COPY ${copy} FROM STDIN (FORMAT binary)`));
    await pipeline(Readable.from(chunks), stream);
    const seconds = (performance.now() - start) / 1000;
    const rows = Number(stream.rowCount);
    await client.query(`drop table ${copy}`);
    return { seconds, rows };
  } finally {
    await client.end();
  }
}

export async function run(_options: BenchOptions): Promise<Row[]> {
  const cotas = Number(process.env.BENCH_FINANCEIRO_COTAS ?? 100_000);
  const grupos = Math.ceil(cotas / POR_GRUPO);
  const issuer = await createTestIssuer();
  const jwks = await serveJwks(issuer.jwks);
  const s3 = await startTestS3();
  const queue = `financeiro.bench.${Date.now()}`;
  const running = await startTestService(
    service,
    {
      ...financeiroEnv,
      ...s3.env,
      JWKS_URL: jwks.url,
      FINANCEIRO_QUEUE: queue,
      DATABASE_STATEMENT_TIMEOUT_MS: "600000",
    },
    { clock: createTestClock(new Date("2026-04-01T12:00:00Z")) },
  );
  const rows: Row[] = [];
  try {
    const em = () => running.service.context.db.fork();
    const grupoIds = Array.from({ length: grupos }, () => uuidv7());
    for (const [g, id] of grupoIds.entries()) {
      await em().execute(
        `insert into grupo (id, codigo, preco_centavos, prazo_meses, taxa_administracao, fundo_reserva, dia_vencimento)
         values (?, ?, 3000000, 60, 15, 2, 10)`,
        [id, `B-${g}`],
      );
      const n = Math.min(POR_GRUPO, cotas - g * POR_GRUPO);
      await em().execute(
        `insert into cota (id, grupo_id, consorciado_id, numero, situacao, data_adesao)
         select gen_random_uuid(), ?, gen_random_uuid(), i, 'ATIVA', date '2026-03-02' from generate_series(1, ?) i`,
        [id, n],
      );
    }
    await em().execute("vacuum analyze cota");
    const client = createClient(
      ParcelaService,
      createConnectTransport({ baseUrl: running.service.url, httpVersion: "2" }),
    );
    const headers = { authorization: `Bearer ${await issuer.token({ roles: [Role.FINANCEIRO] })}` };
    const billing = await timed(async () => {
      let geradas = 0;
      for (const grupoId of grupoIds)
        geradas += (
          await client.generateCobranca(
            { grupoId, competencia: COMPETENCIA },
            { headers, timeoutMs: 600_000 },
          )
        ).geradas;
      return geradas;
    });
    const url = running.db.url;
    const copyP = await copyBaseline(
      url,
      "parcela",
      `select * from parcela where competencia = '${COMPETENCIA}'`,
    );
    rows.push(
      row(
        COPY_PARCELAS,
        copyP.rows,
        copyP.seconds,
        Number.NaN,
        undefined,
        "COPY FROM of pre-exported binary rows; CPU is the database's, not counted",
      ),
    );
    rows.push(
      row(
        `billing ${billing.value.toLocaleString("en")} cotas (GenerateCobranca × ${grupos})`,
        billing.value,
        billing.seconds,
        billing.cpuMicros,
        COPY_PARCELAS,
        "service in this process: CPU µs/row is the Node process (RPC, engine, boleto, Pix, JSON), without the database's",
      ),
    );

    // A retorno paying the parcelas billed: at most 50,000 títulos, 100,000 T and U lines.
    const titulos = await em().execute<{ nosso_numero: string; valor: string }[]>(
      `select nosso_numero, valor_centavos::text as valor from parcela where competencia = ? order by id limit 50000`,
      [COMPETENCIA],
    );
    const file = writeRetorno(
      {
        empresa: {
          banco: "001",
          bancoNome: "BANCO DO BRASIL",
          empresaTipoInscricao: "2",
          empresaInscricao: "12345678000195",
          empresaNome: "ADMINISTRADORA",
          convenio: "1234567",
          agencia: "1234",
          agenciaDv: "5",
          conta: "56789",
          contaDv: "9",
        },
        sequencialArquivo: 1,
        dataGeracao: civilDate(2026, 4, 9),
        titulos: titulos.map((t) => ({
          nossoNumero: t.nosso_numero,
          codigoMovimento: "06",
          valorTituloCentavos: BigInt(t.valor),
          valorPagoCentavos: BigInt(t.valor),
          dataPagamento: civilDate(2026, 4, 8),
        })),
      },
      await layoutNamed("febraban-240-v088"),
    );
    const conteudo = Buffer.from(file, "latin1");
    const lines = file.split("\n").filter(Boolean).length;
    const layout = await layoutNamed("febraban-240-v088");
    const storage = running.service.context.storage;
    if (!storage) throw new Error("no storage");
    const imported = await timed(() =>
      running.service.context.tx.job((uow) =>
        importRetorno(
          uow,
          { layout, layoutName: "febraban-240-v088", nomeArquivo: "bench.ret", conteudo },
          storage,
          "bench",
        ),
      ),
    );
    const copyG = await copyBaseline(url, "pagamento", "select * from pagamento");
    rows.push(
      row(
        COPY_PAGAMENTOS,
        copyG.rows,
        copyG.seconds,
        Number.NaN,
        undefined,
        "COPY FROM of pre-exported binary rows",
      ),
    );
    rows.push(
      row(
        `CNAB retorno import, ${lines.toLocaleString("en")} lines (${imported.value.aplicadas.toLocaleString("en")} applied)`,
        imported.value.aplicadas,
        imported.seconds,
        imported.cpuMicros,
        COPY_PAGAMENTOS,
        `${(conteudo.length / 2 ** 20).toFixed(1)} MiB file; parse, reconcile, pagamento + parcela + ledger + outbox, S3 put; time ratio to COPY = ${(imported.seconds / copyG.seconds).toFixed(2)}×`,
      ),
    );
  } finally {
    await running.stop();
    await jwks.close();
    await s3.close();
    await deleteQueues([queue]);
  }
  return rows;
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  printTable(await run(options), options);
}
