import { isIP } from "node:net";
import { create, type DescService } from "@bufbuild/protobuf";
import {
  FieldPathElementSchema,
  FieldPathSchema,
  ViolationSchema,
  ViolationsSchema,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { createValidateInterceptor } from "@connectrpc/validate";
import type { ChamadaRegistrada } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { DeadlockException, OptimisticLockError, UniqueConstraintViolationException } from "@mikro-orm/core";
import { uuidv7 } from "uuidv7";
import { createAdmittedMarker, createCallAuditInterceptor, type RefusalAudit } from "./audit.ts";
import {
  createAuthenticationInterceptor,
  createAuthorizationInterceptor,
  type TokenVerifier,
} from "./auth.ts";
import { peerAddressKey, principalKey, requestContextKey } from "./context.ts";
import { DomainError, InvalidArgumentError, isUnavailableError } from "./errors.ts";
import { createFieldBehaviorInterceptor } from "./field-behavior.ts";
import { createInputInterceptor } from "./input.ts";
import type { Logger } from "./logging.ts";
import type { PlatformMetrics } from "./metrics.ts";
import { createAnonymousRateLimitInterceptor, createRateLimiter } from "./rate-limit.ts";
import { SpanKind, type Tracing } from "./tracing.ts";

const ID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}

/**
 * The client's address as the edge saw it. Headers are believed only from a local proxy (the
 * Envoy or Istio sidecar): its x-envoy-external-address, else the x-forwarded-for entry
 * `trustedHops` from the right (the one the outermost trusted proxy appended; entries to its
 * left are whatever the client sent). Anyone else is known by their socket.
 */
export function clientAddress(
  header: Headers,
  peer: string | undefined,
  trustedHops: number,
): string | undefined {
  if (!peer || !isLoopback(peer) || trustedHops === 0) return peer;
  const external = header.get("x-envoy-external-address")?.trim();
  if (external && isIP(external)) return external;
  const entries = (header.get("x-forwarded-for") ?? "").split(",").map((entry) => entry.trim());
  const appended = entries.length >= trustedHops ? entries[entries.length - trustedHops] : undefined;
  return appended && isIP(appended) ? appended : peer;
}

/** Request id, correlation id and trace context: taken from headers when sane, made otherwise. */
export function createRequestContextInterceptor(options: { trustedProxyHops?: number } = {}): Interceptor {
  const trustedHops = options.trustedProxyHops ?? 1;
  return (next) => async (req) => {
    const incoming = req.header.get("x-request-id");
    const requestId = incoming && ID_PATTERN.test(incoming) ? incoming : uuidv7();
    const correlation = req.header.get("x-correlation-id");
    const traceparent = req.header.get("traceparent") ?? undefined;
    const clientIp = clientAddress(req.header, req.contextValues.get(peerAddressKey), trustedHops);
    req.contextValues.set(requestContextKey, {
      requestId,
      correlationId: correlation && ID_PATTERN.test(correlation) ? correlation : requestId,
      ...(traceparent ? { traceparent } : {}),
      ...(clientIp ? { clientIp } : {}),
    });
    const res = await next(req);
    res.header.set("x-request-id", requestId);
    return res;
  };
}

/** gRPC's codes that are the server's fault: they mark the server span as an error (OTel semantic conventions). */
const SERVER_FAULTS = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** The status code's name as Prometheus labels it (`ok`, `not_found`, …, like Connect's codes). */
export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  return (Code[code] ?? "unknown").replace(/[A-Z]/g, (c, at: number) => (at ? "_" : "") + c.toLowerCase());
}

/**
 * Outermost: the RPC's server span (child of the caller's `traceparent`, active through the whole
 * chain and the handler) and its count and latency by method and code.
 */
export function createTelemetryInterceptor(options: {
  tracing?: Tracing;
  metrics?: PlatformMetrics;
}): Interceptor {
  const { tracing, metrics } = options;
  return (next) => async (req) => {
    const started = performance.now();
    const labels = { rpc_service: req.service.typeName, rpc_method: req.method.name };
    let code: Code | undefined;
    try {
      if (!tracing?.enabled) return await next(req);
      const grpc = (req.header.get("content-type") ?? "").startsWith("application/grpc");
      return await tracing.inSpan(
        `${req.service.typeName}/${req.method.name}`,
        {
          kind: SpanKind.SERVER,
          parent: tracing.extract(req.header),
          // A client's mistake is no error of this server: only its own faults mark the span.
          isFault: (error) => SERVER_FAULTS.has(ConnectError.from(error).code),
          attributes: {
            "rpc.system": grpc ? "grpc" : "connect_rpc",
            "rpc.service": req.service.typeName,
            "rpc.method": req.method.name,
          },
        },
        async (span) => {
          try {
            const res = await next(req);
            span?.setAttribute("rpc.grpc.status_code", 0);
            return res;
          } catch (error) {
            const failed = ConnectError.from(error).code;
            span?.setAttribute("rpc.grpc.status_code", failed);
            span?.setAttribute("rpc.connect_rpc.error_code", codeLabel(failed));
            throw error;
          }
        },
      );
    } catch (error) {
      code = ConnectError.from(error).code;
      throw error;
    } finally {
      if (metrics) {
        const at = { ...labels, code: codeLabel(code) };
        metrics.rpcServerHandled.inc(at);
        metrics.rpcServerSeconds.observe(at, (performance.now() - started) / 1000);
      }
    }
  };
}

