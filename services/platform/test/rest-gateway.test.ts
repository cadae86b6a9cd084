// The REST gateway against a real Connect server of a test-only service that echoes what each
// mapping set: path variables, query parameters, bodies, HttpBody, errors and headers.
import { create, createFileRegistry, type DescFile } from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import {
  FieldPathElementSchema,
  FieldPathSchema,
  file_buf_validate_validate,
  ViolationSchema,
  ViolationsSchema,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "../src/logging.ts";
import { httpStatusOf, type RunningRestGateway, startRestGateway } from "../src/rest-gateway.ts";
import { type RunningServer, startServer } from "../src/server.ts";
import {
  file_consorcio_platformtest_v1_transcode_service,
  TranscodeService,
} from "./gen/consorcio/platformtest/v1/transcode_service_pb.js";

/** The descriptor set of the files (and their imports), as `buf build` would write it. */
function descriptorSetOf(...files: DescFile[]) {
  const seen = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (seen.has(file.name)) return;
    for (const dependency of file.dependencies) visit(dependency);
    seen.set(file.name, file);
  };
  for (const file of files) visit(file);
  return createFileRegistry(
    create(FileDescriptorSetSchema, { file: [...seen.values()].map((file) => file.proto) }),
  );
}
const registry = descriptorSetOf(
  file_consorcio_platformtest_v1_transcode_service,
  file_buf_validate_validate,
);

const logger = createLogger({ service: "test", level: "silent" });
const SEEN = ["authorization", "x-request-id", "traceparent", "x-forwarded-for", "x-envoy-external-address"];
let server: RunningServer;
let gateway: RunningRestGateway;

beforeAll(async () => {
  server = await startServer({
    host: "127.0.0.1",
    port: 0,
    logger,
    interceptors: [],
    routes(router) {
      router.service(TranscodeService, {
        getThing(request, context) {
          const headers: Record<string, string> = {};
          for (const name of SEEN) {
            const value = context.requestHeader.get(name);
            if (value !== null) headers[name] = value;
          }
          context.responseHeader.set(
            "x-request-id",
            context.requestHeader.get("x-request-id") ?? "made-here",
          );
          return { echo: request, headers };
        },
        updateThing: (request) => ({ echo: request }),
        async *listParts(request) {
          for (let index = 0; index < request.count; index++) yield { id: request.id, index };
          if (request.failCode) throw new ConnectError("the parts ran out", request.failCode as Code);
        },
        renameThing: (request) => ({ echo: request }),
        uploadReport: (request) => ({
          file: {
            contentType: "text/csv; charset=utf-8",
            data: Buffer.from(
              `${request.reportId};${request.file?.contentType};${Buffer.from(request.file?.data ?? []).toString()}`,
            ),
          },
        }),
        fail(request) {
          const violations = create(ViolationsSchema, {
            violations: request.fields.map((field) =>
              create(ViolationSchema, {
                field: create(FieldPathSchema, {
                  elements: [create(FieldPathElementSchema, { fieldName: field })],
                }),
                ruleId: "required",
                message: "value is required",
              }),
            ),
          });
          throw new ConnectError(
            request.message,
            request.code as Code,
            undefined,
            request.fields.length > 0 ? [{ desc: ViolationsSchema, value: violations }] : [],
          );
        },
      });
    },
  });
  gateway = await startRestGateway({
    host: "127.0.0.1",
    port: 0,
    logger,
    registry,
    upstreams: [{ baseUrl: `http://127.0.0.1:${server.port}`, services: [TranscodeService.typeName] }],
  });
});

afterAll(async () => {
  await gateway?.close();
  await server?.close(1_000);
});

const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
  const response = await fetch(`${gateway.url}${path}`, {
    method,
    headers: { "content-type": "application/json", ...headers },
    ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
  };
};

