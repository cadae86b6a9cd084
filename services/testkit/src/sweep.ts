// The contract's authorization policies, checked against a running service, RPC by RPC: no
// token, a token of every role outside the policy, and one of every role inside it.
import {
  create,
  type DescField,
  type DescMessage,
  type DescMethod,
  type DescService,
} from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { methodPolicy, roleName } from "@consorcio/platform/auth.ts";
import { ALL_ROLES, type RoleTokens } from "./roles.ts";

export interface SweepTarget extends RoleTokens {
  /** The service's base URL. */
  url: string;
}

/** Every RPC of `services`, named `Service.Method` for test titles. */
export function rpcsOf(services: readonly DescService[]): { name: string; method: DescMethod }[] {
  return services.flatMap((service) =>
    service.methods.map((method) => ({ name: `${service.name}.${method.name}`, method })),
  );
}

/** The outcome of one call: "OK" or the gRPC code's name. */
async function outcome(transport: Transport, method: DescMethod, message: unknown, token?: string) {
  const client = createClient(method.parent, transport) as unknown as Record<
    string,
    (request: unknown, options?: CallOptions) => unknown
  >;
  const call = client[method.localName];
  if (!call) throw new Error(`no client method for ${method.name}`);
  const options: CallOptions = {
    timeoutMs: 10_000,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  };
  try {
    if (method.methodKind === "unary" || method.methodKind === "client_streaming") {
      const request = method.methodKind === "unary" ? message : (async function* () {})();
      await call(request, options);
    } else {
      const input = method.methodKind === "bidi_streaming" ? (async function* () {})() : message;
      for await (const _ of call(input, options) as AsyncIterable<unknown>) break;
    }
    return "OK";
  } catch (error) {
    return Code[ConnectError.from(error).code] ?? "Unknown";
  }
}

/**
 * A request whose owner field (a proto path, `consorciado_id` or `consorciado.id`) holds the
 * caller's consorciado id, so an owner gets past the check.
 */
function requestFor(method: DescMethod, ownerField: string, consorciadoId: string) {
  const init: Record<string, unknown> = {};
  let level = init;
  let message: DescMessage | undefined = method.input;
  const names = ownerField.split(".");
  for (const [i, name] of names.entries()) {
    const field: DescField | undefined = message?.fields.find((f) => f.name === name);
    if (!field) break;
    if (i === names.length - 1) {
      level[field.localName] = consorciadoId;
    } else {
      const next: Record<string, unknown> = {};
      level[field.localName] = next;
      level = next;
      message = field.fieldKind === "message" ? field.message : undefined;
    }
  }
  return create(method.input, init);
}

/**
 * Calls `method` as every kind of caller and returns what contradicts its policy (empty: none).
 * The request is the empty message (or the owner's own id): authentication and authorization
 * run before validation, so a caller inside the policy gets past them, to InvalidArgument,
 * NotFound or an answer.
 */
export async function sweepMethod(target: SweepTarget, method: DescMethod): Promise<string[]> {
  const transport = createConnectTransport({ baseUrl: target.url, httpVersion: "2" });
  const policy = methodPolicy(method);
  if (!policy) return [`${method.name} has no consorcio.auth.v1.policy`];
  const problems: string[] = [];
  const empty = create(method.input);
  const anonymous = await outcome(transport, method, empty);
  if (policy.public) {
    if (anonymous === "Unauthenticated" || anonymous === "PermissionDenied")
      problems.push(`public, yet no token gets ${anonymous}`);
  } else if (anonymous !== "Unauthenticated") {
    problems.push(`no token gets ${anonymous}, not Unauthenticated`);
  }
  for (const role of ALL_ROLES) {
    const token = target.tokens.get(role);
    if (!token) throw new Error(`no token for ${roleName(role)}`);
    const owner = !policy.roles.includes(role) && policy.ownerRoles.includes(role);
    const allowed = policy.public || policy.roles.includes(role) || owner;
    const request = owner ? requestFor(method, policy.ownerField, target.consorciadoId) : empty;
    const got = await outcome(transport, method, request, token);
    if (allowed && (got === "Unauthenticated" || got === "PermissionDenied"))
      problems.push(`${roleName(role)} is in the policy, yet gets ${got}`);
    if (!allowed && got !== "PermissionDenied")
      problems.push(`${roleName(role)} is outside the policy, yet gets ${got}`);
  }
  return problems;
}
