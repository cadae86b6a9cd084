import { createHash } from "node:crypto";
import { create, type DescMessage, type DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel, type Timestamp, timestampNow } from "@bufbuild/protobuf/wkt";
import {
  type Code,
  ConnectError,
  type ContextValues,
  createContextKey,
  type Interceptor,
} from "@connectrpc/connect";
import {
  type ChamadaRegistrada,
  ChamadaRegistradaSchema,
} from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { principalKey, requestContextKey } from "./context.ts";
import type { Logger } from "./logging.ts";

/** What the audit interceptor learned of a call before the handler ran. */
interface CallInfo {
  service: string;
  method: string;
  target: string;
  requestId: string;
  /** Set once the call's record was written inside the handler's own transaction. */
  recorded: boolean;
  /** Set once the call got past authentication (with a token, or to a public RPC). */
  admitted: boolean;
}

const callInfoKey = createContextKey<CallInfo | undefined>(undefined, { description: "audited call" });

/** Read-only RPCs are marked NO_SIDE_EFFECTS in the contract; everything else is audited. */
export function isMutating(method: DescMethod): boolean {
  return method.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}

const PLAUSIBLE_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/**
 * A value the caller chose (ids, request ids, addresses), fit for the log whatever it holds: a
 * plausible id is kept as it is; anything else becomes a bounded, printable form that cannot be
 * taken for an id: its first characters (others shown as `?`), `…` and a hash of the whole.
 */
export function loggable(value: string): string {
  if (!value || PLAUSIBLE_ID.test(value)) return value;
  const hash = createHash("sha256").update(value).digest("hex").slice(0, 16);
  return `${value.slice(0, 32).replace(/[^A-Za-z0-9._:@-]/g, "?")}…sha256:${hash}`;
}

/** The resource a request is about: its `id`, another `*_id`, or the `id` of its first message field. */
function targetOf(schema: DescMessage, message: Record<string, unknown>): string {
  const direct =
    schema.fields.find((f) => f.name === "id") ??
    schema.fields.find((f) => f.name.endsWith("_id") && f.name !== "request_id");
  const value = direct ? message[direct.localName] : undefined;
  if (typeof value === "string" && value) return value;
  for (const field of schema.fields) {
    if (field.fieldKind !== "message") continue;
    const nested = message[field.localName] as Record<string, unknown> | undefined;
    if (nested && typeof nested.id === "string" && nested.id) return nested.id;
  }
  return "";
}

export function callRecord(values: ContextValues, result: Code | "OK"): ChamadaRegistrada | undefined {
  const info = values.get(callInfoKey);
  if (!info) return undefined;
  const principal = values.get(principalKey);
  const request = values.get(requestContextKey);
  // Everything the caller could choose is made loggable here, where the record is built.
  return create(ChamadaRegistradaSchema, {
    service: info.service,
    method: info.method,
    actor: loggable(principal?.subject ?? ""),
    actorRoles: [...(principal?.roles ?? [])],
    target: loggable(info.target),
    requestId: loggable(info.requestId),
    correlationId: loggable(request?.correlationId ?? ""),
    // Connect's codes are google.rpc.Code's numbers.
    result: result === "OK" ? RpcCode.OK : (result as number as RpcCode),
    time: timestampNow(),
    clientIp: loggable(request?.clientIp ?? ""),
    count: 1,
  });
}

/** The id of what a handler returned: `id`, or the `id` of its first field holding one (a created resource). */
function resultId(result: unknown): string {
  if (!result || typeof result !== "object") return "";
  const record = result as Record<string, unknown>;
  if (typeof record.id === "string") return record.id;
  for (const value of Object.values(record)) {
    if (value && typeof value === "object" && typeof (value as { id?: unknown }).id === "string") {
      return (value as { id: string }).id;
    }
  }
  return "";
}

/**
 * Called by the unit of work with the handler's result: the record commits with
 * the change. Undefined when there is no call or it was already recorded.
 */
export function takeCallRecord(values: ContextValues, result: unknown): ChamadaRegistrada | undefined {
  const info = values.get(callInfoKey);
  if (!info || info.recorded) return undefined;
  info.recorded = true;
  // A create names its target only in its result.
  if (!info.target) info.target = resultId(result);
  return callRecord(values, "OK");
}

