// OpenTelemetry traces: one provider per service (the embedded mode hosts several in one process,
// each with its own service.name), the context in AsyncLocalStorage, W3C trace context on the wire.
// Off unless an OTLP endpoint, TRACE_SLOW_MS or a test's processors ask for it: then every hook
// below is a plain call of the wrapped function.
import {
  type Attributes,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type TextMapSetter,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
  TracerProvider,
} from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import { ConfigError } from "./config.ts";
import type { Logger } from "./logging.ts";

export { SpanKind };

/** What a test or bench gives instead of the environment: its own processors (an in-memory exporter). */
export interface TracingOptions {
  spanProcessors: SpanProcessor[];
  /** Default: the one OTEL_TRACES_SAMPLER names, else parentbased_always_on. */
  sampler?: Sampler;
}

export interface Tracing {
  /** False: no SDK, no span, nothing injected; the hooks only call through. */
  readonly enabled: boolean;
  readonly tracer: Tracer;
  /** Runs `fn` in a new span made active (child of `parent`, else of the active context). */
  inSpan<T>(
    name: string,
    options: {
      kind?: SpanKind;
      attributes?: Attributes;
      links?: Link[];
      parent?: Context;
      /** Whether an error thrown marks the span as failed (default: every error). */
      isFault?: (error: unknown) => boolean;
    },
    fn: (span: Span | undefined) => Promise<T>,
  ): Promise<T>;
  /** The context a carrier (HTTP headers, AMQP headers) names, as a remote parent. */
  extract(carrier: Headers | Record<string, string>): Context;
  /** Writes the active (or given) context into the carrier. */
  inject(carrier: Headers | Record<string, string>, from?: Context): void;
  /** `traceparent` of the active span, if one is valid. */
  currentTraceparent(): string | undefined;
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

const propagator = new W3CTraceContextPropagator();

const getter: TextMapGetter<Headers | Record<string, string>> = {
  get: (carrier, key) => (carrier instanceof Headers ? (carrier.get(key) ?? undefined) : carrier[key]),
  keys: (carrier) => (carrier instanceof Headers ? [...carrier.keys()] : Object.keys(carrier)),
};
const setter: TextMapSetter<Headers | Record<string, string>> = {
  set: (carrier, key, value) => {
    if (carrier instanceof Headers) carrier.set(key, value);
    else carrier[key] = value;
  },
};

let contextManagerSet = false;
/** Process-wide and set once: spans made active in one service's code stay active in the next call. */
function ensureContextManager(): void {
  if (contextManagerSet) return;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  contextManagerSet = true;
}

const noopTracer = trace.getTracerProvider().getTracer("@consorcio/platform");

export const disabledTracing: Tracing = {
  enabled: false,
  tracer: noopTracer,
  inSpan: (_name, _options, fn) => fn(undefined),
  extract: () => ROOT_CONTEXT,
  inject: () => undefined,
  currentTraceparent: () => undefined,
  flush: async () => {},
  shutdown: async () => {},
};

/** OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG as the specification names them. */
export function samplerFromEnv(env: Record<string, string | undefined>): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? "parentbased_always_on").trim().toLowerCase();
  const argText = env.OTEL_TRACES_SAMPLER_ARG;
  const ratio = () => {
    if (argText === undefined || argText === "") return 1;
    const value = Number(argText);
    if (!Number.isFinite(value) || value < 0 || value > 1)
      throw new ConfigError(
        `invalid configuration:\n  OTEL_TRACES_SAMPLER_ARG: a ratio in [0, 1], got ${argText}`,
      );
    return value;
  };
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio());
    case "parentbased_always_on":
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      throw new ConfigError(`invalid configuration:\n  OTEL_TRACES_SAMPLER: unknown sampler ${name}`);
  }
}

