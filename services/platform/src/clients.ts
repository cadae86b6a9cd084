// Typed clients of other services: Connect binary over HTTP/2 (DESIGN §10), a service token,
// a deadline, the request's ids carried on, and retries only where a retry cannot double an effect.
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import {
  type CallOptions,
  type Client,
  Code,
  ConnectError,
  createClient,
  type HandlerContext,
  type Interceptor,
  type Transport,
} from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { SERVICE_PORTS, type ServiceName } from "./catalog.ts";
import { requestContextKey } from "./context.ts";
import { codeLabel } from "./interceptors.ts";
import type { Logger } from "./logging.ts";
import type { PlatformMetrics } from "./metrics.ts";
import { SpanKind, type Tracing } from "./tracing.ts";

export interface ServiceClientsOptions {
  /** This service's name (the peer sees it in `x-caller`; logs name it). */
  caller: string;
  /** The services this one calls, as declared in its definition. */
  calls: readonly DescService[];
  /** The environment: `<NAME>_URL` (e.g. `CONSORCIADOS_URL`) overrides a peer's catalog address. */
  env: Record<string, string | undefined>;
  /** The service account's credentials for the client-credentials grant. */
  credentials?: { clientId: string; clientSecret: string } | undefined;
  /** Deadline of a call made outside any incoming call (a job, a consumer). */
  defaultTimeoutMs: number;
  logger: Logger;
  /** Client spans, with W3C `traceparent` injected (off when not enabled). */
  tracing?: Tracing | undefined;
  /** Call counts and latencies by method and code. */
  metrics?: PlatformMetrics | undefined;
}

export interface ServiceClients {
  /**
   * A typed client of `service`. Given the handler context of the incoming call, each call
   * inherits what is left of its deadline, its cancellation, its request id, correlation id
   * and trace context; without one, the default deadline applies.
   */
  get<S extends DescService>(service: S, context?: HandlerContext): Client<S>;
  /** The service token in use (obtained or refreshed when needed). */
  token(): Promise<string>;
}

/** `consorcio.consorciados.v1.ConsorciadoService` is served by `consorciados`. */
export function serviceOf(service: DescService): string {
  return service.typeName.split(".")[1] ?? service.typeName;
}

/** `<NAME>_URL` when set, else the catalog's port on this host. */
export function peerUrl(name: string, env: Record<string, string | undefined>): string {
  const configured = env[`${name.toUpperCase()}_URL`];
  if (configured) return configured;
  if (!(name in SERVICE_PORTS)) throw new Error(`no address for ${name}: set ${name.toUpperCase()}_URL`);
  return `http://127.0.0.1:${SERVICE_PORTS[name as ServiceName]}`;
}

const RETRYABLE = new Set([Code.Unavailable, Code.ResourceExhausted]);
const MAX_ATTEMPTS = 3;
/** A token is renewed this long before it expires, so no call carries one that lapses in flight. */
const RENEW_BEFORE_MS = 30_000;

/** A retry of this call cannot apply its effect twice: the method is read-only or carries a request id. */
function isSafeToRetry(method: DescMethod, message: unknown): boolean {
  if (method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS) return true;
  const requestId = (message as { requestId?: unknown } | undefined)?.requestId;
  return typeof requestId === "string" && requestId.length > 0;
}

