#!/usr/bin/env node
// The `consorcio` command. Node 24 runs the TypeScript entry by type stripping; an older node
// (a system one, outside npm/npx, which put the project's Node 24 first on PATH) hands over to
// the Node 24 the project brings (the `node` devDependency).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";

const major = Number(process.versions.node.split(".")[0]);
if (major >= 24) {
  await import("../src/cli.ts");
} else {
  let node;
  try {
    node = createRequire(import.meta.url).resolve("node/bin/node");
  } catch {
    process.stderr.write("error: consorcio needs Node 24 (run `npm ci` first, then `npx consorcio`)\n");
    process.exit(1);
  }
  const entry = new URL("../src/cli.ts", import.meta.url).pathname;
  const result = spawnSync(node, [entry, ...process.argv.slice(2)], { stdio: "inherit" });
  process.exit(result.status ?? 1);
}