/** One log line per call: method, caller, outcome and duration. Messages are never logged. */
export function createLoggingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const started = performance.now();
    const context = req.contextValues.get(requestContextKey);
    const fields = () => ({
      method: `${req.service.typeName}/${req.method.name}`,
      requestId: context?.requestId,
      correlationId: context?.correlationId,
      subject: req.contextValues.get(principalKey)?.subject,
      ms: Math.round((performance.now() - started) * 10) / 10,
    });
    try {
      const res = await next(req);
      if (logger.isLevelEnabled("debug")) logger.debug({ ...fields(), code: "ok" }, "rpc");
      return res;
    } catch (error) {
      const connectError = ConnectError.from(error);
      const level =
        connectError.code === Code.Internal || connectError.code === Code.Unknown ? "error" : "info";
      logger[level]({ ...fields(), code: Code[connectError.code] }, "rpc failed");
      throw error;
    }
  };
}

/** Domain and database errors become statuses; anything unexpected becomes a bare Internal. */
export function createErrorMappingInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (error) {
      throw toConnectError(error, () => {
        const context = req.contextValues.get(requestContextKey);
        logger.error(
          { err: error, requestId: context?.requestId, method: req.method.name },
          "unexpected error",
        );
        return context?.requestId;
      });
    }
  };
}

export function toConnectError(
  error: unknown,
  onUnexpected: () => string | undefined = () => undefined,
): ConnectError {
  if (error instanceof ConnectError) return error;
  if (error instanceof InvalidArgumentError) {
    const violations = create(ViolationsSchema, {
      violations: error.violations.map((v) =>
        create(ViolationSchema, {
          field: create(FieldPathSchema, {
            elements: v.field.split(".").map((fieldName) => create(FieldPathElementSchema, { fieldName })),
          }),
          ruleId: v.ruleId ?? "",
          message: v.message,
        }),
      ),
    });
    return new ConnectError(error.message, error.code, undefined, [
      { desc: ViolationsSchema, value: violations },
    ]);
  }
  if (error instanceof DomainError) return new ConnectError(error.message, error.code);
  if (error instanceof UniqueConstraintViolationException)
    return new ConnectError("resource already exists", Code.AlreadyExists);
  if (error instanceof OptimisticLockError)
    return new ConnectError("concurrent modification, retry", Code.Aborted);
  if (error instanceof DeadlockException)
    return new ConnectError("transaction conflict, retry", Code.Aborted);
  // A lost connection is the dependency's failure, not the request's: the caller may retry.
  if (isUnavailableError(error))
    return new ConnectError("a dependency is unavailable, retry", Code.Unavailable);
  const requestId = onUnexpected();
  return new ConnectError(`internal error${requestId ? ` (request ${requestId})` : ""}`, Code.Internal);
}

/**
 * The platform's chain, outermost first (DESIGN.md §5), with the audit of mutating calls after logging.
 * Output-only fields are cleared before the audit reads the request (field-behavior.ts).
 */
export function platformInterceptors(options: {
  logger: Logger;
  verifyToken: TokenVerifier;
  service: string;
  recordCall: (call: ChamadaRegistrada) => Promise<void>;
  /** Sums refusals before authentication (its owner flushes it on shutdown); without it each is recorded. */
  refusals?: RefusalAudit;
  /** ANONYMOUS_CALLS_PER_MINUTE; without it unauthenticated calls are not limited. */
  anonymousCallsPerMinute?: number;
  /** Proxies in front of the service that append to x-forwarded-for (TRUSTED_PROXY_HOPS). */
  trustedProxyHops?: number;
  /** The services served: their requests' field behaviours are read once, at start-up. */
  services?: readonly DescService[];
  /** Spans of every RPC (off when not enabled). */
  tracing?: Tracing;
  /** RPC counts and latencies by method and code. */
  metrics?: PlatformMetrics;
}): Interceptor[] {
  return [
    ...(options.tracing?.enabled || options.metrics
      ? [
          createTelemetryInterceptor({
            ...(options.tracing ? { tracing: options.tracing } : {}),
            ...(options.metrics ? { metrics: options.metrics } : {}),
          }),
        ]
      : []),
    createRequestContextInterceptor({ trustedProxyHops: options.trustedProxyHops ?? 1 }),
    createLoggingInterceptor(options.logger),
    createFieldBehaviorInterceptor(options.services),
    createCallAuditInterceptor(options.service, options.recordCall, options.logger, options.refusals),
    ...(options.anonymousCallsPerMinute
      ? [
          createAnonymousRateLimitInterceptor(
            createRateLimiter({ perMinute: options.anonymousCallsPerMinute }),
          ),
        ]
      : []),
    createAuthenticationInterceptor(options.verifyToken),
    createAdmittedMarker(),
    createAuthorizationInterceptor(),
    createInputInterceptor(),
    createValidateInterceptor(),
    createErrorMappingInterceptor(options.logger),
  ];
}
