import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, describe, expect, test } from "vitest";
import { buf, buildModule, ROOT, SHIPPED_MODULE } from "./buf.ts";
import {
  centavosProblems,
  contractProblems,
  ownerFieldProblems,
  paginationProblems,
  retryProblems,
} from "./contract-rules.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Builds scripts/testdata/contracts/<name> with the real policy.proto beside it. */
function buildCase(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `contract-${name}-`));
  dirs.push(dir);
  writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
  cpSync(join(ROOT, "scripts/testdata/contracts", name), dir, { recursive: true });
  cpSync(join(ROOT, "proto/consorcio/auth/v1/policy.proto"), join(dir, "consorcio/auth/v1/policy.proto"));
  const set = fromBinary(
    FileDescriptorSetSchema,
    buf(["build", "--as-file-descriptor-set", "--exclude-source-info", "-o", "-#format=binpb"], {
      cwd: dir,
    }),
  );
  const targets = set.file.map((f) => f.name).filter((f) => f.startsWith("testdata/"));
  return { registry: createFileRegistry(set), targets };
}

describe("contract rules", () => {
  test("the shipped contracts pass every rule", () => {
    const { set, targets } = buildModule(SHIPPED_MODULE, { sourceInfo: false });
    expect(contractProblems(createFileRegistry(set), targets)).toEqual([]);
  });

  test("retries: a mutating RPC needs a string request_id unless exempt", () => {
    const { registry, targets } = buildCase("retries");
    expect(retryProblems(registry, targets, {})).toEqual([
      "testdata.RetryService.Touch: mutating RPC without a string request_id in testdata.TouchRequest (retries must be safe)",
      "testdata.RetryService.Poke: mutating RPC without a string request_id in testdata.PokeRequest (retries must be safe)",
    ]);
    expect(
      retryProblems(registry, targets, {
        "testdata.RetryService.Touch": "x",
        "testdata.RetryService.Poke": "y",
      }),
    ).toEqual([]);
  });

  test("pagination: List* RPCs take page_size and page_token and return next_page_token", () => {
    const { registry, targets } = buildCase("pagination");
    expect(paginationProblems(registry, targets)).toEqual([
      "testdata.PageService.ListBad: testdata.ListBadRequest has no int32 page_size",
      "testdata.PageService.ListBad: testdata.ListBadRequest has no string page_token",
      "testdata.PageService.ListBad: testdata.ListBadResponse has no string next_page_token",
      "testdata.PageService.ListOdd: testdata.ListOddRequest has no int32 page_size",
    ]);
  });

  test("owner scope: owner_field is a path of request fields ending on a string", () => {
    const { registry, targets } = buildCase("owner-field");
    expect(ownerFieldProblems(registry, targets)).toEqual([
      'testdata.OwnerService.Unknown: owner_field "consorciado": no field consorciado in testdata.OwnedRequest',
      'testdata.OwnerService.ThroughScalar: owner_field "consorciado_id.id": consorciado_id is not a message',
      'testdata.OwnerService.EndsOnMessage: owner_field "cota": cota is not a string',
    ]);
  });

  test("types: *_centavos fields are int64, nested messages included", () => {
    const { registry, targets } = buildCase("centavos");
    expect(centavosProblems(registry, targets)).toEqual([
      "testdata.Parcela.multa_centavos: *_centavos must be int64",
      "testdata.Parcela.Ajuste.juros_centavos: *_centavos must be int64",
    ]);
  });
});
