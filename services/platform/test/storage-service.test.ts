import { mkdtemp, rm } from "node:fs/promises";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "@consorcio/gen/grpc/health/v1/health_pb.js";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { ConfigError, loadConfig } from "../src/config.ts";
import { LOCAL_S3_CREDENTIALS, type LocalS3, startLocalS3 } from "../src/local-s3.ts";
import { s3Settings } from "../src/storage.ts";
import { startTestS3 } from "../src/testing.ts";
import { startWidgetHarness, type WidgetHarness } from "./support.ts";

describe("a service with S3 settings", () => {
  let s3: Awaited<ReturnType<typeof startTestS3>>;
  let harness: WidgetHarness;
  beforeAll(async () => {
    s3 = await startTestS3();
    harness = await startWidgetHarness(s3.env);
  });
  afterAll(async () => {
    await harness?.stop();
    await s3?.close().catch(() => undefined);
  });

  test("gets context.storage on its own bucket, created at start, and a storage health entry", async () => {
    const storage = harness.service.context.storage;
    expect(storage?.bucket).toBe("consorcio-platformtest");
    expect(await storage?.healthy()).toBe(true);
    await storage?.put("ola.txt", "olá", { contentType: "text/plain" });
    expect((await storage?.head("ola.txt"))?.contentType).toBe("text/plain");

    const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
    expect((await health.check({ service: "storage" })).status).toBe(Status.SERVING);
    expect(Object.keys((await health.list({})).statuses)).toContain("storage");
  });

  test("storage down is reported on its own and does not make the service unready", async () => {
    await s3.close();
    const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
    expect((await health.check({ service: "storage" })).status).toBe(Status.NOT_SERVING);
    expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
  });
});

describe("a service whose S3 server is down at start", () => {
  test("starts, reports storage NOT_SERVING, and creates its bucket on the first put once the server is up", async () => {
    const port = await freePort();
    const directory = await mkdtemp(join(tmpdir(), "consorcio-s3-late-"));
    const harness = await startWidgetHarness({
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_ACCESS_KEY: LOCAL_S3_CREDENTIALS.accessKey,
      S3_SECRET_KEY: LOCAL_S3_CREDENTIALS.secretKey,
    });
    let s3: LocalS3 | undefined;
    try {
      const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
      expect((await health.check({ service: "" })).status).toBe(Status.SERVING);
      expect((await health.check({ service: "storage" })).status).toBe(Status.NOT_SERVING);
      const storage = harness.service.context.storage;
      await expect(storage?.put("cedo.txt", "x")).rejects.toThrow();

      s3 = await startLocalS3({ directory, port });
      await storage?.put("depois.txt", "y");
      expect(await storage?.exists("depois.txt")).toBe(true);
      expect((await health.check({ service: "storage" })).status).toBe(Status.SERVING);
    } finally {
      await harness.stop();
      await s3?.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("a service without S3 settings", () => {
  test("has no storage and no storage health entry", async () => {
    const harness = await startWidgetHarness();
    try {
      expect(harness.service.context.storage).toBeUndefined();
      const health = createClient(Health, createGrpcTransport({ baseUrl: harness.service.url }));
      await expect(health.check({ service: "storage" })).rejects.toMatchObject({ code: Code.NotFound });
    } finally {
      await harness.stop();
    }
  });
});

describe("S3 settings", () => {
  const base = { DATABASE_URL: "postgres://u@127.0.0.1/db", PORT: "1" };

  test("the bucket defaults per service; the region to us-east-1", () => {
    const config = loadConfig("documentos", {
      ...base,
      S3_ENDPOINT: "http://127.0.0.1:7090",
      S3_ACCESS_KEY: "a",
      S3_SECRET_KEY: "b",
    });
    expect(s3Settings(config)).toMatchObject({ bucket: "consorcio-documentos", region: "us-east-1" });
    expect(
      s3Settings(
        loadConfig("documentos", {
          ...base,
          S3_ENDPOINT: "http://m:9000",
          S3_ACCESS_KEY: "a",
          S3_SECRET_KEY: "b",
          S3_BUCKET: "docs",
        }),
      )?.bucket,
    ).toBe("docs");
    expect(s3Settings(loadConfig("documentos", base))).toBeUndefined();
    const withPublic = s3Settings(
      loadConfig("documentos", {
        ...base,
        S3_ENDPOINT: "http://minio:9000",
        S3_PUBLIC_ENDPOINT: "https://arquivos.example.com",
        S3_ACCESS_KEY: "a",
        S3_SECRET_KEY: "b",
      }),
    );
    expect(withPublic?.publicEndpoint?.href).toBe("https://arquivos.example.com/");
  });

  test("an endpoint without keys, a bad endpoint or bucket stop the start with a clear message", () => {
    expect(() =>
      s3Settings(loadConfig("documentos", { ...base, S3_ENDPOINT: "http://127.0.0.1:7090" })),
    ).toThrow(/S3_ACCESS_KEY: required with S3_ENDPOINT[\s\S]*S3_SECRET_KEY: required/);
    expect(() => loadConfig("documentos", { ...base, S3_ENDPOINT: "ftp://x" })).toThrow(ConfigError);
    expect(() => loadConfig("documentos", { ...base, S3_BUCKET: "Not_A_Bucket" })).toThrow(/S3_BUCKET/);
  });
});
