// Bad input never becomes Internal: undecodable bodies in every protocol and NUL characters
// in strings are InvalidArgument before any handler runs.
import { gzipSync } from "node:zlib";
import { create, toBinary } from "@bufbuild/protobuf";
import { pathToString } from "@bufbuild/protobuf/reflect";
import { base64Encode } from "@bufbuild/protobuf/wire";
import { StructSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { HealthCheckRequestSchema } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { findInvalidInput } from "../src/input.ts";
import { PingRequestSchema, WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { frame, type RawRequest, rawClient } from "./raw-rpc.ts";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

// A field 1 of wire type 7 (there is none): fromBinary cannot read it.
const GARBAGE = new Uint8Array([0x0f, 0xff, 0xff]);
const PING = "/consorcio.platformtest.v1.WidgetService/Ping";
const WATCH = "/grpc.health.v1.Health/Watch";

describe("strings with NUL and invalid Timestamps", () => {
  test("are found in nested messages, lists and map keys, each with its path", () => {
    const struct = create(StructSchema, {
      fields: {
        "chave\0": { kind: { case: "stringValue", value: "ok" } },
        lista: {
          kind: {
            case: "listValue",
            value: {
              values: [
                { kind: { case: "stringValue", value: "ok" } },
                { kind: { case: "stringValue", value: "a\0b" } },
              ],
            },
          },
        },
        limpo: { kind: { case: "stringValue", value: "sem nada" } },
      },
    });
    const found = findInvalidInput(StructSchema, struct);
    expect(found.map((v) => [pathToString(v.field), v.forKey, v.ruleId])).toEqual([
      ['fields["chave\0"]', true, "string.no_nul"],
      ['fields["lista"].list_value.values[1].string_value', false, "string.no_nul"],
    ]);
    expect(findInvalidInput(StructSchema, create(StructSchema, { fields: { a: {} } }))).toEqual([]);
  });

  test("Timestamps out of their range are found too (binary parsing lets them through)", () => {
    const at = (seconds: bigint, nanos = 0) =>
      findInvalidInput(TimestampSchema, create(TimestampSchema, { seconds, nanos })).map((v) => v.ruleId);
    expect(at(-3_431_182_341_719_945_072n)).toEqual(["timestamp.valid"]);
    expect(at(253_402_300_800n)).toEqual(["timestamp.valid"]);
    expect(at(0n, -1)).toEqual(["timestamp.valid"]);
    expect(at(253_402_300_799n, 999_999_999)).toEqual([]);
    expect(at(-62_135_596_800n)).toEqual([]);
  });
});

describe("the platform refuses bad input as InvalidArgument", () => {
  let harness: WidgetHarness;
  let raw: ReturnType<typeof rawClient>;

  beforeAll(async () => {
    harness = await startWidgetHarness();
    raw = rawClient(harness.service.url);
  });
  afterAll(async () => {
    await raw.close();
    await harness.stop();
  });

  const ping = toBinary(PingRequestSchema, create(PingRequestSchema, { message: "olá" }));
  const call = (request: RawRequest) => raw.call(request);

  test("a string with U+0000 gets a field violation naming it", async () => {
    const client = createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    );
    const error = await client.ping({ message: "ad\0min" }).catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const [violations] = (error as ConnectError).findDetails(ViolationsSchema);
    expect(violations?.violations.map((v) => [v.field?.elements[0]?.fieldName, v.ruleId])).toEqual([
      ["message", "string.no_nul"],
    ]);
    await expect(client.ping({ message: "admin" })).resolves.toMatchObject({ message: "admin" });
  });

  test("an undecodable binary body is InvalidArgument in every protocol", async () => {
    const cases: RawRequest[] = [
      { path: PING, protocol: "connect", body: GARBAGE },
      { path: PING, protocol: "grpc", body: frame(GARBAGE) },
      { path: PING, protocol: "grpc-web", body: frame(GARBAGE) },
      { path: WATCH, protocol: "connect-stream", body: frame(GARBAGE) },
      { path: WATCH, protocol: "grpc", body: frame(GARBAGE) },
    ];
    for (const request of cases) {
      const answer = await call(request);
      expect({ ...request, code: answer.code }).toEqual({ ...request, code: Code.InvalidArgument });
    }
    const connect = await call(cases[0] as RawRequest);
    expect(connect.httpStatus).toBe(400);
  });

  test("a Connect GET whose message is not base64, or not a message, is InvalidArgument (400)", async () => {
    for (const query of [
      "encoding=proto&base64=1&message=%25%25%25",
      `encoding=proto&base64=1&message=${encodeURIComponent(base64Encode(GARBAGE))}`,
      "encoding=json&message=%7Bnot%20json",
    ]) {
      const answer = await call({ path: PING, protocol: "connect-get", body: query });
      expect({ query, code: answer.code, httpStatus: answer.httpStatus }).toEqual({
        query,
        code: Code.InvalidArgument,
        httpStatus: 400,
      });
    }
    const valid = await call({
      path: PING,
      protocol: "connect-get",
      body: `encoding=proto&base64=1&message=${encodeURIComponent(base64Encode(ping, "url"))}`,
    });
    expect(valid.code).toBe("ok");
  });

  test("compressed data that does not decompress is InvalidArgument", async () => {
    const truncated = gzipSync(ping).subarray(0, 12);
    const cases: RawRequest[] = [
      { path: PING, protocol: "connect", body: truncated, headers: { "content-encoding": "gzip" } },
      { path: PING, protocol: "connect", body: GARBAGE, headers: { "content-encoding": "gzip" } },
      {
        path: PING,
        protocol: "connect",
        body: new TextEncoder().encode('{"message":'),
        contentType: "application/json",
        headers: { "content-encoding": "gzip" },
      },
      { path: PING, protocol: "grpc", body: frame(truncated, 1), headers: { "grpc-encoding": "gzip" } },
      // The compressed flag with no encoding named.
      { path: PING, protocol: "grpc", body: frame(gzipSync(ping), 1) },
      {
        path: PING,
        protocol: "grpc-web",
        body: frame(gzipSync(GARBAGE), 1),
        headers: { "grpc-encoding": "gzip" },
      },
    ];
    for (const request of cases) {
      const answer = await call(request);
      expect({ ...request, code: answer.code }).toEqual({ ...request, code: Code.InvalidArgument });
    }
  });

  test("valid bodies still pass in every protocol, compressed or not, in one chunk or many", async () => {
    const check = create(HealthCheckRequestSchema, { service: "" });
    const cases: RawRequest[] = [
      { path: PING, protocol: "connect", body: ping },
      { path: PING, protocol: "connect", body: gzipSync(ping), headers: { "content-encoding": "gzip" } },
      { path: PING, protocol: "grpc", body: frame(ping) },
      { path: PING, protocol: "grpc", body: frame(gzipSync(ping), 1), headers: { "grpc-encoding": "gzip" } },
      { path: PING, protocol: "grpc-web", body: frame(ping) },
      {
        path: "/grpc.health.v1.Health/Check",
        protocol: "grpc",
        body: frame(toBinary(HealthCheckRequestSchema, check)),
      },
    ];
    for (const request of cases) {
      const answer = await call(request);
      expect({ ...request, code: answer.code, message: answer.message }).toEqual({
        ...request,
        code: "ok",
        message: "",
      });
    }
  });

  test("an oversized frame is still refused by connect's own limit", async () => {
    const header = frame(new Uint8Array(0));
    new DataView(header.buffer).setUint32(1, 64 * 1024 * 1024);
    const answer = await call({ path: PING, protocol: "grpc", body: header });
    expect(answer.code).toBe(Code.ResourceExhausted);
  });
});
