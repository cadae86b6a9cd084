import { createHash, randomUUID } from "node:crypto";
import { Readable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { Client } from "minio";
import { afterAll, describe, expect, test } from "vitest";
import { type DomainError, InvalidArgumentError, NotFoundError } from "../src/errors.ts";
import type { ObjectStorage, S3Settings } from "../src/storage.ts";
import { eventually } from "../src/testing.ts";

const sha256 = (data: Buffer | string) => createHash("sha256").update(data).digest("hex");

/** `count` bytes of a pattern repeating every 256 bytes (whatever `chunkSize`, a multiple of 256), made as they are read. */
export function patternStream(count: number, chunkSize = 1 << 20): Readable {
  const chunk = Buffer.alloc(chunkSize);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  let left = count;
  return new Readable({
    read() {
      if (left <= 0) return void this.push(null);
      const next = chunk.subarray(0, Math.min(left, chunk.length));
      left -= next.length;
      this.push(Buffer.from(next));
    },
  });
}

async function hashOf(body: Readable): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}

const HOSTILE_KEYS = [
  "",
  "../escape",
  "a/../../escape",
  "..",
  "./a",
  "/absolute",
  "a//b",
  "trailing/",
  "nul\0byte",
  "line\nbreak",
  "back\\slash",
  ".staging/reserved",
  "k".repeat(1025),
  "é".repeat(513),
];

/**
 * The behaviour every ObjectStorage over S3 must have; run once per server. `open` opens the
 * store on a bucket of the caller's choosing (created by the store when missing).
 */
