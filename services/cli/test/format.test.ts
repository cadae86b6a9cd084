// The CLI's pure parts: money in and out (bigint centavos, never floats), enum names, errors.

import { create } from "@bufbuild/protobuf";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError } from "@connectrpc/connect";
import { GrupoStatus, GrupoStatusSchema } from "@consorcio/gen/consorcio/grupos/v1/grupo_pb.js";
import { BadRequestSchema } from "@consorcio/gen/google/rpc/error_details_pb.js";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { serviceUrl } from "../src/config.ts";
import { CliError, exitCodeOf, formatError, UsageError } from "../src/errors.ts";
import { enumValue, parseReais } from "../src/input.ts";
import { enumName, reais } from "../src/output.ts";

describe("money", () => {
  test("reais prints centavos the Brazilian way", () => {
    expect(reais(0n)).toBe("R$ 0,00");
    expect(reais(5n)).toBe("R$ 0,05");
    expect(reais(123456789n)).toBe("R$ 1.234.567,89");
    expect(reais(-100n)).toBe("-R$ 1,00");
  });

  test("parseReais reads what reais prints, exactly, for any amount", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (centavos) => {
        const printed = reais(centavos).replace("R$ ", "").replaceAll(".", "");
        expect(parseReais(printed, "--preco")).toBe(centavos);
      }),
    );
    expect(parseReais("300000", "--preco")).toBe(30_000_000n);
    expect(parseReais("0.1", "--preco")).toBe(10n);
    expect(() => parseReais("1.234,56", "--preco")).toThrow(UsageError);
    expect(() => parseReais("12.345", "--preco")).toThrow(UsageError);
  });
});

test("enum values by short or full name, and back", () => {
  expect(enumValue(GrupoStatusSchema, "ativo", "--status")).toBe(GrupoStatus.ATIVO);
  expect(enumValue(GrupoStatusSchema, "GRUPO_STATUS_ATIVO", "--status")).toBe(GrupoStatus.ATIVO);
  expect(() => enumValue(GrupoStatusSchema, "UNSPECIFIED", "--status")).toThrow(UsageError);
  expect(enumName(GrupoStatusSchema, GrupoStatus.EM_ENCERRAMENTO)).toBe("EM_ENCERRAMENTO");
});

describe("errors", () => {
  test("a ConnectError with violations is one line listing each field; exit 1", () => {
    const violations = create(ViolationsSchema, {
      violations: [
        {
          field: {
            elements: [
              { fieldName: "extracao" },
              { fieldName: "premios", subscript: { case: "index", value: 2n } },
            ],
          },
          message: "must be 5 digits",
        },
        { field: { elements: [{ fieldName: "id" }] }, message: "must be a UUID" },
      ],
    });
    const error = new ConnectError(
      "extracao.premios[2]: must be 5 digits, and 1 more violation",
      Code.InvalidArgument,
      undefined,
      [{ desc: ViolationsSchema, value: violations }],
    );
    expect(formatError(error)).toBe(
      "error: invalid_argument: extracao.premios[2]: must be 5 digits; id: must be a UUID",
    );
    expect(exitCodeOf(error)).toBe(1);
  });

  test("google.rpc.BadRequest field violations are listed after a message that does not repeat them", () => {
    const error = new ConnectError("parâmetros do grupo inválidos", Code.InvalidArgument, undefined, [
      {
        desc: BadRequestSchema,
        value: create(BadRequestSchema, {
          fieldViolations: [{ field: "grupo.percentuais_fundo_comum", description: "must sum to 100" }],
        }),
      },
    ]);
    expect(formatError(error)).toBe(
      "error: invalid_argument: parâmetros do grupo inválidos [grupo.percentuais_fundo_comum: must sum to 100]",
    );
  });

  test("a plain status keeps its message; our own errors, also wrapped by Connect, keep theirs", () => {
    expect(formatError(new ConnectError("grupo not found", Code.NotFound))).toBe(
      "error: not_found: grupo not found",
    );
    expect(formatError(new ConnectError("a\n  b", Code.FailedPrecondition))).toBe(
      "error: failed_precondition: a b",
    );
    const wrapped = ConnectError.from(new CliError("not logged in"));
    expect(formatError(wrapped)).toBe("error: not logged in");
    expect(exitCodeOf(ConnectError.from(new UsageError("bad")))).toBe(2);
  });
});

test("addresses: flag, then <SERVICE>_URL, then the catalog port shifted by CONSORCIO_PORT_OFFSET", () => {
  expect(serviceUrl("grupos", { urlGrupos: "http://h:1" }, { GRUPOS_URL: "http://e:2" })).toBe("http://h:1");
  expect(serviceUrl("grupos", {}, { GRUPOS_URL: "http://e:2" })).toBe("http://e:2");
  expect(serviceUrl("grupos", {}, { CONSORCIO_PORT_OFFSET: "100" })).toBe("http://127.0.0.1:7103");
  expect(serviceUrl("financeiro", {}, {})).toBe("http://127.0.0.1:7004");
});
