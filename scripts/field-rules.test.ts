import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { afterAll, describe, expect, test } from "vitest";
import { buf, buildModule, ROOT, SHIPPED_MODULE } from "./buf.ts";
import { redactProblems, resourceBehaviorProblems, resourceMessages } from "./field-rules.ts";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Builds scripts/testdata/contracts/<name> with google/api/field_behavior.proto beside it. */
function buildCase(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `field-${name}-`));
  dirs.push(dir);
  writeFileSync(join(dir, "buf.yaml"), "version: v2\n");
  cpSync(join(ROOT, "scripts/testdata/contracts", name), dir, { recursive: true });
  mkdirSync(join(dir, "google/api"), { recursive: true });
  cpSync(
    join(ROOT, "third_party/proto/google/api/field_behavior.proto"),
    join(dir, "google/api/field_behavior.proto"),
  );
  const set = fromBinary(
    FileDescriptorSetSchema,
    buf(["build", "--as-file-descriptor-set", "--exclude-source-info", "-o", "-#format=binpb"], {
      cwd: dir,
    }),
  );
  const targets = set.file.map((f) => f.name).filter((f) => f.startsWith("testdata/"));
  return { registry: createFileRegistry(set), targets };
}

describe("field rules", () => {
  // The contracts other engineers are writing right now are theirs to fix: only these are held here.
  const OWN = /^consorcio\.(identidade|consorciados|auditoria|platform|auth)\./;

  test("the shipped contracts of identidade, consorciados, auditoria and the platform pass both rules", () => {
    const { set, targets } = buildModule(SHIPPED_MODULE, { sourceInfo: false });
    const registry = createFileRegistry(set);
    const problems = [...resourceBehaviorProblems(registry, targets), ...redactProblems(registry, targets)];
    expect(problems.filter((p) => OWN.test(p))).toEqual([]);
    expect(resourceMessages(registry, targets).map((m) => m.typeName)).toEqual(
      expect.arrayContaining([
        "consorcio.auditoria.v1.AuditRecord",
        "consorcio.consorciados.v1.Consentimento",
        "consorcio.consorciados.v1.Consorciado",
        "consorcio.identidade.v1.Usuario",
      ]),
    );
  });

  test("resources: the messages Get/List/Create/Update answer or carry, and no other", () => {
    const { registry, targets } = buildCase("field-behavior");
    expect(resourceMessages(registry, targets).map((m) => m.typeName)).toEqual([
      "testdata.Bad",
      "testdata.Good",
      "testdata.Listed",
    ]);
  });

  test("field behaviour: server-set fields of resources say so, each failure saying what to add", () => {
    const { registry, targets } = buildCase("field-behavior");
    expect(resourceBehaviorProblems(registry, targets)).toEqual([
      "testdata.Bad.id: add [(google.api.field_behavior) = IDENTIFIER] (the server assigns it on create, an update names the resource by it)",
      "testdata.Bad.version: replace OUTPUT_ONLY by [(google.api.field_behavior) = IDENTIFIER] (the server sets it, an update sends the one it read (OUTPUT_ONLY would be cleared on input))",
      "testdata.Bad.create_time: add [(google.api.field_behavior) = OUTPUT_ONLY] (the server sets it)",
      "testdata.Bad.update_time: add [(google.api.field_behavior) = OUTPUT_ONLY] (the server sets it)",
      "testdata.Bad.state: add [(google.api.field_behavior) = OUTPUT_ONLY] (it changes by the resource's state-change RPCs only)",
      "testdata.Listed.etag: add [(google.api.field_behavior) = IDENTIFIER] (the server sets it, an update sends the one it read (OUTPUT_ONLY would be cleared on input))",
    ]);
  });

  test("sensitive names: a field named for personal data or a secret says debug_redact, true or false", () => {
    const { registry, targets } = buildCase("redact");
    const tail = ": add [debug_redact = true], or [debug_redact = false] if it holds neither";
    expect(redactProblems(registry, targets)).toEqual([
      `testdata.Pessoa.nome_completo: the name says personal data or a secret (nome)${tail}`,
      `testdata.Pessoa.client_secret: the name says personal data or a secret (secret)${tail}`,
      `testdata.Pessoa.chave_pix: the name says personal data or a secret (chave_pix)${tail}`,
      `testdata.Pessoa.Contato.telefones: the name says personal data or a secret (telefones)${tail}`,
    ]);
  });
});
