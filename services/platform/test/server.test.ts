import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { ViolationsSchema } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import { ChamadaRegistradaSchema } from "@consorcio/gen/consorcio/platform/v1/chamada_pb.js";
import { Code as RpcCode } from "@consorcio/gen/google/rpc/code_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "@consorcio/gen/grpc/health/v1/health_pb.js";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { WidgetService } from "./gen/consorcio/platformtest/v1/widget_service_pb.js";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));

describe("the platform's RPC chain", () => {
  let harness: WidgetHarness;
  let operador: string;
  let admin: string;
  let consorciado: string;
  const consorciadoId = randomUUID();

  beforeAll(async () => {
    harness = await startWidgetHarness();
    operador = await harness.issuer.token({ roles: [Role.OPERADOR] });
    admin = await harness.issuer.token({ roles: [Role.ADMIN] });
    consorciado = await harness.issuer.token({ roles: [Role.CONSORCIADO], consorciadoId });
  });
  afterAll(() => harness.stop());

  const connect = (httpVersion: "1.1" | "2" = "2", useBinaryFormat = true) =>
    createClient(
      WidgetService,
      createConnectTransport({ baseUrl: harness.service.url, httpVersion, useBinaryFormat }),
    );
  const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
  const widgetCount = async () =>
    (await harness.db.query("select count(*)::int as n from widget"))[0]?.n as number;

  test("a @grpc/grpc-js client with proto-loader calls it over gRPC", async () => {
    const definition = await protoLoader.load("consorcio/platformtest/v1/widget_service.proto", {
      includeDirs: [`${root}services/platform/test/proto`, `${root}proto`, `${root}third_party/proto`],
      longs: String,
      defaults: true,
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as {
      consorcio: { platformtest: { v1: { WidgetService: grpc.ServiceClientConstructor } } };
    };
    const client = new loaded.consorcio.platformtest.v1.WidgetService(
      `127.0.0.1:${harness.service.port}`,
      grpc.credentials.createInsecure(),
    );
    const metadata = new grpc.Metadata();
    metadata.set("authorization", `Bearer ${operador}`);
    const response = await new Promise<{ widget: { id: string; name: string; amountCentavos: string } }>(
      (resolve, reject) =>
        client.CreateWidget?.(
          { name: "via grpc-js", amountCentavos: "123456789012" },
          metadata,
          (error: unknown, value: never) => (error ? reject(error) : resolve(value)),
        ),
    );
    expect(response.widget.name).toBe("via grpc-js");
    expect(response.widget.amountCentavos).toBe("123456789012");
    const [row] = await harness.db.query("select amount_centavos from widget where id = $1", [
      response.widget.id,
    ]);
    expect(row?.amount_centavos).toBe("123456789012");

    const denied = await new Promise<grpc.ServiceError>((resolve) =>
      client.CreateWidget?.({ name: "no token" }, new grpc.Metadata(), (error: grpc.ServiceError) =>
        resolve(error),
      ),
    );
    expect(denied.code).toBe(grpc.status.UNAUTHENTICATED);
    client.close();
  });

  test("Connect JSON over HTTP/1.1 works with a plain fetch", async () => {
    const response = await fetch(
      `${harness.service.url}/consorcio.platformtest.v1.WidgetService/CreateWidget`,
      {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${operador}` },
        body: JSON.stringify({ name: "via fetch", amountCentavos: "250" }),
      },
    );
    expect(response.status).toBe(200);
    const body = (await response.json()) as { widget: { name: string; amountCentavos: string } };
    expect(body.widget).toMatchObject({ name: "via fetch", amountCentavos: "250" });
    expect(response.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("gRPC-Web, gRPC and Connect binary clients reach the same handler", async () => {
    const transports = {
      grpcWeb: createGrpcWebTransport({ baseUrl: harness.service.url, httpVersion: "1.1" }),
      grpc: createGrpcTransport({ baseUrl: harness.service.url }),
      connect: createConnectTransport({ baseUrl: harness.service.url, httpVersion: "2" }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const client = createClient(WidgetService, transport);
      const { widget } = await client.createWidget(
        { name: `via ${name}`, amountCentavos: 1n },
        bearer(operador),
      );
      const read = await client.getWidget({ id: widget?.id ?? "" }, bearer(operador));
      expect(read.widget?.name).toBe(`via ${name}`);
    }
  });

  test("invalid input is InvalidArgument with field violations, and nothing is written", async () => {
    const before = await widgetCount();
    const error = await connect()
      .createWidget({ name: "ab", amountCentavos: -5n }, bearer(operador))
      .catch((e: unknown) => ConnectError.from(e));
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const [violations] = (error as ConnectError).findDetails(ViolationsSchema);
    const fields = violations?.violations.map((v) => v.field?.elements.map((e) => e.fieldName).join("."));
    expect(fields?.sort()).toEqual(["amount_centavos", "name"]);
    expect(await widgetCount()).toBe(before);
  });

  test("no token is Unauthenticated; a bad token is Unauthenticated", async () => {
    await expect(connect().createWidget({ name: "sem token" })).rejects.toMatchObject({
      code: Code.Unauthenticated,
    });
    const expired = await harness.issuer.token({ roles: [Role.ADMIN], expiresIn: "-1m" });
    const otherAudience = await harness.issuer.token({ roles: [Role.ADMIN], audience: "outro" });
    const otherIssuer = await harness.issuer.token({ roles: [Role.ADMIN], issuer: "outro" });
    for (const token of [expired, otherAudience, otherIssuer, `${admin}x`, "not-a-jwt"]) {
      await expect(connect().createWidget({ name: "token ruim" }, bearer(token))).rejects.toMatchObject({
        code: Code.Unauthenticated,
      });
    }
  });

  test("a role the policy does not name is PermissionDenied", async () => {
    const auditor = await harness.issuer.token({ roles: [Role.AUDITOR] });
    for (const token of [auditor, consorciado]) {
      await expect(connect().createWidget({ name: "sem permissao" }, bearer(token))).rejects.toMatchObject({
        code: Code.PermissionDenied,
      });
    }
  });

  test("a method without a policy is denied to everybody, admins included", async () => {
    for (const options of [bearer(admin), bearer(operador), {}]) {
      await expect(connect().unguarded({}, options)).rejects.toMatchObject({ code: Code.PermissionDenied });
    }
  });

  test("owner-scoped callers reach only their own resources", async () => {
    const mine = await connect().createWidget({ name: "meu", ownerId: consorciadoId }, bearer(operador));
    const theirs = await connect().createWidget({ name: "deles", ownerId: randomUUID() }, bearer(operador));
    const read = await connect().getWidget(
      { id: mine.widget?.id ?? "", ownerId: consorciadoId },
      bearer(consorciado),
    );
    expect(read.widget?.name).toBe("meu");
    // Naming someone else in the owner field is refused by the platform...
    await expect(
      connect().getWidget(
        { id: theirs.widget?.id ?? "", ownerId: theirs.widget?.ownerId ?? "" },
        bearer(consorciado),
      ),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
    // ...and lying about it is refused by the handler's owner scope.
    await expect(
      connect().getWidget({ id: theirs.widget?.id ?? "", ownerId: consorciadoId }, bearer(consorciado)),
    ).rejects.toMatchObject({ code: Code.PermissionDenied });
  });

  test("public methods need no token", async () => {
    expect((await connect("1.1", false).ping({ message: "ola" })).message).toBe("ola");
  });

  test("an unexpected error is Internal and reveals nothing", async () => {
    const error = await connect()
      .explode({}, bearer(admin))
      .then(() => new ConnectError("expected a failure"))
      .catch((e: unknown) => ConnectError.from(e));
    expect(error.code).toBe(Code.Internal);
    expect(error.rawMessage).not.toContain("secret");
    expect(error.rawMessage).toMatch(/^internal error \(request [0-9a-f-]+\)$/);
  });

  test("a retried request with the same request_id returns the first response and writes once", async () => {
    const requestId = randomUUID();
    const before = await widgetCount();
    const first = await connect().createWidget({ name: "idempotente", requestId }, bearer(operador));
    const again = await connect().createWidget({ name: "idempotente", requestId }, bearer(operador));
    expect(again.widget?.id).toBe(first.widget?.id);
    expect(await widgetCount()).toBe(before + 1);
    const widgetEvents =
      "select count(*)::int as n from platform_outbox where event_type like '%WidgetCriado'";
    const outbox = await harness.db.query(widgetEvents);
    await expect(
      connect().createWidget({ name: "outro conteudo", requestId }, bearer(operador)),
    ).rejects.toMatchObject({ code: Code.FailedPrecondition });
    expect((await harness.db.query(widgetEvents))[0]?.n).toBe(outbox[0]?.n);
  });

  test("concurrent retries with one request_id still write once", async () => {
    const requestId = randomUUID();
    const before = await widgetCount();
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        connect().createWidget({ name: "concorrente", requestId }, bearer(operador)),
      ),
    );
    expect(new Set(results.map((r) => r.widget?.id)).size).toBe(1);
    expect(await widgetCount()).toBe(before + 1);
  });

  test("every call to a mutating RPC leaves one audit record, whatever its outcome; reads leave none", async () => {
    const calls = async (target: string) =>
      (
        await harness.db.query("select payload from platform_outbox where event_type = $1", [
          ChamadaRegistradaSchema.typeName,
        ])
      )
        .map((row) => fromBinary(ChamadaRegistradaSchema, row.payload))
        .filter((call) => call.target === target || call.requestId === target);
    const requestId = randomUUID();
    const { widget } = await connect().createWidget({ name: "auditado", requestId }, bearer(operador));
    const [ok] = await calls(requestId);
    expect(ok).toMatchObject({
      service: "platformtest",
      method: "consorcio.platformtest.v1.WidgetService/CreateWidget",
      result: RpcCode.OK,
      requestId,
      actorRoles: [Role.OPERADOR],
    });
    expect(ok?.actor).toBeTruthy();
    // Its record committed with the widget: same transaction, so both or neither.
    expect(await calls(requestId)).toHaveLength(1);

    // A create names its target by the resource it created.
    expect(ok?.target).toBe(widget?.id);
    await connect().getWidget({ id: widget?.id ?? "" }, bearer(operador));
    expect((await calls(widget?.id ?? "")).map((c) => c.method)).toEqual([
      "consorcio.platformtest.v1.WidgetService/CreateWidget",
    ]);

    const denied = randomUUID();
    await connect()
      .createWidget({ name: "negado", requestId: denied }, bearer(consorciado))
      .catch(() => undefined);
    const invalid = randomUUID();
    await connect()
      .createWidget({ name: "x", requestId: invalid }, bearer(operador))
      .catch(() => undefined);
    const anonymous = randomUUID();
    // Refusals before authentication are summed per address; the first from an address is its own record.
    await connect()
      .createWidget({ name: "anonimo", requestId: anonymous }, { headers: { "x-forwarded-for": "10.3.3.3" } })
      .catch(() => undefined);
    expect((await calls(denied)).map((c) => c.result)).toEqual([RpcCode.PERMISSION_DENIED]);
    expect((await calls(invalid)).map((c) => c.result)).toEqual([RpcCode.INVALID_ARGUMENT]);
    expect((await calls(anonymous)).map((c) => [c.result, c.actor])).toEqual([[RpcCode.UNAUTHENTICATED, ""]]);
  });

  test("health reports the real state of database, broker and cache", async () => {
    const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
    for (const service of ["", "consorcio.platformtest.v1.WidgetService", "database", "broker", "cache"]) {
      expect((await health.check({ service })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    }
    await expect(health.check({ service: "nope" })).rejects.toMatchObject({ code: Code.NotFound });
  });

  test("reflection lets buf curl list and describe the services", async () => {
    const run = promisify(execFile);
    const { stdout } = await run(
      "npx",
      [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "--list-services",
        harness.service.url,
      ],
      { cwd: root },
    );
    expect(stdout.split("\n")).toEqual(expect.arrayContaining(["consorcio.platformtest.v1.WidgetService"]));
    const ping = await run(
      "npx",
      [
        "buf",
        "curl",
        "--protocol",
        "grpc",
        "--http2-prior-knowledge",
        "-d",
        '{"message":"refletido"}',
        `${harness.service.url}/consorcio.platformtest.v1.WidgetService/Ping`,
      ],
      { cwd: root },
    );
    expect(JSON.parse(ping.stdout)).toEqual({ message: "refletido" });
  });
});
