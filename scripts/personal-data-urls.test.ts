// Personal data never travels in a URL: the CPF/CNPJ filter of ListConsorciados has a POST
// binding, no query parameter in the partners' OpenAPI, and the edge refuses it in a GET.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { ROOT, SHIPPED_MODULE } from "./buf.ts";
import { openApiForModule } from "./openapi.ts";

type Operation = { parameters?: { name: string; in: string }[]; requestBody?: unknown };

describe("the search of consorciados by CPF/CNPJ", () => {
  test("is a POST with a body, and the GET lists no documento parameter", async () => {
    const doc = parse(await openApiForModule(SHIPPED_MODULE)) as {
      paths: Record<string, Record<string, Operation>>;
    };
    const list = doc.paths["/v1/consorciados"]?.get;
    // A name prefix is personal data too (debug_redact): it also searches by POST only.
    expect(list?.parameters?.map((p) => p.name)).toEqual(expect.arrayContaining(["pageSize", "status"]));
    expect(list?.parameters?.map((p) => p.name)).not.toContain("nomePrefix");
    expect(list?.parameters?.map((p) => p.name)).not.toContain("documento");
    const search = doc.paths["/v1/consorciados:search"]?.post;
    expect(search?.requestBody).toBeDefined();
    // No query parameter anywhere in the API carries it.
    for (const item of Object.values(doc.paths)) {
      for (const operation of Object.values(item)) {
        expect(operation.parameters?.filter((p) => p.in === "query" && p.name === "documento") ?? []).toEqual(
          [],
        );
      }
    }
  }, 60_000);

  test("the edge answers a GET naming documento with 400, before the transcoder", () => {
    const envoy = parse(readFileSync(join(ROOT, "envoy/envoy.yaml"), "utf8"));
    const routes = envoy.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config
      .virtual_hosts[0].routes as {
      name?: string;
      match: { path?: string; prefix?: string; query_parameters?: { name: string }[] };
      direct_response?: { status: number };
      typed_per_filter_config?: Record<string, { disabled?: boolean }>;
    }[];
    const refusal = routes.findIndex((r) => r.match.query_parameters?.some((q) => q.name === "documento"));
    expect(refusal).toBeGreaterThanOrEqual(0);
    const route = routes[refusal];
    expect(route?.match.path).toBe("/v1/consorciados");
    expect(route?.direct_response?.status).toBe(400);
    expect(route?.typed_per_filter_config?.["envoy.filters.http.grpc_json_transcoder"]?.disabled).toBe(true);
    // Before the routes that would forward it.
    const forwarding = routes.findIndex((r) => r.match.prefix === "/consorcio.consorciados.v1.");
    expect(refusal).toBeLessThan(forwarding);
    // A Connect GET carries the request message in its query: refused for this RPC.
    const connectGet = routes.findIndex(
      (r) => r.match.path === "/consorcio.consorciados.v1.ConsorciadoService/ListConsorciados",
    );
    expect(routes[connectGet]?.direct_response?.status).toBe(400);
    expect(connectGet).toBeGreaterThanOrEqual(0);
    expect(connectGet).toBeLessThan(forwarding);
  });
});
