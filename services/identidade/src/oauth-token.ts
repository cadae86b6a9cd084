// POST /v1/auth:token as stock OAuth 2.0 clients speak it (RFC 6749): a form body, client
// authentication in the body or with HTTP Basic (§2.3.1), errors as in §5.2. The same AuthFlows
// as the Token and Refresh RPCs (rate limits included), and a call record like theirs.
import type { IncomingHttpHeaders } from "node:http";
import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { AuthService } from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import {
  clientAddress,
  DomainError,
  type HttpRoute,
  InvalidArgumentError,
  loggable,
  type ServiceContext,
} from "@consorcio/platform";
import { uuidv7 } from "uuidv7";
import type { AuthFlows } from "./app/auth.ts";

export const TOKEN_PATH = "/v1/auth:token";
const FORM = "application/x-www-form-urlencoded";
/** A token request is a few hundred bytes; anything much larger is not one. */
const BODY_MAX_BYTES = 16 * 1024;
/** The limits of TokenRequest in the contract. */
const MAX_LENGTH = { client_id: 128, client_secret: 256, scope: 1024, refresh_token: 512 } as const;

type OAuthErrorCode =
  | "invalid_request"
  | "invalid_client"
  | "invalid_grant"
  | "unauthorized_client"
  | "unsupported_grant_type"
  | "invalid_scope"
  | "server_error";

class OAuthError extends Error {
  readonly error: OAuthErrorCode;
  readonly status: number;
  /** The gRPC code the call is recorded with, as the RPC would have ended. */
  readonly code: RpcCode;
  readonly headers: Record<string, string>;

  constructor(
    error: OAuthErrorCode,
    description: string,
    options: { status?: number; code?: RpcCode; headers?: Record<string, string> } = {},
  ) {
    super(description);
    this.error = error;
    this.status = options.status ?? 400;
    this.code = options.code ?? RpcCode.INVALID_ARGUMENT;
    this.headers = options.headers ?? {};
  }
}

const invalidClient = () =>
  new OAuthError("invalid_client", "invalid client credentials", {
    status: 401,
    code: RpcCode.UNAUTHENTICATED,
    headers: { "www-authenticate": 'Basic realm="consorcio"' },
  });

function toHeaders(incoming: IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(incoming)) {
    if (name.startsWith(":") || value === undefined) continue; // HTTP/2 pseudo-headers
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}

async function readBody(req: AsyncIterable<Buffer | string>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > BODY_MAX_BYTES)
      throw new OAuthError("invalid_request", "request body too large", { status: 413 });
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/** A form-encoded value of the Basic credentials (§2.3.1 encodes id and secret before base64). */
function formDecode(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, " "));
}

/** The request's parameters and client credentials, or the §5.2 error it deserves. */
export function parseTokenRequest(
  contentType: string,
  body: string,
  authorization: string | null,
): { grantType: string; clientId: string; clientSecret: string; scope: string; refreshToken: string } {
  if (contentType.split(";")[0]?.trim().toLowerCase() !== FORM) {
    throw new OAuthError("invalid_request", `the body must be ${FORM}`);
  }
  const form = new URLSearchParams(body);
  const single = (name: string): string => {
    const values = form.getAll(name);
    // §3.2: parameters must not be included more than once.
    if (values.length > 1) throw new OAuthError("invalid_request", `${name} is repeated`);
    const value = values[0] ?? "";
    const max = MAX_LENGTH[name as keyof typeof MAX_LENGTH];
    if (max !== undefined && value.length > max) {
      throw new OAuthError("invalid_request", `${name} is longer than ${max} characters`);
    }
    return value;
  };
  const grantType = single("grant_type");
  if (!grantType) throw new OAuthError("invalid_request", "grant_type is required");
  let clientId = single("client_id");
  let clientSecret = single("client_secret");
  if (authorization) {
    const [scheme, encoded = ""] = authorization.trim().split(/\s+/, 2);
    if (scheme?.toLowerCase() !== "basic") throw invalidClient();
    // §2.3: one authentication method per request.
    if (clientSecret)
      throw new OAuthError("invalid_request", "client credentials both in the body and in Basic");
    const decoded = Buffer.from(encoded, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon < 0) throw invalidClient();
    let basicId: string;
    try {
      basicId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
    } catch {
      throw invalidClient(); // malformed percent-encoding
    }
    if (clientId && clientId !== basicId)
      throw new OAuthError("invalid_request", "client_id differs from Basic");
    clientId = basicId;
    if (clientId.length > MAX_LENGTH.client_id || clientSecret.length > MAX_LENGTH.client_secret) {
      throw invalidClient();
    }
  }
  const scope = single("scope");
  const refreshToken = single("refresh_token");
  if (grantType !== "client_credentials" && grantType !== "refresh_token") {
    throw new OAuthError("unsupported_grant_type", "grant_type must be client_credentials or refresh_token");
  }
  if (grantType === "client_credentials" && (!clientId || !clientSecret)) throw invalidClient();
  if (grantType === "refresh_token" && !refreshToken) {
    throw new OAuthError("invalid_request", "refresh_token is required");
  }
  return { grantType, clientId, clientSecret, scope, refreshToken };
}

