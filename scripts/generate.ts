// Regenerates everything that comes from the contracts (DESIGN.md §3), deterministically:
// - gen/                        TypeScript of proto/ and third_party (buf.gen.yaml)
// - services/platform/test/gen/ TypeScript of the test-only contracts (buf.gen.test.yaml)
// - envoy/descriptor.binpb      FileDescriptorSet of the shipped module with its imports,
//                               for Envoy's gRPC-JSON transcoder
// - openapi/consorcio.openapi.yaml  OpenAPI 3.1 of the shipped services
//
//   npm run generate
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { buf, ROOT, SHIPPED_MODULE } from "./buf.ts";
import { openApiForModule } from "./openapi.ts";

export const GEN_DIR = "gen";
export const TEST_GEN_DIR = "services/platform/test/gen";
export const ENVOY_DESCRIPTOR = "envoy/descriptor.binpb";
export const OPENAPI_FILE = "openapi/consorcio.openapi.yaml";
/** What `npm run generate` writes: check:contracts fails when any of it differs from the commit. */
export const GENERATED_PATHS = [GEN_DIR, TEST_GEN_DIR, ENVOY_DESCRIPTOR, OPENAPI_FILE];

/** Files of gen/ that are not generated (the npm workspace's own). */
const GEN_KEEP = new Set(["package.json", "README.md", "node_modules"]);

function listFiles(dir: string): string[] {
  const result: string[] = [];
  if (!existsSync(dir)) return result;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) result.push(join(entry.parentPath, entry.name));
  }
  return result.sort();
}

/**
 * Every import of the generated code must resolve: a relative one to a generated file, a
 * `@consorcio/gen/…` one to a file of gen/. A test proto importing a shipped package that
 * buf.gen.test.yaml does not map would otherwise produce a dangling relative import.
 */
function checkImports(dirs: string[]): string[] {
  const problems: string[] = [];
  for (const dir of dirs) {
    for (const file of listFiles(join(ROOT, dir)).filter((f) => f.endsWith(".js") || f.endsWith(".d.ts"))) {
      const source = readFileSync(file, "utf8");
      for (const [, spec] of source.matchAll(/\bfrom\s+"([^"]+)"/g)) {
        if (spec === undefined) continue;
        let target: string | undefined;
        if (spec.startsWith(".")) target = resolve(dirname(file), spec);
        else if (spec.startsWith("@consorcio/gen/"))
          target = join(ROOT, GEN_DIR, spec.slice("@consorcio/gen/".length));
        if (target !== undefined && !existsSync(target)) {
          problems.push(`${relative(ROOT, file)}: import "${spec}" does not resolve`);
        }
      }
    }
  }
  return problems;
}

/**
 * Makes `target` hold exactly the files of `staged` (besides `keep` at its top): only files that
 * differ are written, stale ones removed. gen/ is never empty meanwhile, so tests and type checks
 * running while someone regenerates still find every module.
 */
function syncDir(staged: string, target: string, keep: ReadonlySet<string> = new Set()): void {
  const wanted = new Set(listFiles(staged).map((file) => relative(staged, file)));
  for (const file of listFiles(target)) {
    const name = relative(target, file);
    const top = name.split(/[\\/]/)[0] ?? name;
    if (!wanted.has(name) && !keep.has(top)) rmSync(file, { force: true });
  }
  for (const name of wanted) {
    const content = readFileSync(join(staged, name));
    const destination = join(target, name);
    if (existsSync(destination) && readFileSync(destination).equals(content)) continue;
    mkdirSync(dirname(destination), { recursive: true });
    // Written beside it, then renamed over it: a reader sees the old file or the new one.
    writeFileSync(`${destination}.tmp-${process.pid}`, content);
    renameSync(`${destination}.tmp-${process.pid}`, destination);
  }
  removeEmptyDirs(target);
}

function removeEmptyDirs(dir: string): boolean {
  if (!existsSync(dir)) return true;
  let empty = true;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory() && entry.name !== "node_modules" && removeEmptyDirs(join(dir, entry.name)))
      rmSync(join(dir, entry.name), { recursive: true, force: true });
    else empty = false;
  }
  return empty;
}

export async function generate(): Promise<void> {
  // Generated TypeScript, into a staging folder first (buf's -o prefixes the templates' out
  // folders), then synced into gen/ (which keeps its package.json) and the test gen/.
  const staging = mkdtempSync(join(tmpdir(), "consorcio-generate-"));
  try {
    buf(["generate", "--template", "buf.gen.yaml", "-o", staging]);
    buf(["generate", "--template", "buf.gen.test.yaml", "-o", staging]);
    syncDir(join(staging, GEN_DIR), join(ROOT, GEN_DIR), GEN_KEEP);
    syncDir(join(staging, TEST_GEN_DIR), join(ROOT, TEST_GEN_DIR));
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const problems = checkImports([GEN_DIR, TEST_GEN_DIR]);
  if (problems.length > 0) {
    throw new Error(
      `generated code has dangling imports (add a map_imports line to buf.gen.test.yaml?):\n  ${problems.join("\n  ")}`,
    );
  }

  // Envoy's transcoder: the shipped module and its imports (google/api/http.proto…), without
  // source info (no churn from comments, smaller).
  const descriptor = buf([
    "build",
    SHIPPED_MODULE,
    "--as-file-descriptor-set",
    "--exclude-source-info",
    "-o",
    "-#format=binpb",
  ]);
  mkdirSync(join(ROOT, dirname(ENVOY_DESCRIPTOR)), { recursive: true });
  writeFileSync(join(ROOT, ENVOY_DESCRIPTOR), descriptor);

  // OpenAPI for partners (validated against the OpenAPI 3.1 schema before it is written).
  const openapi = await openApiForModule(SHIPPED_MODULE);
  mkdirSync(join(ROOT, dirname(OPENAPI_FILE)), { recursive: true });
  writeFileSync(join(ROOT, OPENAPI_FILE), openapi);

  const count = (dir: string) => listFiles(join(ROOT, dir)).length;
  console.log(
    `generated ${GEN_DIR}/ (${count(GEN_DIR)} files), ${TEST_GEN_DIR}/ (${count(TEST_GEN_DIR)} files), ` +
      `${ENVOY_DESCRIPTOR} (${descriptor.length} bytes), ${OPENAPI_FILE}`,
  );
}

if (import.meta.main) await generate();
