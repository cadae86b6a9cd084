// CORS for browsers on other origins (connect-web, gRPC-Web, the REST gateway): the `cors`
// middleware with Connect's own lists of the headers and methods its protocols use.
import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";
import cors from "cors";

/** Headers of ours a browser may send besides the protocols' (envoy/envoy.yaml allows the same). */
const APP_REQUEST_HEADERS = ["authorization", "x-request-id", "x-correlation-id", "traceparent"];
const APP_RESPONSE_HEADERS = ["x-request-id"];
/** What a browser may send and read: Connect's lists (Connect, gRPC-Web) and ours; the edge allows the same. */
export const CORS_ALLOWED_HEADERS = [
  ...connectCors.allowedHeaders.map((h) => h.toLowerCase()),
  ...APP_REQUEST_HEADERS,
];
export const CORS_EXPOSED_HEADERS = [
  ...connectCors.exposedHeaders.map((h) => h.toLowerCase()),
  ...APP_RESPONSE_HEADERS,
];
/** Browsers cache a preflight this long (seconds), as the edge says. */
const MAX_AGE_SECONDS = 600;

/**
 * Parses CORS_ALLOWED_ORIGINS: comma-separated origins (`scheme://host[:port]`), where `*`
 * stands for one host label or any port, the scheme's default included (`http://localhost:*`,
 * `https://*.example.com.br`).
 * Empty: no origin allowed (browsers on other origins are refused).
 */
export function parseAllowedOrigins(value: string): Array<string | RegExp> {
  const origins: Array<string | RegExp> = [];
  for (const entry of value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)) {
    if (!/^https?:\/\/[A-Za-z0-9.*-]+(:(\d+|\*))?$/.test(entry))
      throw new Error(
        `${JSON.stringify(entry)} is not an origin (scheme://host[:port], * for a host label or the port)`,
      );
    if (!entry.includes("*")) {
      origins.push(entry.toLowerCase());
      continue;
    }
    const [scheme, rest = ""] = entry.toLowerCase().split("://");
    const colon = rest.lastIndexOf(":");
    const host = colon < 0 ? rest : rest.slice(0, colon);
    const port = colon < 0 ? undefined : rest.slice(colon + 1);
    const hostPattern = host
      .split(".")
      .map((label) => (label === "*" ? "[a-z0-9-]+" : label.replaceAll(/[.*+?^${}()|[\]\\-]/g, "\\$&")))
      .join("\\.");
    const portPattern = port === undefined ? "" : port === "*" ? "(:\\d{1,5})?" : `:${port}`;
    origins.push(new RegExp(`^${scheme}://${hostPattern}${portPattern}$`));
  }
  return origins;
}

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;
export type CorsHandler = (req: Request, res: Response, next: () => void) => void;

/**
 * The CORS handler for `origins` (see parseAllowedOrigins), or undefined when none is allowed.
 * A preflight is answered here (204); any other request gets its headers and goes on to `next`.
 */
export function corsHandler(
  origins: readonly (string | RegExp)[],
  extraMethods: readonly string[] = [],
): CorsHandler | undefined {
  if (origins.length === 0) return undefined;
  const middleware = cors({
    origin: [...origins],
    methods: [...new Set([...connectCors.allowedMethods, ...extraMethods])],
    allowedHeaders: CORS_ALLOWED_HEADERS,
    exposedHeaders: CORS_EXPOSED_HEADERS,
    maxAge: MAX_AGE_SECONDS,
  });
  return (req, res, next) =>
    middleware(req as cors.CorsRequest, res as unknown as http.ServerResponse, () => next());
}