/** Tokens from identidade's client-credentials grant, cached until shortly before they expire. */
function createTokenSource(
  options: ServiceClientsOptions,
  transport: Transport,
): { get(): Promise<string>; invalidate(): void } {
  const auth = createClient(AuthService, transport);
  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;
  const fetchToken = async (): Promise<string> => {
    const credentials = options.credentials;
    if (!credentials) {
      throw new ConnectError(
        `${options.caller} has no service account (SERVICE_CLIENT_SECRET)`,
        Code.Unauthenticated,
      );
    }
    const response = await auth.token(
      {
        grantType: "client_credentials",
        clientId: credentials.clientId,
        clientSecret: credentials.clientSecret,
      },
      { timeoutMs: options.defaultTimeoutMs },
    );
    const lifetimeMs = response.expiresIn * 1000;
    current = {
      token: response.accessToken,
      renewAt: Date.now() + Math.max(lifetimeMs / 2, lifetimeMs - RENEW_BEFORE_MS),
    };
    return response.accessToken;
  };
  return {
    async get() {
      if (current && Date.now() < current.renewAt) return current.token;
      // One request for a new token however many calls are waiting for it.
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
    invalidate() {
      current = undefined;
    },
  };
}

/** Names the peer in errors that are the peer's absence, not its answer. */
function peerError(peer: string, error: unknown): ConnectError {
  const connectError = ConnectError.from(error);
  if (/^\w+ unavailable: /.test(connectError.rawMessage)) return connectError; // named already
  if (connectError.code === Code.Unavailable || connectError.code === Code.Unknown) {
    return new ConnectError(
      `${peer} unavailable: ${connectError.rawMessage}`,
      Code.Unavailable,
      connectError.metadata,
    );
  }
  return connectError;
}

export function createServiceClients(options: ServiceClientsOptions): ServiceClients {
  const transports = new Map<string, Transport>();
  const clients = new Map<string, Client<DescService>>();
  const declared = new Set(options.calls.map((service) => service.typeName));

  const baseTransport = (name: string, interceptors: Interceptor[]) =>
    createConnectTransport({
      baseUrl: peerUrl(name, options.env),
      httpVersion: "2",
      useBinaryFormat: true,
      interceptors,
    });
  const tokens = createTokenSource(
    options,
    baseTransport("identidade", [
      (next) => async (req) => {
        try {
          return await next(req);
        } catch (error) {
          throw peerError("identidade", error);
        }
      },
    ]),
  );

  /** Outermost: retries (with back-off, within the deadline) what is safe to retry. */
  const retrying =
    (peer: string): Interceptor =>
    (next) =>
    async (req) => {
      const safe = !req.stream && isSafeToRetry(req.method, req.message);
      for (let attempt = 1; ; attempt++) {
        try {
          return await next(req);
        } catch (error) {
          const connectError = peerError(peer, error);
          if (!safe || attempt >= MAX_ATTEMPTS || !RETRYABLE.has(connectError.code) || req.signal.aborted) {
            throw connectError;
          }
          options.logger.warn(
            { peer, method: req.method.name, attempt, code: Code[connectError.code] },
            "retrying call",
          );
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (attempt - 1)));
          if (req.signal.aborted) throw connectError;
        }
      }
    };

  /** The service token; a token the peer refuses (expired, rotated key) is renewed once. */
  const authenticating: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${await tokens.get()}`);
    req.header.set("x-caller", options.caller);
    try {
      return await next(req);
    } catch (error) {
      if (ConnectError.from(error).code !== Code.Unauthenticated) throw error;
      tokens.invalidate();
      req.header.set("authorization", `Bearer ${await tokens.get()}`);
      return await next(req);
    }
  };

  /**
   * Outermost of all: one client span per call (retries inside it), its context sent as
   * `traceparent`, and the call's count and latency.
   */
  const { tracing, metrics } = options;
  const observed: Interceptor = (next) => async (req) => {
    const started = performance.now();
    let code: Code | undefined;
    try {
      if (!tracing?.enabled) return await next(req);
      return await tracing.inSpan(
        `${req.service.typeName}/${req.method.name}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            "rpc.system": "connect_rpc",
            "rpc.service": req.service.typeName,
            "rpc.method": req.method.name,
            "server.address": new URL(req.url).hostname,
          },
        },
        async (span) => {
          tracing.inject(req.header);
          try {
            const res = await next(req);
            span?.setAttribute("rpc.grpc.status_code", 0);
            return res;
          } catch (error) {
            span?.setAttribute("rpc.grpc.status_code", ConnectError.from(error).code);
            throw error;
          }
        },
      );
    } catch (error) {
      code = ConnectError.from(error).code;
      throw error;
    } finally {
      if (metrics) {
        const at = { rpc_service: req.service.typeName, rpc_method: req.method.name, code: codeLabel(code) };
        metrics.rpcClientHandled.inc(at);
        metrics.rpcClientSeconds.observe(at, (performance.now() - started) / 1000);
      }
    }
  };

  const transportOf = (name: string): Transport => {
    let transport = transports.get(name);
    if (!transport) {
      transport = baseTransport(name, [
        ...(tracing?.enabled || metrics ? [observed] : []),
        retrying(name),
        authenticating,
      ]);
      transports.set(name, transport);
    }
    return transport;
  };

  const baseClient = <S extends DescService>(service: S): Client<S> => {
    let client = clients.get(service.typeName);
    if (!client) {
      client = createClient(service, transportOf(serviceOf(service))) as unknown as Client<DescService>;
      clients.set(service.typeName, client);
    }
    return client as unknown as Client<S>;
  };

  /** Call options of a call made while handling `context`. */
  const inherited = (context: HandlerContext | undefined, own: CallOptions | undefined): CallOptions => {
    const headers = new Headers(own?.headers);
    const request = context?.values.get(requestContextKey);
    if (request) {
      if (!headers.has("x-request-id")) headers.set("x-request-id", request.requestId);
      headers.set("x-correlation-id", request.correlationId);
      if (request.traceparent) headers.set("traceparent", request.traceparent);
    }
    const left = context?.timeoutMs();
    const timeoutMs = Math.min(own?.timeoutMs ?? Number.POSITIVE_INFINITY, left ?? options.defaultTimeoutMs);
    const signals = [own?.signal, context?.signal].filter((signal): signal is AbortSignal => !!signal);
    return {
      ...own,
      headers,
      timeoutMs: Math.max(1, timeoutMs),
      ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
    };
  };

  return {
    get(service, context) {
      if (!declared.has(service.typeName)) {
        throw new Error(
          `${options.caller} does not declare that it calls ${service.typeName} (ServiceDefinition.calls)`,
        );
      }
      const client = baseClient(service) as unknown as Record<
        string,
        (request: unknown, options?: CallOptions) => unknown
      >;
      const bound: Record<string, unknown> = {};
      for (const method of service.methods) {
        const call = client[method.localName];
        if (call)
          bound[method.localName] = (request: unknown, own?: CallOptions) =>
            call(request, inherited(context, own));
      }
      return bound as Client<typeof service>;
    },
    token: () => tokens.get(),
  };
}

/** The username of a service's account at identidade. */
export function serviceAccountId(service: string): string {
  return `svc-${service}`;
}
