// Output-only fields are ignored on input (AIP-203): a client cannot set what the server sets.
import type { DescField, DescMethod, DescService } from "@bufbuild/protobuf";
import { getOption, hasOption } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import type { Interceptor } from "@connectrpc/connect";
import { FieldBehavior, field_behavior } from "@consorcio/gen/google/api/field_behavior_pb.js";
import { clearMarked, type FieldPlan, planFor } from "./field-plan.ts";

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

/** Clears, in place, what the server ignores in a request of `method`. */
export function clearIgnoredFields(method: DescMethod, message: unknown): void {
  const plan = planOf(method);
  if (plan) clearMarked(reflect(method.input, message as never, false), plan);
}

const plans = new WeakMap<DescMethod, FieldPlan | null>();

function planOf(method: DescMethod): FieldPlan | undefined {
  let plan = plans.get(method);
  if (plan === undefined) {
    const create = isCreate(method);
    plan = planFor(method.input, (field) => ignored(field, create)) ?? null;
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
      clearMarked(reflect(input, req.message as never, false), plan);
      return next(req);
    }
    const source = req.message;
    async function* cleared() {
      for await (const message of source) {
        clearMarked(reflect(input, message as never, false), plan as FieldPlan);
        yield message;
      }
    }
    return next({ ...req, message: cleared() });
  };
}
