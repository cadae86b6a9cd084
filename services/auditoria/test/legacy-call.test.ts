// Call records published before `result` became an enum (a status name in field 8) may still
// be waiting in a queue: they are read with the outcome they had.
import { createRegistry, fromJson, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { expect, describe as suite, test } from "vitest";
import { decodeCall, describe } from "../src/app/audit-log.ts";

/** A record as the platform published it with `string result = 8`. */
function legacyCall(result: string): Uint8Array {
  return new BinaryWriter()
    .tag(1, 2)
    .string("consorciados")
    .tag(2, 2)
    .string("consorcio.consorciados.v1.ConsorciadoService/GetConsorciado")
    .tag(5, 2)
    .string("alvo-1")
    .tag(8, 2)
    .string(result)
    .finish();
}

suite("a call record in the old encoding", () => {
  test("keeps its outcome: the status name becomes the code", () => {
    expect(decodeCall(legacyCall("NOT_FOUND")).result).toBe(RpcCode.NOT_FOUND);
    expect(decodeCall(legacyCall("PERMISSION_DENIED")).result).toBe(RpcCode.PERMISSION_DENIED);
    expect(decodeCall(legacyCall("OK")).result).toBe(RpcCode.OK);
  });

  test("a name no code has reads UNKNOWN, never OK", () => {
    expect(decodeCall(legacyCall("ALGO_ESTRANHO")).result).toBe(RpcCode.UNKNOWN);
  });

  test("is stored under the legacy type with the code's name and no unknown field", () => {
    const entry = describe(
      {
        id: "m-1",
        type: "consorcio.auditoria.v1.ChamadaRegistrada",
        body: legacyCall("INVALID_ARGUMENT"),
        headers: {},
        timestamp: new Date("2026-01-01T00:00:00Z"),
      } as Parameters<typeof describe>[0],
      createRegistry(),
    );
    expect(entry).toMatchObject({ kind: "CALL", subject: "alvo-1" });
    const payload = JSON.parse(entry.payloadJson);
    expect(payload).toMatchObject({ service: "consorciados", result: "INVALID_ARGUMENT" });
    // The stored JSON is the new contract's: it reads back, and into the same bytes as a new record.
    const read = fromJson(ChamadaRegistradaSchema, payload);
    expect(toBinary(ChamadaRegistradaSchema, read)).toEqual(
      toBinary(ChamadaRegistradaSchema, decodeCall(legacyCall("INVALID_ARGUMENT"))),
    );
  });

  test("a record in the new encoding is read as it is", () => {
    const body = toBinary(
      ChamadaRegistradaSchema,
      fromJson(ChamadaRegistradaSchema, { method: "x", result: "ABORTED" }),
    );
    expect(decodeCall(body).result).toBe(RpcCode.ABORTED);
  });
});
