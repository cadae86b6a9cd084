import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createLogger } from "../src/logging.ts";
import { openMinioStorage, type S3Settings } from "../src/storage.ts";
import { startTestS3 } from "../src/testing.ts";
import { patternStream, storageConformance } from "./storage-conformance.ts";

const logger = createLogger({ service: "test", level: "silent" });
let s3: Awaited<ReturnType<typeof startTestS3>>;
const settings = (): Omit<S3Settings, "bucket"> => ({
  endpoint: new URL(s3.env.S3_ENDPOINT as string),
  accessKey: s3.env.S3_ACCESS_KEY as string,
  secretKey: s3.env.S3_SECRET_KEY as string,
  region: "us-east-1",
});

beforeAll(async () => {
  s3 = await startTestS3();
});
afterAll(async () => {
  await s3.close();
});

describe("streaming", () => {
  test("200 MB go through put and get while the process grows by less than 150 MB", async () => {
    const size = 200 * 1024 * 1024;
    const storage = await openMinioStorage({ ...settings(), bucket: "consorcio-streaming" }, logger);
    const hashOf = async (body: AsyncIterable<Buffer>) => {
      const hash = createHash("sha256");
      let bytes = 0;
      for await (const chunk of body) {
        hash.update(chunk);
        bytes += chunk.length;
      }
      return { sha256: hash.digest("hex"), bytes };
    };

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let put: Awaited<ReturnType<typeof storage.put>>;
    let got: { sha256: string; size: number };
    let read: { sha256: string; bytes: number };
    try {
      // Generated as it is read: never a 200 MB buffer.
      put = await storage.put("grande.bin", patternStream(size));
      const { object, body } = await storage.get("grande.bin");
      got = object;
      read = await hashOf(body as AsyncIterable<Buffer>);
    } finally {
      clearInterval(sampler);
    }
    const grewMb = (peak - before) / 1024 / 1024;
    console.log(
      `200 MB put+get: RSS before ${Math.round(before / 1048576)} MB, peak +${grewMb.toFixed(1)} MB`,
    );
    expect(grewMb).toBeLessThan(150);

    // The hash of what was generated, computed only now so as not to grow the process before.
    const expected = await hashOf(patternStream(size) as AsyncIterable<Buffer>);
    expect(expected.bytes).toBe(size);
    expect(put).toMatchObject({ size, sha256: expected.sha256 });
    expect(got).toMatchObject({ size, sha256: expected.sha256 });
    expect(read).toEqual(expected);
    await storage.delete("grande.bin");
  });
});

describe("public endpoint", () => {
  test("presigned URLs name S3_PUBLIC_ENDPOINT, where outside clients reach the server", async () => {
    const inside = settings();
    const outside = new URL(inside.endpoint);
    outside.hostname = "localhost";
    const storage = await openMinioStorage(
      { ...inside, publicEndpoint: outside, bucket: "consorcio-public" },
      logger,
    );
    await storage.put("recibo.txt", "pago", { contentType: "text/plain" });
    const url = await storage.presignedGetUrl("recibo.txt", 60);
    expect(url.startsWith(`http://localhost:${outside.port}/consorcio-public/recibo.txt?`)).toBe(true);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("pago");
  });
});

// After the streaming test, so that it starts from a process the other tests have not grown.
storageConformance("s3rver", settings, (bucket) => openMinioStorage({ ...settings(), bucket }, logger));
