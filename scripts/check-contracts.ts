// Contract checks (DESIGN.md §9), each reported, failing at the end if any failed:
// 1. every RPC of the shipped module has a consorcio.auth.v1.policy and a google.api.http rule,
//    and the module follows scripts/contract-rules.ts (request_id on mutations, paging of List*,
//    owner_field paths that resolve, int64 *_centavos) and scripts/field-rules.ts (field_behavior
//    on the server-set fields of resources, debug_redact on fields named for personal data);
// 2. `buf format` is clean, 3. `buf lint` passes,
// 4. `buf breaking` (FILE rules) against main, when main exists and has contracts at its tip
//    (CONTRACTS_BREAKING_AGAINST=<buf input>, e.g. `.git#ref=HEAD~1`, overrides the baseline);
// 5. third_party/ is what `npm run sync:third-party` writes;
// 6. `npm run generate` leaves no diff in what it generates.
//
//   npm run check:contracts
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry } from "@bufbuild/protobuf";
import { type Policy, Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { bufInteractive, buildModule, ROOT, SHIPPED_MODULE } from "./buf.ts";
import { contractProblems } from "./contract-rules.ts";
import { fieldProblems } from "./field-rules.ts";
import { GENERATED_PATHS, generate } from "./generate.ts";
import { httpRule, policyOf, servicesOf } from "./openapi.ts";
import { compareTrees, syncInto, THIRD_PARTY_DIR } from "./sync-third-party.ts";

const MAIN = "main";

function git(args: string[]): string {
  return execFileSync("git", args, { cwd: ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function gitSucceeds(args: string[]): boolean {
  try {
    git(args);
    return true;
  } catch {
    return false;
  }
}

/** A policy naming ROLE_SERVICE alone: an internal RPC, for other services only. */
export function isServiceOnly(policy: Policy): boolean {
  return (
    !policy.public &&
    policy.ownerRoles.length === 0 &&
    policy.roles.length > 0 &&
    policy.roles.every((role) => role === Role.SERVICE)
  );
}

/** RPCs of the shipped module without a policy or an HTTP rule. */
function rpcProblems(): string[] {
  const { set, targets } = buildModule(SHIPPED_MODULE, { sourceInfo: false });
  const registry = createFileRegistry(set);
  const problems: string[] = [];
  for (const service of servicesOf(registry, targets)) {
    for (const method of service.methods) {
      const name = `${service.typeName}.${method.name}`;
      const policy = policyOf(registry, method);
      if (!policy) problems.push(`${name}: no (consorcio.auth.v1.policy) option`);
      // An RPC only other services may call is not on the edge, so it needs no REST mapping.
      const internal = policy && isServiceOnly(policy);
      if (!httpRule(registry, method) && !internal) problems.push(`${name}: no (google.api.http) rule`);
      if (internal && httpRule(registry, method))
        problems.push(`${name}: only ROLE_SERVICE may call it, so it must not be on the REST edge`);
    }
  }
  return [...problems, ...contractProblems(registry, targets), ...fieldProblems(registry, targets)];
}

/** Why `buf breaking` against main cannot run, or undefined when it can. */
function breakingSkipReason(): string | undefined {
  if (!gitSucceeds(["rev-parse", "--verify", "--quiet", `refs/heads/${MAIN}^{commit}`])) {
    return `no local branch ${MAIN} with a commit`;
  }
  if (
    git(["ls-tree", "--name-only", MAIN, "--", "proto", "buf.yaml"]).split("\n").filter(Boolean).length < 2
  ) {
    return `${MAIN} has no proto/ and buf.yaml at its tip yet`;
  }
  return undefined;
}

/** The contracts partners and deployed services rely on; moved on only by a deliberate release. */
const RELEASED = "contracts/released.binpb";

async function main() {
  const failures: string[] = [];
  const step = async (title: string, run: () => boolean | Promise<boolean>) => {
    console.log(`\n== ${title}`);
    let ok: boolean;
    try {
      ok = await run();
    } catch (e) {
      console.error(e instanceof Error ? e.message : String(e));
      ok = false;
    }
    console.log(ok ? "ok" : "FAILED");
    if (!ok) failures.push(title);
  };

  await step("every shipped RPC has a policy and an HTTP rule, and follows the contract rules", () => {
    const problems = rpcProblems();
    for (const p of problems) console.error(`  ${p}`);
    return problems.length === 0;
  });
  await step("buf format", () => bufInteractive(["format", "--diff", "--exit-code"]));
  await step("buf lint", () => bufInteractive(["lint"]));
  const against = process.env.CONTRACTS_BREAKING_AGAINST;
  await step(`buf breaking against ${against ?? MAIN}`, () => {
    if (against) return bufInteractive(["breaking", "--against", against]);
    const skip = breakingSkipReason();
    if (skip) {
      console.log(`skipped: ${skip}`);
      return true;
    }
    return bufInteractive(["breaking", "--against", `.git#branch=${MAIN}`]);
  });
  // main is the commit under test in CI, so the check above compares it with itself there;
  // the released contracts are a baseline that CI can hold every change against.
  await step(`buf breaking against the released contracts (${RELEASED})`, () => {
    if (!existsSync(join(ROOT, RELEASED))) {
      console.log(`skipped: no ${RELEASED} yet (npm run contracts:release makes it)`);
      return true;
    }
    return bufInteractive(["breaking", SHIPPED_MODULE, "--against", RELEASED]);
  });
  await step("third_party/ in sync with its npm packages", () => {
    const staging = mkdtempSync(join(tmpdir(), "third-party-"));
    try {
      syncInto(staging);
      const problems = compareTrees(staging, THIRD_PARTY_DIR);
      for (const p of problems) console.error(`  ${p}`);
      if (problems.length > 0) console.error("  run: npm run sync:third-party");
      return problems.length === 0;
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  });
  await step("generated code up to date (npm run generate leaves no diff)", async () => {
    await generate();
    const status = git(["status", "--porcelain", "--", ...GENERATED_PATHS]).trimEnd();
    if (status !== "") {
      console.error(
        `${status}\n  generated files differ from the commit: run npm run generate and commit them`,
      );
      return false;
    }
    return true;
  });

  if (failures.length > 0) {
    console.error(`\ncheck:contracts failed: ${failures.join("; ")}`);
    process.exit(1);
  }
  console.log("\ncheck:contracts: all passed");
}

await main();