export function storageConformance(
  name: string,
  settings: () => Omit<S3Settings, "bucket">,
  open: (bucket: string) => Promise<ObjectStorage>,
) {
  describe(`${name} object storage conformance`, () => {
    let storage: ObjectStorage;
    let raw: Client;
    const bucket = `conformance-${randomUUID().slice(0, 8)}`;
    const fresh = async () => {
      storage ??= await open(bucket);
      raw ??= (() => {
        const { endpoint, accessKey, secretKey, region } = settings();
        return new Client({
          endPoint: endpoint.hostname,
          port: Number(endpoint.port),
          useSSL: endpoint.protocol === "https:",
          accessKey,
          secretKey,
          region,
          pathStyle: true,
        });
      })();
      return storage;
    };
    const keys = async (prefix = "") => {
      const found: string[] = [];
      for await (const item of raw.listObjectsV2(bucket, prefix, true)) if (item.name) found.push(item.name);
      return found;
    };
    afterAll(async () => {
      if (!raw) return;
      for (const key of await keys()) await raw.removeObject(bucket, key);
      await raw.removeBucket(bucket);
    });

    test("the bucket is created when missing", async () => {
      const other = `conformance-${randomUUID().slice(0, 8)}`;
      await fresh();
      expect(await raw.bucketExists(other)).toBe(false);
      const store = await open(other);
      expect(await raw.bucketExists(other)).toBe(true);
      expect(await store.healthy()).toBe(true);
      // Opening again (another replica, a restart) is fine.
      await open(other);
      await raw.removeBucket(other);
      expect(await store.healthy()).toBe(false);
    });

    test("put then get and head: the same bytes, their SHA-256 and content type", async () => {
      const store = await fresh();
      const content = `contrato de adesão ${randomUUID()}`;
      const put = await store.put("contratos/a.txt", content, { contentType: "text/plain; charset=utf-8" });
      expect(put).toMatchObject({
        key: "contratos/a.txt",
        size: Buffer.byteLength(content),
        sha256: sha256(content),
        contentType: "text/plain; charset=utf-8",
      });
      expect(await store.head("contratos/a.txt")).toEqual(put);
      expect(await store.exists("contratos/a.txt")).toBe(true);
      const { object, body } = await store.get("contratos/a.txt");
      expect(object).toEqual(put);
      expect(Buffer.concat(await body.toArray()).toString()).toBe(content);
    });

    test("a stream of unknown length spanning several parts round-trips, leaving nothing staged", async () => {
      const store = await fresh();
      const bytes = 20 * 1024 * 1024 + 123;
      const expected = await hashOf(patternStream(bytes));
      const put = await store.put("grandes/20mb.bin", patternStream(bytes, 64 * 1024));
      expect(put).toMatchObject({
        size: bytes,
        sha256: expected.sha256,
        contentType: "application/octet-stream",
      });
      const { object, body } = await store.get("grandes/20mb.bin");
      expect(object.sha256).toBe(expected.sha256);
      expect(await hashOf(body)).toEqual(expected);
      expect(await keys(".staging/")).toEqual([]);
    });

    test("bodies ending exactly on a part boundary (8 and 16 MiB) round-trip", async () => {
      const store = await fresh();
      for (const bytes of [8 * 1024 * 1024, 16 * 1024 * 1024]) {
        const expected = await hashOf(patternStream(bytes));
        expect(await store.put(`limite/${bytes}`, patternStream(bytes, 3 * 65_536))).toMatchObject({
          size: bytes,
          sha256: expected.sha256,
        });
        expect(await hashOf((await store.get(`limite/${bytes}`)).body)).toEqual(expected);
      }
    });

    test("an empty object and a Buffer body", async () => {
      const store = await fresh();
      expect(await store.put("vazio", Buffer.alloc(0))).toMatchObject({ size: 0, sha256: sha256("") });
      expect(Buffer.concat(await (await store.get("vazio")).body.toArray())).toHaveLength(0);
      const data = Buffer.from([0, 1, 2, 255]);
      expect(await store.put("binario", data)).toMatchObject({ size: 4, sha256: sha256(data) });
    });

    test("a missing key is NotFound for get and head; exists says false", async () => {
      const store = await fresh();
      for (const attempt of [() => store.get("nada/aqui"), () => store.head("nada/aqui")]) {
        const error = await attempt().catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(NotFoundError);
        expect((error as DomainError).code).toBe(Code.NotFound);
      }
      expect(await store.exists("nada/aqui")).toBe(false);
    });

    test("overwrite replaces bytes, hash and content type", async () => {
      const store = await fresh();
      await store.put("doc", "primeira versão", { contentType: "text/plain" });
      const second = await store.put("doc", '{"versao":2}', { contentType: "application/json" });
      expect(second).toMatchObject({ sha256: sha256('{"versao":2}'), contentType: "application/json" });
      const { object, body } = await store.get("doc");
      expect(object).toMatchObject({ sha256: second.sha256, contentType: "application/json" });
      expect(Buffer.concat(await body.toArray()).toString()).toBe('{"versao":2}');
    });

    test("a large overwrite that fails midway leaves the previous object", async () => {
      const store = await fresh();
      await store.put("mantido", "anterior");
      const failing = patternStream(12 * 1024 * 1024);
      let sent = 0;
      const broken = new Readable({
        read() {
          const chunk = failing.read() as Buffer | null;
          sent += chunk?.length ?? 0;
          if (sent > 10 * 1024 * 1024) return void this.destroy(new Error("client went away"));
          if (chunk) this.push(chunk);
          else failing.once("readable", () => this.read(0));
        },
      });
      await expect(store.put("mantido", broken)).rejects.toThrow("client went away");
      expect(Buffer.concat(await (await store.get("mantido")).body.toArray()).toString()).toBe("anterior");
      expect(await keys(".staging/")).toEqual([]);
    });

    test("a body of another length than its declared size is refused and not stored", async () => {
      const store = await fresh();
      await expect(store.put("curto", patternStream(10), { size: 11 })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      await expect(store.put("longo", patternStream(12), { size: 11 })).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
      expect(await store.exists("curto")).toBe(false);
      expect(await store.exists("longo")).toBe(false);
    });

    test("delete removes the object; deleting a missing one is fine", async () => {
      const store = await fresh();
      await store.put("apagar", "x");
      await store.delete("apagar");
      expect(await store.exists("apagar")).toBe(false);
      await expect(store.get("apagar")).rejects.toBeInstanceOf(NotFoundError);
      await store.delete("apagar");
    });

    test("a presigned URL serves the object to plain fetch, then expires", async () => {
      const store = await fresh();
      await store.put("boletos/1.pdf", "%PDF-1.7 boleto", { contentType: "application/pdf" });
      const url = await store.presignedGetUrl("boletos/1.pdf", 600);
      const response = await fetch(url);
      expect(response.status).toBe(200);
      expect(response.headers.get("content-type")).toBe("application/pdf");
      expect(await response.text()).toBe("%PDF-1.7 boleto");
      // Tampering with the URL breaks its signature.
      expect((await fetch(url.replace("boletos/1.pdf", "boletos/2.pdf"))).status).toBe(403);

      const shortLived = await store.presignedGetUrl("boletos/1.pdf", 1);
      expect((await fetch(shortLived)).status).toBe(200);
      await eventually(async () => (await fetch(shortLived)).status === 403, 10_000);
      await expect(store.presignedGetUrl("boletos/1.pdf", 0)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(store.presignedGetUrl("boletos/1.pdf", 604_801)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    });

    test("bytes that do not match the stored hash fail the read", async () => {
      const store = await fresh();
      // Written behind the store's back, claiming another content's hash.
      await raw.putObject(bucket, "adulterado", Buffer.from("adulterado"), 10, {
        sha256: sha256("original"),
      });
      const { body } = await store.get("adulterado");
      await expect(body.toArray()).rejects.toMatchObject({
        code: Code.DataLoss,
        message: expect.stringContaining("does not match its hash"),
      });
    });

    test("hostile keys and content types are refused before reaching the server", async () => {
      const store = await fresh();
      const before = await keys();
      for (const key of HOSTILE_KEYS) {
        for (const attempt of [
          () => store.put(key, "x"),
          () => store.get(key),
          () => store.head(key),
          () => store.exists(key),
          () => store.delete(key),
          () => store.presignedGetUrl(key, 60),
        ]) {
          const error = await attempt().then(
            () => undefined,
            (caught: unknown) => caught,
          );
          expect(error, JSON.stringify(key.slice(0, 40))).toBeInstanceOf(InvalidArgumentError);
          expect((error as DomainError).code).toBe(Code.InvalidArgument);
        }
      }
      for (const contentType of ["", "text", "text/plain\r\nx-injected: 1", `a/${"b".repeat(300)}`])
        await expect(store.put("tipo", "x", { contentType })).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(await keys()).toEqual(before);
    });

    test("keys may hold spaces, accents and punctuation", async () => {
      const store = await fresh();
      const key = "consorciados/José da Silva/comprovante (1) + 50%.pdf";
      await store.put(key, "ok");
      expect(Buffer.concat(await (await store.get(key)).body.toArray()).toString()).toBe("ok");
      expect((await fetch(await store.presignedGetUrl(key, 60))).status).toBe(200);
      await store.delete(key);
    });
  });
}