describe("REST gateway", () => {
  test("lists the routes of the rules and their additional bindings", () => {
    expect(gateway.routes).toContain(
      "GET /v1/{name=shelves/*/things/*} → consorcio.platformtest.v1.TranscodeService.GetThing",
    );
    expect(gateway.routes).toContain(
      "GET /v1/things/{thing.id}/alias → consorcio.platformtest.v1.TranscodeService.GetThing",
    );
  });

  test("path variables (multi-segment, nested) and query parameters of every kind", async () => {
    const query = [
      "pageSize=25",
      "colors=COLOR_RED&colors=2",
      "filter.color=COLOR_BLUE",
      "filter.tags=a&filter.tags=b%20c",
      "filter.range.min=1&filter.range.max=9",
      "since=2026-12-07T10:00:00Z",
      "within=3.5s",
      "read_mask=title,priceCentavos",
      "archived=false",
      "min_centavos=9007199254740993",
      "exact=true",
      "ids=1&ids=2",
      "ratio=0.25",
    ].join("&");
    const { status, json } = await call("GET", `/v1/shelves/s%201/things/t1?${query}`);
    expect(status).toBe(200);
    expect(json.echo).toEqual({
      name: "shelves/s 1/things/t1",
      pageSize: 25,
      colors: ["COLOR_RED", "COLOR_BLUE"],
      filter: { color: "COLOR_BLUE", tags: ["a", "b c"], range: { min: 1, max: 9 } },
      since: "2026-12-07T10:00:00Z",
      within: "3.500s",
      readMask: "title,priceCentavos",
      archived: false,
      minCentavos: "9007199254740993",
      exact: true,
      ids: ["1", "2"],
      ratio: 0.25,
    });
    const alias = await call("GET", "/v1/things/t9/alias?thing.title=x&thing.color=1");
    expect(alias.status).toBe(200);
    // Every primitive field printed, as Envoy's always_print_primitive_fields.
    expect(alias.json.echo.thing).toEqual({ id: "t9", title: "x", priceCentavos: "0", color: "COLOR_RED" });
    expect(alias.json.echo.name).toBe("");
  });

  test("unknown, mistyped, repeated-singular and path-bound query parameters are refused with 400", async () => {
    for (const [query, message] of [
      ["nope=1", 'unknown query parameter "nope"'],
      ["filter.nope=1", 'unknown query parameter "filter.nope"'],
      ["filter=x", "filter"],
      ["exact=yes", '"yes" is not a boolean'],
      ["pageSize=1&pageSize=2", 'query parameter "pageSize" is not repeated'],
      ["name=other", 'unknown query parameter "name"'],
      ["thing=x", "a message field cannot be set from a string"],
      ["pageSize=abc", "page_size"],
      ["colors=COLOR_GREEN", "COLOR_GREEN"],
    ] as const) {
      const { status, json } = await call("GET", `/v1/shelves/s/things/t?${query}`);
      expect(status, query).toBe(400);
      expect(json.code, query).toBe(Code.InvalidArgument);
      expect(json.message, query).toContain(message);
      expect(json.details).toEqual([]);
    }
  });

  test("a field the path binds cannot be set again from the query; its siblings can", async () => {
    const bound = await call("GET", "/v1/things/t/alias?thing.id=other");
    expect([bound.status, bound.json.message]).toEqual([400, 'unknown query parameter "thing.id"']);
    const sibling = await call("GET", "/v1/things/t/alias?thing.title=ok");
    expect(sibling.json.echo.thing).toMatchObject({ id: "t", title: "ok" });
  });

  test("body field beside a nested path variable; body * with a verb; the path wins over the body", async () => {
    const update = await call("PATCH", "/v1/things/t1?updateMask=title&requestId=r1", {
      id: "ignored",
      title: "Novo",
      price_centavos: "1500",
      color: "COLOR_BLUE",
    });
    expect(update.status).toBe(200);
    expect(update.json.echo).toEqual({
      thing: { id: "t1", title: "Novo", priceCentavos: "1500", color: "COLOR_BLUE" },
      updateMask: "title",
      requestId: "r1",
    });
    const rename = await call("POST", "/v1/things/t2:rename", {
      id: "other",
      title: "Outro",
      requestId: "r2",
    });
    expect(rename.status).toBe(200);
    expect(rename.json.echo).toEqual({ id: "t2", title: "Outro", requestId: "r2" });
    // body "*": nothing is left for the query.
    expect((await call("POST", "/v1/things/t2:rename?title=x", {})).status).toBe(400);
    // Unknown fields and broken JSON in the body.
    const unknown = await call("POST", "/v1/things/t2:rename", { titel: "x" });
    expect([unknown.status, unknown.json.code]).toEqual([400, Code.InvalidArgument]);
    const broken = await call("POST", "/v1/things/t2:rename", "{not json");
    expect([broken.status, broken.json.code]).toEqual([400, Code.InvalidArgument]);
    expect(broken.json.message).toContain("the body is not JSON");
  });

  test("HttpBody in and out: raw bytes with their content type", async () => {
    const response = await fetch(`${gateway.url}/v1/reports/rel-1`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: Buffer.from("bytes\u0000here"),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(await response.text()).toBe("rel-1;application/octet-stream;bytes\u0000here");
  });

  test("errors: google.rpc.Status JSON with typed details and the HTTP status of the code", async () => {
    const invalid = await call("POST", "/v1/fail", {
      code: Code.InvalidArgument,
      message: "bad",
      fields: ["nome"],
    });
    expect(invalid.status).toBe(400);
    expect(invalid.json).toEqual({
      code: 3,
      message: "bad",
      details: [
        {
          "@type": "type.googleapis.com/buf.validate.Violations",
          violations: [
            {
              field: { elements: [{ fieldName: "nome" }] },
              ruleId: "required",
              message: "value is required",
            },
          ],
        },
      ],
    });
    for (const [code, status] of [
      [Code.Unauthenticated, 401],
      [Code.PermissionDenied, 403],
      [Code.NotFound, 404],
      [Code.AlreadyExists, 409],
      [Code.Aborted, 409],
      [Code.FailedPrecondition, 400],
      [Code.ResourceExhausted, 429],
      [Code.Unavailable, 503],
      [Code.Internal, 500],
      [Code.Unimplemented, 501],
      [Code.DeadlineExceeded, 504],
    ] as const) {
      const response = await call("POST", "/v1/fail", { code, message: `m${code}` });
      expect([response.status, response.json.code, response.json.message], String(code)).toEqual([
        status,
        code,
        `m${code}`,
      ]);
      expect(httpStatusOf(code)).toBe(status);
    }
  });

  test("server streaming: a JSON array of the messages; an error before the first is a Status", async () => {
    const parts = await call("GET", "/v1/things/t1/parts?count=3");
    expect(parts.status).toBe(200);
    expect(parts.json).toEqual([
      { id: "t1", index: 0 },
      { id: "t1", index: 1 },
      { id: "t1", index: 2 },
    ]);
    expect((await call("GET", "/v1/things/t1/parts")).json).toEqual([]);
    const failed = await call("GET", `/v1/things/t1/parts?failCode=${Code.NotFound}`);
    expect([failed.status, failed.json.code, failed.json.message]).toEqual([
      404,
      Code.NotFound,
      "the parts ran out",
    ]);
    // Once the array is under way the status is sent: the connection is cut, the array unfinished.
    await expect(call("GET", `/v1/things/t1/parts?count=1&failCode=${Code.Internal}`)).rejects.toThrow();
  });

  test("no route is 404, another method is 405, both as Status JSON", async () => {
    const missing = await call("GET", "/v1/nothing");
    expect([missing.status, missing.json.code]).toEqual([404, Code.NotFound]);
    const wrongMethod = await call("DELETE", "/v1/things/t1");
    expect([wrongMethod.status, wrongMethod.json.code]).toEqual([405, Code.Unimplemented]);
  });

  test("the token and the request and trace context reach the service; the client address is appended", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const { json, headers } = await call("GET", "/v1/things/t/alias", undefined, {
      authorization: "Bearer abc.def.ghi",
      "x-request-id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
      traceparent,
      "x-forwarded-for": "203.0.113.9",
      "x-envoy-external-address": "198.51.100.1",
    });
    expect(json.headers).toEqual({
      authorization: "Bearer abc.def.ghi",
      "x-request-id": "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
      traceparent,
      "x-forwarded-for": "203.0.113.9, 127.0.0.1",
      // What the client claims is replaced by what the gateway saw.
      "x-envoy-external-address": "127.0.0.1",
    });
    expect(headers.get("x-request-id")).toBe("0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
  });

  test("a service that is down is 503 Unavailable", async () => {
    const down = await startRestGateway({
      host: "127.0.0.1",
      port: 0,
      logger,
      registry,
      upstreams: [{ baseUrl: "http://127.0.0.1:1", services: [TranscodeService.typeName] }],
    });
    try {
      const response = await fetch(`${down.url}/v1/things/t/alias`);
      expect(response.status).toBe(503);
      expect(((await response.json()) as { code: number }).code).toBe(Code.Unavailable);
    } finally {
      await down.close();
    }
  });
});