/** `OTEL_RESOURCE_ATTRIBUTES=k=v,k2=v2` (percent-encoded values). */
function resourceAttributes(env: Record<string, string | undefined>): Attributes {
  const attributes: Attributes = {};
  for (const pair of (env.OTEL_RESOURCE_ATTRIBUTES ?? "").split(",")) {
    const at = pair.indexOf("=");
    if (at <= 0) continue;
    try {
      attributes[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      // A malformed value is left out, as the specification says.
    }
  }
  return attributes;
}

/** The OTLP/HTTP traces URL: the signal's own endpoint as given, or the base one plus /v1/traces. */
export function otlpTracesUrl(env: Record<string, string | undefined>): string | undefined {
  const own = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim();
  if (own) return own;
  const base = env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim();
  if (!base) return undefined;
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

const hrMs = (time: [number, number]) => time[0] * 1e3 + time[1] / 1e6;

/**
 * Logs local root spans slower than `thresholdMs` (TRACE_SLOW_MS, the embedded mode), with the
 * spans of this process under them: which call was slow and where its time went.
 */
export function slowSpanLogger(logger: Logger, thresholdMs: number): SpanProcessor {
  const pending = new Map<string, { at: number; spans: ReadableSpan[] }>();
  const MAX_TRACES = 1_000;
  const MAX_SPANS = 200;
  return {
    onStart() {},
    onEnd(span) {
      const traceId = span.spanContext().traceId;
      const parent = span.parentSpanContext;
      const isLocalRoot = !parent || parent.isRemote;
      let entry = pending.get(traceId);
      if (!isLocalRoot) {
        if (!entry) {
          if (pending.size >= MAX_TRACES) {
            const oldest = pending.keys().next().value;
            if (oldest !== undefined) pending.delete(oldest);
          }
          entry = { at: Date.now(), spans: [] };
          pending.set(traceId, entry);
        }
        if (entry.spans.length < MAX_SPANS) entry.spans.push(span);
        return;
      }
      pending.delete(traceId);
      const ms = hrMs(span.duration);
      if (ms < thresholdMs) return;
      const start = hrMs(span.startTime);
      logger.warn(
        {
          trace_id: traceId,
          span: span.name,
          ms: Math.round(ms * 10) / 10,
          spans: (entry?.spans ?? [])
            .sort((a, b) => hrMs(a.startTime) - hrMs(b.startTime))
            .map((child) => ({
              name: child.name,
              at: Math.round((hrMs(child.startTime) - start) * 10) / 10,
              ms: Math.round(hrMs(child.duration) * 10) / 10,
            })),
        },
        "slow call",
      );
    },
    forceFlush: async () => {},
    shutdown: async () => {
      pending.clear();
    },
  };
}

/**
 * The service's tracing, from the environment: on when OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT or
 * TRACE_SLOW_MS is set, or `given` processors (tests); OTEL_SDK_DISABLED=true turns it off.
 */
export function createTracing(options: {
  service: string;
  env: Record<string, string | undefined>;
  logger: Logger;
  given?: TracingOptions | undefined;
}): Tracing {
  const { env } = options;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return disabledTracing;
  const processors: SpanProcessor[] = [...(options.given?.spanProcessors ?? [])];
  const url = otlpTracesUrl(env);
  const exporterName = (env.OTEL_TRACES_EXPORTER ?? "otlp").trim().toLowerCase();
  if (url && exporterName !== "none")
    processors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }) }));
  const slowText = env.TRACE_SLOW_MS?.trim();
  if (slowText) {
    const slowMs = Number(slowText);
    if (!Number.isFinite(slowMs) || slowMs < 0)
      throw new ConfigError(
        `invalid configuration for ${options.service}:\n  TRACE_SLOW_MS: milliseconds, got ${slowText}`,
      );
    processors.push(slowSpanLogger(options.logger, slowMs));
  }
  if (processors.length === 0) return disabledTracing;
  ensureContextManager();
  const provider = new TracerProvider({
    sampler: options.given?.sampler ?? samplerFromEnv(env),
    resource: resourceFromAttributes({
      ...resourceAttributes(env),
      [ATTR_SERVICE_NAME]: env.OTEL_SERVICE_NAME?.trim() || options.service,
      "service.namespace": "consorcio",
    }),
    spanProcessors: processors,
  });
  const tracer = provider.getTracer("@consorcio/platform");
  return {
    enabled: true,
    tracer,
    inSpan(name, spanOptions, fn) {
      const parent = spanOptions.parent ?? context.active();
      const span = tracer.startSpan(
        name,
        {
          ...(spanOptions.kind !== undefined ? { kind: spanOptions.kind } : {}),
          ...(spanOptions.attributes ? { attributes: spanOptions.attributes } : {}),
          ...(spanOptions.links ? { links: spanOptions.links } : {}),
        },
        parent,
      );
      return context.with(trace.setSpan(parent, span), async () => {
        try {
          return await fn(span);
        } catch (error) {
          if (spanOptions.isFault?.(error) ?? true) {
            span.recordException(error as Error);
            span.setStatus({
              code: SpanStatusCode.ERROR,
              message: String((error as Error)?.message ?? error),
            });
          }
          throw error;
        } finally {
          span.end();
        }
      });
    },
    extract: (carrier) => propagator.extract(ROOT_CONTEXT, carrier, getter),
    inject: (carrier, from) => propagator.inject(from ?? context.active(), carrier, setter),
    currentTraceparent() {
      const carrier: Record<string, string> = {};
      const span = trace.getSpan(context.active());
      if (!span || !isSpanContextValid(span.spanContext())) return undefined;
      propagator.inject(context.active(), carrier, setter);
      return carrier.traceparent;
    },
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
}

/** The span context a stored `traceparent` names, as a link (the outbox batch links its producers). */
export function linkOf(traceparent: string | undefined): Link | undefined {
  if (!traceparent) return undefined;
  const span = trace.getSpan(propagator.extract(ROOT_CONTEXT, { traceparent }, getter));
  const spanContext = span?.spanContext();
  return spanContext && isSpanContextValid(spanContext) ? { context: spanContext } : undefined;
}

/** trace_id and span_id of the active span, for log lines (pino's mixin). */
export function traceFields(): { trace_id?: string; span_id?: string } {
  const span = trace.getActiveSpan();
  if (!span) return {};
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

/**
 * `traceparent` of the active span (undefined when tracing is off): for outbox rows written
 * without enqueueEvent (a bulk COPY), so their consumers continue the writer's trace.
 */
export function activeTraceparent(): string | undefined {
  const active = context.active();
  const span = trace.getSpan(active);
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  propagator.inject(active, carrier, setter);
  return carrier.traceparent;
}
