import { execFile } from "node:child_process";
import { createServer, type Server } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Role } from "@consorcio/gen/consorcio/auth/v1/policy_pb.js";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestDatabase, startTestService } from "../src/testing.ts";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";
import { widgetService } from "./widget-service.ts";

const root = fileURLToPath(new URL("../../..", import.meta.url));
const run = promisify(execFile);

describe("what off-the-shelf gRPC clients see", () => {
  let harness: WidgetHarness;
  let operador: string;
  beforeAll(async () => {
    harness = await startWidgetHarness();
    operador = await harness.issuer.token({ roles: [Role.OPERADOR] });
  });
  afterAll(() => harness.stop());

  test("reflection lists grpc.health.v1.Health, and buf curl calls it through reflection", async () => {
    const args = ["buf", "curl", "--protocol", "grpc", "--http2-prior-knowledge"];
    const { stdout } = await run("npx", [...args, "--list-services", harness.service.url], { cwd: root });
    expect(stdout.split("\n")).toEqual(
      expect.arrayContaining([
        "consorcio.platformtest.v1.WidgetService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
      ]),
    );
    const check = await run(
      "npx",
      [...args, "-d", "{}", `${harness.service.url}/grpc.health.v1.Health/Check`],
      {
        cwd: root,
      },
    );
    expect(JSON.parse(check.stdout)).toEqual({ status: "SERVING" });
  });

  test("a @grpc/grpc-js client reads error messages as they were written (no percent-encoding)", async () => {
    const definition = await protoLoader.load("consorcio/platformtest/v1/widget_service.proto", {
      includeDirs: [`${root}services/platform/test/proto`, `${root}proto`, `${root}third_party/proto`],
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
    const error = await new Promise<grpc.ServiceError>((resolve) =>
      client.CreateWidget?.({ name: "é" }, metadata, (failure: grpc.ServiceError) => resolve(failure)),
    );
    client.close();
    // connect-node's encodeURIComponent made this "name%3A must…": grpc-js decodes with decodeURI.
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error.details).toBe("name: must be at least 3 characters [string.min_len]");
  });
});

test("a port held by something else fails the start with one line naming the port and what to do", async () => {
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const port = (holder.address() as { port: number }).port;
  const db = await createTestDatabase(widgetService.name);
  try {
    const failure = await startTestService(widgetService, { PORT: String(port) }, { db }).then(
      () => undefined,
      (error: Error) => error,
    );
    expect(failure?.message).toBe(
      `port ${port} is already in use on 127.0.0.1:${port}: stop what holds it (\`ss -ltnp 'sport = :${port}'\` shows it) or set PORT to another port`,
    );
  } finally {
    holder.close();
    await db.drop();
  }
});
