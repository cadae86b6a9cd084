// Sensitive fields are the ones the contracts mark `debug_redact = true` (personal data, secrets,
// tokens): that one mark decides what logs redact, what request fingerprints leave out and what
// a stored replay may not keep. No guessing from names here: check:contracts demands the mark on
// every field whose name says personal data or a secret (scripts/field-rules.ts).
import {
  clone,
  type DescField,
  type DescMessage,
  type DescService,
  type MessageShape,
} from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { clearMarked, type FieldPlan, planFor } from "./field-plan.ts";

function isSensitive(field: DescField): boolean {
  return field.proto.options?.debugRedact === true;
}

const plans = new WeakMap<DescMessage, FieldPlan | null>();

function planOf(schema: DescMessage): FieldPlan | undefined {
  let plan = plans.get(schema);
  if (plan === undefined) {
    plan = planFor(schema, isSensitive) ?? null;
    plans.set(schema, plan);
  }
  return plan ?? undefined;
}

/** A copy of `message` with every sensitive field (at any depth) cleared; the message itself if it has none. */
export function withoutSensitive<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
): MessageShape<Desc> {
  const plan = planOf(schema);
  if (!plan) return message;
  const copy = clone(schema, message);
  clearMarked(reflect(schema, copy, false), plan);
  return copy;
}

/**
 * The names under which the sensitive fields of these services' messages (requests, responses,
 * and every message of their package's files, events included) may show up in a logged object:
 * the JavaScript property, the JSON name and the proto name of each.
 */
export function sensitiveKeys(services: readonly DescService[]): string[] {
  const keys = new Set<string>();
  const seen = new Set<string>();
  const visit = (desc: DescMessage) => {
    if (seen.has(desc.typeName)) return;
    seen.add(desc.typeName);
    for (const field of desc.fields) {
      if (isSensitive(field)) for (const key of [field.localName, field.jsonName, field.name]) keys.add(key);
      if (field.message) visit(field.message);
    }
  };
  for (const service of services) {
    for (const method of service.methods) {
      visit(method.input);
      visit(method.output);
    }
    const files = [service.file, ...service.file.dependencies];
    for (const file of files.filter((f) => f.proto.package === service.file.proto.package))
      file.messages.forEach(visit);
  }
  return [...keys].sort();
}
