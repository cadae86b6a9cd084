// Field rules every shipped contract follows (README "Adding a service", step 1), read from the
// descriptors only; each problem names the field and says exactly what to add.
// 1. Resources mark what the server sets (AIP-203): `id` IDENTIFIER, `version`/`etag` IDENTIFIER
//    (an Update sends the version it read, so never OUTPUT_ONLY, which the platform clears on
//    input), `create_time`/`update_time`/`delete_time` and `status`/`state` OUTPUT_ONLY.
// 2. A field whose name says personal data or a secret carries `debug_redact = true` (logs,
//    request fingerprints and stored replays leave it out), or `debug_redact = false` when it
//    holds neither despite its name (`token_type`, `ocultar_nome`).
import {
  type DescField,
  type DescMessage,
  type FileRegistry,
  getOption,
  hasOption,
  isFieldSet,
} from "@bufbuild/protobuf";
import { FieldOptionsSchema } from "@bufbuild/protobuf/wkt";
import { FieldBehavior, field_behavior } from "@consorcio/gen/google/api/field_behavior_pb.js";
import { servicesOf } from "./openapi.ts";

/** Standard methods whose messages carry the resource (AIP-131/132/133/134). */
const RESOURCE_METHOD = /^(Get|List|Create|Update)[A-Z]/;

function behaviors(registry: FileRegistry, field: DescField): readonly FieldBehavior[] {
  // The registry's own extension when it has one: the descriptors may come from a buf build.
  const ext = registry.getExtension(field_behavior.typeName) ?? field_behavior;
  return hasOption(field, ext as typeof field_behavior) ? getOption(field, ext as typeof field_behavior) : [];
}

const ours = (desc: DescMessage, targets: ReadonlySet<string>) => targets.has(desc.file.proto.name);

/**
 * The resources of the module: the message types that its Get/List/Create/Update RPCs answer
 * (a field of the response, or its list) and that its Create/Update requests carry.
 */
export function resourceMessages(registry: FileRegistry, targets: string[]): DescMessage[] {
  const files = new Set(targets);
  const found = new Map<string, DescMessage>();
  for (const service of servicesOf(registry, targets)) {
    for (const method of service.methods.filter((m) => RESOURCE_METHOD.test(m.name))) {
      const carriers = /^(Create|Update)/.test(method.name) ? [method.output, method.input] : [method.output];
      for (const carrier of carriers) {
        for (const field of carrier.fields) {
          const type = field.message;
          if (type && (field.fieldKind === "message" || field.fieldKind === "list") && ours(type, files))
            found.set(type.typeName, type);
        }
      }
    }
  }
  return [...found.values()].sort((a, b) => a.typeName.localeCompare(b.typeName));
}

const WANTED: Readonly<Record<string, { behavior: FieldBehavior; why: string }>> = {
  id: {
    behavior: FieldBehavior.IDENTIFIER,
    why: "the server assigns it on create, an update names the resource by it",
  },
  version: {
    behavior: FieldBehavior.IDENTIFIER,
    why: "the server sets it, an update sends the one it read (OUTPUT_ONLY would be cleared on input)",
  },
  etag: {
    behavior: FieldBehavior.IDENTIFIER,
    why: "the server sets it, an update sends the one it read (OUTPUT_ONLY would be cleared on input)",
  },
  create_time: { behavior: FieldBehavior.OUTPUT_ONLY, why: "the server sets it" },
  update_time: { behavior: FieldBehavior.OUTPUT_ONLY, why: "the server sets it" },
  delete_time: { behavior: FieldBehavior.OUTPUT_ONLY, why: "the server sets it" },
  status: { behavior: FieldBehavior.OUTPUT_ONLY, why: "it changes by the resource's state-change RPCs only" },
  state: { behavior: FieldBehavior.OUTPUT_ONLY, why: "it changes by the resource's state-change RPCs only" },
};

/** Rule 1: the server-set fields of every resource carry their field_behavior. */
export function resourceBehaviorProblems(registry: FileRegistry, targets: string[]): string[] {
  const problems: string[] = [];
  for (const resource of resourceMessages(registry, targets)) {
    for (const field of resource.fields) {
      const wanted = WANTED[field.name];
      if (!wanted) continue;
      const marks = behaviors(registry, field);
      const name = FieldBehavior[wanted.behavior];
      if (wanted.behavior === FieldBehavior.IDENTIFIER && marks.includes(FieldBehavior.OUTPUT_ONLY)) {
        problems.push(
          `${resource.typeName}.${field.name}: replace OUTPUT_ONLY by [(google.api.field_behavior) = IDENTIFIER] (${wanted.why})`,
        );
      } else if (!marks.includes(wanted.behavior)) {
        problems.push(
          `${resource.typeName}.${field.name}: add [(google.api.field_behavior) = ${name}] (${wanted.why})`,
        );
      }
    }
  }
  return problems;
}

/** Words of a field name (split at `_`) that say personal data or a secret. */
export const SENSITIVE_WORDS: ReadonlySet<string> = new Set([
  "cpf",
  "cnpj",
  "documento",
  "rg",
  "password",
  "senha",
  "secret",
  "token",
  "totp",
  "otp",
  "nome",
  "name",
  "email",
  "telefone",
  "telefones",
  "phone",
  "endereco",
  "address",
  "cep",
  "logradouro",
  "razao",
  "nascimento",
]);

/** Names of more than one word that say personal data ("pix" alone also names a charge's ids). */
const SENSITIVE_PHRASES = ["chave_pix", "conta_bancaria"];

/** Paging tokens are opaque cursors the paging rule demands: no secret. */
const NOT_SENSITIVE = new Set(["page_token", "next_page_token"]);

/** Rule 2: every field whose name says personal data or a secret says explicitly whether it is. */
export function redactProblems(registry: FileRegistry, targets: string[]): string[] {
  const problems: string[] = [];
  const visit = (message: DescMessage) => {
    for (const field of message.fields) {
      if (NOT_SENSITIVE.has(field.name)) continue;
      const words = [
        ...field.name.split("_").filter((word) => SENSITIVE_WORDS.has(word)),
        ...SENSITIVE_PHRASES.filter((phrase) => `_${field.name}_`.includes(`_${phrase}_`)),
      ];
      if (words.length === 0) continue;
      const options = field.proto.options;
      if (options && isFieldSet(options, FieldOptionsSchema.field.debugRedact)) continue;
      problems.push(
        `${message.typeName}.${field.name}: the name says personal data or a secret (${words.join(", ")}): ` +
          "add [debug_redact = true], or [debug_redact = false] if it holds neither",
      );
    }
    message.nestedMessages.forEach(visit);
  };
  for (const name of targets) registry.getFile(name)?.messages.forEach(visit);
  return problems;
}

/** Every rule above, over the module's own files. */
export function fieldProblems(registry: FileRegistry, targets: string[]): string[] {
  return [...resourceBehaviorProblems(registry, targets), ...redactProblems(registry, targets)];
}
