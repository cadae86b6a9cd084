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
    const expected = createHash("sha256");
    for await (const chunk of patternStream(size) as AsyncIterable<Buffer>) expected.update(chunk);
    const sha256 = expected.digest("hex");

    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    try {
      // Generated as it is read: never a 200 MB buffer.
      const put = await storage.put("grande.bin", patternStream(size));
      expect(put).toMatchObject({ size, sha256 });
      const { object, body } = await storage.get("grande.bin");
      expect(object).toMatchObject({ size, sha256 });
      const read = createHash("sha256");
      let bytes = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        read.update(chunk);
        bytes += chunk.length;
      }
      expect(bytes).toBe(size);
      expect(read.digest("hex")).toBe(sha256);
    } finally {
      clearInterval(sampler);
    }
    const grewMb = (peak - before) / 1024 / 1024;
    console.log(
      `200 MB put+get: RSS before ${Math.round(before / 1048576)} MB, peak +${grewMb.toFixed(1)} MB`,
    );
    expect(grewMb).toBeLessThan(150);
    await storage.delete("grande.bin");
  });
});

// After the streaming test, so that it starts from a process the other tests have not grown.
storageConformance("s3rver", settings, (bucket) => openMinioStorage({ ...settings(), bucket }, logger));