/**
 * Refusals before authentication, summed so that anonymous clients cannot write to the log
 * without bound: per (client address, method, result) and interval, the first is recorded at
 * once and the others in one record with their count when the interval ends (or on close).
 * At most `maxKeys` keys are kept apart; past that, refusals go to one bucket per method.
 */
export interface RefusalAudit {
  add(call: ChamadaRegistrada): Promise<void>;
  /** Writes the pending sums now. */
  flush(): Promise<void>;
  /** Stops the interval and writes what is pending; later refusals are recorded one by one. */
  close(): Promise<void>;
}

interface PendingSum {
  service: string;
  method: string;
  result: RpcCode;
  clientIp: string;
  count: number;
  firstTime?: Timestamp;
}

export function createRefusalAudit(options: {
  intervalMs: number;
  maxKeys?: number;
  record: (call: ChamadaRegistrada) => Promise<void>;
  logger: Logger;
}): RefusalAudit {
  const maxKeys = options.maxKeys ?? 10_000;
  let window = new Map<string, PendingSum>();
  let closed = false;
  const write = (call: ChamadaRegistrada) =>
    options
      .record(call)
      .catch((error) => options.logger.error({ err: error, method: call.method }, "audit record lost"));
  const flush = async () => {
    const done = window;
    window = new Map();
    for (const sum of done.values()) {
      if (sum.count === 0) continue;
      const { firstTime, ...fields } = sum;
      await write(create(ChamadaRegistradaSchema, { ...fields, time: timestampNow(), firstTime }));
    }
  };
  const timer = setInterval(() => void flush(), options.intervalMs);
  timer.unref();
  return {
    async add(call) {
      if (closed) return write(call);
      let key = `${call.clientIp}\n${call.method}\n${call.result}`;
      if (!window.has(key) && window.size >= maxKeys) {
        key = `\n${call.method}\n${call.result}`;
        call.clientIp = "";
      }
      const sum = window.get(key);
      if (sum) {
        sum.count++;
        sum.firstTime ??= call.time;
        return;
      }
      const { service, method, result, clientIp } = call;
      window.set(key, { service, method, result, clientIp, count: 0 });
      await write(call);
    },
    flush,
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
    },
  };
}

/** Placed right after authentication: marks the call as let in, so its refusals are its own. */
export function createAdmittedMarker(): Interceptor {
  return (next) => (req) => {
    const info = req.contextValues.get(callInfoKey);
    if (info) info.admitted = true;
    return next(req);
  };
}

/**
 * Records every call to a mutating RPC, allowed or not. A successful call that
 * wrote through the unit of work was recorded in its own transaction; any other
 * outcome is recorded here, in a transaction of its own, except refusals before
 * authentication, which `refusals` sums.
 */
export function createCallAuditInterceptor(
  service: string,
  record: (call: ChamadaRegistrada) => Promise<void>,
  logger: Logger,
  refusals?: RefusalAudit,
): Interceptor {
  return (next) => async (req) => {
    if (!isMutating(req.method) || req.service.typeName.startsWith("grpc.")) return next(req);
    const message = req.stream ? {} : (req.message as unknown as Record<string, unknown>);
    const requestId = typeof message.requestId === "string" ? message.requestId : "";
    const info: CallInfo = {
      service,
      method: `${req.service.typeName}/${req.method.name}`,
      target: targetOf(req.method.input, message),
      requestId,
      recorded: false,
      admitted: false,
    };
    req.contextValues.set(callInfoKey, info);
    const write = async (result: Code | "OK") => {
      const call = callRecord(req.contextValues, result);
      if (!call) return;
      if (refusals && !info.admitted && result !== "OK") return refusals.add(call);
      // An audit write that fails must not turn a done call into an error: log it loudly.
      await record(call).catch((error) =>
        logger.error({ err: error, method: info.method }, "audit record lost"),
      );
    };
    try {
      const res = await next(req);
      if (!info.recorded) await write("OK");
      return res;
    } catch (error) {
      await write(ConnectError.from(error).code);
      throw error;
    }
  };
}
