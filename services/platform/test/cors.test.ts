import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parse } from "yaml";
import { CORS_ALLOWED_HEADERS, CORS_EXPOSED_HEADERS, parseAllowedOrigins } from "../src/cors.ts";
import { createLogger } from "../src/logging.ts";
import { type RunningServer, startServer } from "../src/server.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const allows = (patterns: string, origin: string) =>
  parseAllowedOrigins(patterns).some((allowed) =>
    typeof allowed === "string" ? allowed === origin : allowed.test(origin),
  );

describe("CORS_ALLOWED_ORIGINS", () => {
  test("exact origins and * for a host label or any port", () => {
    expect(parseAllowedOrigins("")).toEqual([]);
    expect(allows("https://app.example.com.br", "https://app.example.com.br")).toBe(true);
    expect(allows("https://app.example.com.br", "https://app.example.com.br:8443")).toBe(false);
    expect(allows("https://app.example.com.br", "http://app.example.com.br")).toBe(false);
    expect(allows("http://localhost:*", "http://localhost:5173")).toBe(true);
    expect(allows("http://localhost:*", "http://localhost")).toBe(true);
    expect(allows("http://localhost:*", "http://localhost.evil.example:80")).toBe(false);
    expect(allows("http://localhost:*", "http://evil-localhost:80")).toBe(false);
    expect(allows("https://*.example.com.br", "https://portal.example.com.br")).toBe(true);
    expect(allows("https://*.example.com.br", "https://a.b.example.com.br")).toBe(false);
    expect(allows("https://*.example.com.br", "https://example.com.br.evil.example")).toBe(false);
    expect(allows(" http://a.example , http://b.example ", "http://b.example")).toBe(true);
  });

  test("anything but an origin is refused", () => {
    for (const bad of [
      "*",
      "localhost:3000",
      "http://a.example/path",
      "ftp://a.example",
      "http://a.example:port",
    ])
      expect(() => parseAllowedOrigins(bad), bad).toThrow(/is not an origin/);
  });

  test("the edge (envoy/envoy.yaml) allows and exposes the same headers as local mode", () => {
    const envoy = readFileSync(`${root}envoy/envoy.yaml`, "utf8");
    const policy = JSON.stringify(parse(envoy)).match(/"allow_headers":"([^"]*)","expose_headers":"([^"]*)"/);
    const list = (text = "") => new Set(text.split(",").map((header) => header.trim()));
    expect(list(policy?.[1])).toEqual(new Set(CORS_ALLOWED_HEADERS));
    expect(list(policy?.[2])).toEqual(new Set(CORS_EXPOSED_HEADERS));
  });
});

describe("CORS on a service's server", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer({
      host: "127.0.0.1",
      port: 0,
      logger: createLogger({ service: "test", level: "silent" }),
      interceptors: [],
      routes() {},
      corsOrigins: parseAllowedOrigins("http://localhost:*"),
    });
  });
  afterAll(() => server?.close(1_000));

  const preflight = (origin: string) =>
    fetch(`http://127.0.0.1:${server.port}/consorcio.platformtest.v1.WidgetService/Ping`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type,connect-protocol-version,authorization,x-grpc-web",
      },
    });

  test("a preflight from an allowed origin is answered with Connect's and gRPC-Web's headers", async () => {
    const response = await preflight("http://localhost:5173");
    expect(response.status).toBe(204);
    expect(response.headers.get("access-control-allow-origin")).toBe("http://localhost:5173");
    expect(response.headers.get("vary")).toContain("Origin");
    const allowed = response.headers.get("access-control-allow-headers")?.split(",") ?? [];
    for (const header of [
      "content-type",
      "connect-protocol-version",
      "authorization",
      "x-grpc-web",
      "grpc-timeout",
    ])
      expect(allowed).toContain(header);
    expect(response.headers.get("access-control-allow-methods")).toContain("POST");
    expect(response.headers.get("access-control-max-age")).toBe("600");
  });

  test("another origin gets no permission", async () => {
    const response = await preflight("http://elsewhere.example");
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
  });
});