/** An error of AuthFlows as §5.2 names it. */
function fromAuthError(error: unknown, grantType: string): OAuthError {
  if (error instanceof OAuthError) return error;
  if (error instanceof InvalidArgumentError && error.violations.some((v) => v.ruleId === "invalid_scope")) {
    return new OAuthError("invalid_scope", error.violations.map((v) => v.message).join("; "));
  }
  // AuthFlows throws the platform's domain errors; anything else is unexpected.
  const { code, message } =
    error instanceof DomainError ? error : { code: ConnectError.from(error).code, message: "" };
  if (code === Code.Unauthenticated) {
    if (grantType === "refresh_token") {
      return new OAuthError("invalid_grant", "invalid refresh token", { code: RpcCode.UNAUTHENTICATED });
    }
    return invalidClient();
  }
  if (code === Code.ResourceExhausted) {
    // §5.2 has no code for it: a 429 that clients and proxies understand.
    return new OAuthError("invalid_request", message, {
      status: 429,
      code: RpcCode.RESOURCE_EXHAUSTED,
      headers: { "retry-after": "60" },
    });
  }
  return new OAuthError("server_error", "the token could not be issued", {
    status: 500,
    code: RpcCode.INTERNAL,
  });
}

export function oauthTokenRoute({ tx, db, config, logger }: ServiceContext, auth: AuthFlows): HttpRoute {
  return async (req, res) => {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      // §5.1: token responses are never cached.
      res.writeHead(status, {
        "content-type": "application/json",
        "cache-control": "no-store",
        pragma: "no-cache",
        ...headers,
      });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "POST") {
      send(405, { error: "invalid_request", error_description: "use POST" }, { allow: "POST" });
      return;
    }
    const headers = toHeaders(req.headers);
    let request: ReturnType<typeof parseTokenRequest>;
    try {
      request = parseTokenRequest(
        headers.get("content-type") ?? "",
        await readBody(req as AsyncIterable<Buffer>),
        headers.get("authorization"),
      );
    } catch (error) {
      // Refused before any work (no database, no hashing, no record), as a malformed RPC is.
      const refusal = fromAuthError(error, "");
      send(refusal.status, { error: refusal.error, error_description: refusal.message }, refusal.headers);
      return;
    }
    const clientIp = clientAddress(headers, req.socket?.remoteAddress, config.TRUSTED_PROXY_HOPS);
    const refresh = request.grantType === "refresh_token";
    let result = RpcCode.OK;
    // Answered only once the call's record is written, as the RPC's audit is: a client that got
    // its answer finds the call audited.
    let answer: Parameters<typeof send> = [500, {}];
    const reply = (...args: Parameters<typeof send>) => {
      answer = args;
    };
    try {
      if (refresh) {
        const outcome = await tx.job(({ em }) => auth.refresh(em, request.refreshToken));
        if ("error" in outcome) throw outcome.error;
        const { accessToken, refreshToken, expiresIn } = outcome.ok;
        reply(200, {
          access_token: accessToken,
          token_type: "Bearer",
          expires_in: expiresIn,
          refresh_token: refreshToken,
        });
      } else {
        const issued = await auth.clientToken(db.fork(), request, clientIp);
        reply(200, {
          access_token: issued.accessToken,
          token_type: "Bearer",
          expires_in: issued.expiresIn,
          ...(issued.scope ? { scope: issued.scope } : {}),
        });
      }
    } catch (error) {
      const refusal = fromAuthError(error, request.grantType);
      if (refusal.status >= 500) logger.error({ err: error }, "token request failed");
      result = refusal.code;
      reply(refusal.status, { error: refusal.error, error_description: refusal.message }, refusal.headers);
    }
    // The record the Token (or Refresh) RPC's audit would have written.
    const method = AuthService.method[refresh ? "refresh" : "token"];
    const correlation = headers.get("x-correlation-id") ?? "";
    const call = create(ChamadaRegistradaSchema, {
      service: "identidade",
      method: `${AuthService.typeName}/${method.name}`,
      target: refresh ? "" : loggable(request.clientId),
      correlationId: loggable(correlation || uuidv7()),
      result,
      time: timestampNow(),
      clientIp: loggable(clientIp ?? ""),
      count: 1,
    });
    await tx
      .job(async (uow) => void uow.publish(ChamadaRegistradaSchema, call))
      .catch((error) => logger.error({ err: error, method: call.method }, "audit record lost"));
    send(...answer);
  };
}
