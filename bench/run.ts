// `npm run bench`: runs every bench/*.bench.ts in turn and prints one table.
// Options (all bench files share them): --requests N --seconds S --warmup N --concurrency N.
import { globSync } from "node:fs";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";

if (Number(process.versions.node.split(".")[0]) < 24) {
  console.error(
    `bench: Node.js 24 or newer is required, this is ${process.versions.node}. Use "npm run bench".`,
  );
  process.exit(1);
}
const options = parseBenchArgs(process.argv.slice(2));
const files = globSync("*.bench.ts", { cwd: import.meta.dirname }).sort();
const rows: Row[] = [];
for (const file of files) {
  const bench = (await import(`./${file}`)) as { run(options: BenchOptions): Promise<Row[]> };
  rows.push(...(await bench.run(options)));
}
printTable(rows, options);
const failed = rows.filter((row) => row.failures > 0);
if (failed.length > 0) {
  console.error(`\n${failed.length} case(s) had failures`);
  process.exitCode = 1;
}
