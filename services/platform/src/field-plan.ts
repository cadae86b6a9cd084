// Which fields of a message type (at any depth) a rule marks, computed once from the descriptors,
// so a per-call walk visits only the branches that can hold such a field.
import type { DescField, DescMessage } from "@bufbuild/protobuf";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";

/**
 * The marked fields of one message type, and the message fields (singular, lists, map values)
 * whose type holds marked fields.
 */
export interface FieldPlan {
  marked: DescField[];
  nested: { field: DescField; plan: FieldPlan }[];
}

function childMessage(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** Well-known types carry no annotations of ours (and Struct/Value are recursive). */
const skipped = (desc: DescMessage) => desc.typeName.startsWith("google.protobuf.");

/**
 * The plan of `root`, or undefined when no field reachable from it is marked. Solved on the type
 * graph, cycles included: a type needs a plan when it has a marked field or a field of a type
 * that needs one.
 */
export function planFor(root: DescMessage, marks: (field: DescField) => boolean): FieldPlan | undefined {
  const types = new Map<string, DescMessage>([[root.typeName, root]]);
  const holders = new Map<string, Set<string>>(); // type → the types with a field of it
  const stack = [root];
  for (let desc = stack.pop(); desc; desc = stack.pop()) {
    for (const field of desc.fields) {
      const child = childMessage(field);
      if (!child || skipped(child)) continue;
      const of = holders.get(child.typeName) ?? new Set<string>();
      of.add(desc.typeName);
      holders.set(child.typeName, of);
      if (!types.has(child.typeName)) {
        types.set(child.typeName, child);
        stack.push(child);
      }
    }
  }
  const needed = new Set<string>();
  const pending = [...types.values()].filter((desc) => desc.fields.some(marks)).map((d) => d.typeName);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    pending.push(...(holders.get(name) ?? []));
  }
  if (!needed.has(root.typeName)) return undefined;
  const plans = new Map<string, FieldPlan>();
  for (const name of needed) plans.set(name, { marked: [], nested: [] });
  for (const name of needed) {
    const plan = plans.get(name) as FieldPlan;
    for (const field of (types.get(name) as DescMessage).fields) {
      if (marks(field)) {
        plan.marked.push(field);
        continue;
      }
      const child = childMessage(field);
      const childPlan = child && plans.get(child.typeName);
      if (childPlan) plan.nested.push({ field, plan: childPlan });
    }
  }
  return plans.get(root.typeName);
}

/** Clears, in place, every marked field that is set. */
export function clearMarked(message: ReflectMessage, plan: FieldPlan): void {
  for (const field of plan.marked) if (message.isSet(field)) message.clear(field);
  for (const { field, plan: child } of plan.nested) {
    if (!message.isSet(field)) continue;
    switch (field.fieldKind) {
      case "message":
        clearMarked(message.get(field), child);
        break;
      case "list":
        for (const item of message.get(field)) clearMarked(item as ReflectMessage, child);
        break;
      case "map":
        for (const [, value] of message.get(field)) clearMarked(value as ReflectMessage, child);
        break;
    }
  }
}
