// Shared helpers of the contract scripts: where the repository is, how to run buf, and how to
// load a module's descriptors.
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorSet, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The shipped contracts: the Envoy descriptor set and the OpenAPI document come from here. */
export const SHIPPED_MODULE = "proto";
/** Contracts of the platform's own tests: linted and generated, never shipped. */
const BUF = join(ROOT, "node_modules", ".bin", "buf");

/** Runs buf from the repository root and returns its stdout (stderr goes to ours). */
export function buf(args: string[], options: { cwd?: string } = {}): Buffer {
  return execFileSync(BUF, args, {
    cwd: options.cwd ?? ROOT,
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 256 << 20,
  });
}

/** Runs buf with its output on our terminal; returns whether it exited 0. */
export function bufInteractive(args: string[]): boolean {
  try {
    execFileSync(BUF, args, { cwd: ROOT, stdio: "inherit" });
    return true;
  } catch {
    return false;
  }
}

export interface ModuleImage {
  /** Every file of the module with all its imports, in dependency order. */
  set: FileDescriptorSet;
  /** Names of the module's own files (not imports), e.g. `consorcio/auth/v1/policy.proto`. */
  targets: string[];
}

/** Builds one module of the workspace (imports included) as a FileDescriptorSet. */
export function buildModule(module: string, options: { sourceInfo: boolean }): ModuleImage {
  const build = (extra: string[]) =>
    fromBinary(
      FileDescriptorSetSchema,
      buf(["build", module, "--as-file-descriptor-set", ...extra, "-o", "-#format=binpb"]),
    );
  const set = build(options.sourceInfo ? [] : ["--exclude-source-info"]);
  const targets = build(["--exclude-imports", "--exclude-source-info"]).file.map((f) => f.name);
  return { set, targets };
}
