// The apuração of an assembleia (services/sorteios/src/domain), pure compute, in this process:
// a grupo of 5,000 cotas with 2,000 lances (fixo, livre and embutido), cash for about forty
// contemplations. Baseline: a plain sort of the same 2,000 lances by percentage (JS numbers),
// measured in the same run. Cases:
//   - plain sort (baseline);
//   - apurar: the draw, the restitution draw, ranking with decimal percentages and the
//     proximity tie-break, the money rule over every lance;
//   - apurar + the audit record: canonical JSON of the input and the result, both SHA-256.
import {
  apurar,
  type EntradaApuracao,
  hashEntrada,
  hashResultado,
  REGRA,
} from "../services/sorteios/src/domain/apuracao.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";

const GROUP = "sorteios";
const BASELINE = "plain sort of 2,000 lances";
const COTAS = 5_000;
const LANCES = 2_000;
/** Iterations per case, at most (the case takes min(--requests, this)). */
const MAX_ITERATIONS = 300;

/** A deterministic pseudo-random sequence (mulberry32), so every run measures the same input. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function entrada(): EntradaApuracao {
  const next = random(285);
  const cotas = Array.from({ length: COTAS }, (_, i) => i + 1);
  const excluidas = cotas.filter((c) => c % 97 === 0);
  const elegiveis = cotas.filter((c) => c % 97 !== 0 && c % 13 !== 0);
  const comLance = [...elegiveis]
    .sort(() => next() - 0.5)
    .slice(0, LANCES)
    .sort((a, b) => a - b);
  const lances = comLance.map((cota) => {
    const kind = next();
    if (kind < 0.2) return { cota, tipo: "FIXO" as const, percentual: "30", embutido: "0" };
    const percentual = (5 + next() * 70).toFixed(2);
    if (kind < 0.4)
      return {
        cota,
        tipo: "EMBUTIDO" as const,
        percentual,
        embutido: (Math.min(30, Number(percentual)) / 2).toFixed(2),
      };
    return { cota, tipo: "LIVRE" as const, percentual, embutido: "0" };
  });
  const credito = 20_000_000n;
  return {
    regra: REGRA,
    assembleiaId: "bench",
    grupoId: "bench",
    extracao: { numero: 5923, data: "2026-12-05", premios: ["48602", "01927", "82187", "34246", "68744"] },
    quantidadeCotas: COTAS,
    regraSorteio: { premiosConsiderados: 5, deslocados: true },
    sorteioExcluidos: true,
    contemplacoesPlanejadas: 2,
    creditoCentavos: credito.toString(),
    fundoComumCentavos: (credito * 30n).toString(),
    fundoReservaCentavos: (credito / 2n).toString(),
    cotasElegiveis: elegiveis,
    cotasExcluidas: excluidas,
    restituicoes: excluidas.map((cota) => ({ cota, valorCentavos: "1500000" })),
    regrasLance: {
      tiposPermitidos: ["LIVRE", "FIXO", "EMBUTIDO"],
      minimoLivre: "5",
      fixo: "30",
      maximoEmbutido: "30",
    },
    lances,
  };
}

function measure(name: string, iterations: number, warmup: number, work: () => unknown, note?: string): Row {
  for (let i = 0; i < warmup; i++) work();
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    work();
    latencies.push(performance.now() - t);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const sorted = Float64Array.from(latencies).sort();
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return {
    group: GROUP,
    name,
    ...(name === BASELINE ? {} : { baseline: BASELINE }),
    completed: iterations,
    failures: 0,
    perSecond: iterations / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    cpuMicrosPerCall: (used.user + used.system) / iterations,
    clientCpuMicrosPerCall: 0,
    rssMiB: process.memoryUsage.rss() / 2 ** 20,
    ...(note ? { note } : {}),
  };
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const input = entrada();
  const iterations = Math.min(options.requests, MAX_ITERATIONS);
  const warmup = Math.min(options.warmup, 30);
  const numbers = input.lances.map((l) => ({ cota: l.cota, pct: Number(l.percentual) }));
  const check = apurar(input);
  const note = `${COTAS} cotas, ${LANCES} lances, ${check.contemplacoes.length} contemplações; in-process, one call at a time (latency = compute)`;
  return [
    measure(
      BASELINE,
      iterations,
      warmup,
      () => numbers.slice().sort((a, b) => b.pct - a.pct || b.cota - a.cota),
      note,
    ),
    measure("apurar (draw, ranking, money rule)", iterations, warmup, () => apurar(input)),
    measure("apurar + canonical JSON + SHA-256", iterations, warmup, () => {
      hashEntrada(input);
      hashResultado(apurar(input));
    }),
  ];
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
}
