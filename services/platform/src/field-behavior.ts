// Output-only fields are ignored on input (AIP-203): a client cannot set what the server sets.
import type { DescField, DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { FieldBehavior, field_behavior } from "@consorcio/gen/google/api/field_behavior_pb.js";

/**
 * What to clear in one message type: its own fields, and the message fields (singular, lists,
 * map values) whose type has something to clear.
 */
interface Plan {
  clear: DescField[];
  nested: { field: DescField; plan: Plan }[];
}

function behaviors(field: DescField): readonly FieldBehavior[] {
  return hasOption(field, field_behavior) ? getOption(field, field_behavior) : [];
}

/**
 * Whether the server ignores a field of a request:
 * - OUTPUT_ONLY: always (status, create_time, update_time…);
 * - IDENTIFIER: in Create requests only, where the server assigns it; an Update (or any other
 *   method) names its resource with it.
 *
 * The resources' `version` is IDENTIFIER, not OUTPUT_ONLY: like the id, the server assigns it
 * on create, and an Update must send the version it read (optimistic locking: a stale one is
 * Aborted, a missing one InvalidArgument). OUTPUT_ONLY would clear it before the handler ran,
 * so the contract rule (scripts/field-rules.ts) refuses OUTPUT_ONLY on version and etag.
 */
function ignored(field: DescField, create: boolean): boolean {
  const marks = behaviors(field);
  return marks.includes(FieldBehavior.OUTPUT_ONLY) || (create && marks.includes(FieldBehavior.IDENTIFIER));
}

/** AIP-133: standard Create methods are named Create<Resource>. */
function isCreate(method: DescMethod): boolean {
  return /^Create[A-Z]/.test(method.name);
}

function childMessage(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** Well-known types carry no field behaviour (and Struct/Value are recursive). */
const skipped = (desc: DescMessage) => desc.typeName.startsWith("google.protobuf.");

/**
 * The plan of `root`, or undefined when nothing reachable from it is ever ignored. Reachability
 * is solved on the type graph (cycles included): a type needs a plan when it has an ignored field
 * or a field of a type that needs one.
 */
function planFor(root: DescMessage, create: boolean): Plan | undefined {
  const types = new Map<string, DescMessage>();
  const users = new Map<string, Set<string>>(); // type → types holding a field of it
  const stack = [root];
  types.set(root.typeName, root);
  for (let desc = stack.pop(); desc; desc = stack.pop()) {
    for (const field of desc.fields) {
      const child = childMessage(field);
      if (!child || skipped(child)) continue;
      const holders = users.get(child.typeName) ?? new Set<string>();
      holders.add(desc.typeName);
      users.set(child.typeName, holders);
      if (!types.has(child.typeName)) {
        types.set(child.typeName, child);
        stack.push(child);
      }
    }
  }
  const needed = new Set<string>();
  const pending = [...types.values()]
    .filter((desc) => desc.fields.some((field) => ignored(field, create)))
    .map((desc) => desc.typeName);
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (needed.has(name)) continue;
    needed.add(name);
    for (const holder of users.get(name) ?? []) pending.push(holder);
  }
  if (!needed.has(root.typeName)) return undefined;
  const plans = new Map<string, Plan>();
  for (const name of needed) plans.set(name, { clear: [], nested: [] });
  for (const name of needed) {
    const desc = types.get(name) as DescMessage;
    const plan = plans.get(name) as Plan;
    for (const field of desc.fields) {
      if (ignored(field, create)) {
        plan.clear.push(field);
        continue;
      }
      const child = childMessage(field);
      const childPlan = child && plans.get(child.typeName);
      if (childPlan) plan.nested.push({ field, plan: childPlan });
    }
  }
  return plans.get(root.typeName);
}

function apply(message: ReflectMessage, plan: Plan): void {
  for (const field of plan.clear) if (message.isSet(field)) message.clear(field);
  for (const { field, plan: child } of plan.nested) {
    if (!message.isSet(field)) continue;
    switch (field.fieldKind) {
      case "message":
        apply(message.get(field), child);
        break;
      case "list":
        for (const item of message.get(field)) apply(item as ReflectMessage, child);
        break;
      case "map":
        for (const [, value] of message.get(field)) apply(value as ReflectMessage, child);
        break;
    }
  }
}

/** Clears, in place, what the server ignores in a request of `method`. */
export function clearIgnoredFields(method: DescMethod, message: unknown): void {
  const plan = planOf(method);
  if (plan) apply(reflect(method.input, message as never, false), plan);
}

const plans = new WeakMap<DescMethod, Plan | null>();

function planOf(method: DescMethod): Plan | undefined {
  let plan = plans.get(method);
  if (plan === undefined) {
    plan = planFor(method.input, isCreate(method)) ?? null;
    plans.set(method, plan);
  }
  return plan ?? undefined;
}

/**
 * Clears the request's ignored fields (see `ignored`) before anything else reads it, so the
 * call audit, the owner check and the handler all see the request the server acts on. Plans
 * are computed per method once (at start-up for `services`); a method whose request holds no
 * such field costs a map lookup.
 */
export function createFieldBehaviorInterceptor(services: readonly DescService[] = []): Interceptor {
  for (const service of services) for (const method of service.methods) planOf(method);
  return (next) => async (req) => {
    const plan = planOf(req.method);
    if (!plan) return next(req);
    const input = req.method.input;
    if (!req.stream) {
      apply(reflect(input, req.message as never, false), plan);
      return next(req);
    }
    const source = req.message;
    async function* cleared() {
      for await (const message of source) {
        apply(reflect(input, message as never, false), plan as Plan);
        yield message;
      }
    }
    return next({ ...req, message: cleared() });
  };
}
