import { createHash, type Hash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { pipeline, Readable, Transform, type TransformCallback } from "node:stream";
import { Code } from "@connectrpc/connect";
import { Client, CopyDestinationOptions, CopySourceOptions } from "minio";
import { uuidv7 } from "uuidv7";
import { ConfigError, type PlatformConfig } from "./config.ts";
import { DomainError, InvalidArgumentError, NotFoundError } from "./errors.ts";
import type { Logger } from "./logging.ts";

/** What the store keeps about an object beside its bytes. */
export interface StoredObject {
  key: string;
  size: number;
  /** SHA-256 of the content, hex, computed while it streamed in. */
  sha256: string;
  contentType: string;
  lastModified: Date;
}

export interface PutOptions {
  /** Defaults to application/octet-stream. */
  contentType?: string;
  /** When known; a body of another length is refused. */
  size?: number;
}

/**
 * Objects by key in one bucket (documents, reports). Bodies stream both ways: nothing holds
 * a whole object in memory. Keys are chosen by the service, never taken raw from a client.
 */
export interface ObjectStorage {
  readonly bucket: string;
  /** Writes (or replaces) the object; readers see the old or the new one, never a partial one. */
  put(key: string, body: Readable | Uint8Array | string, options?: PutOptions): Promise<StoredObject>;
  /** NotFound when missing. The body fails at its end if its bytes do not match the stored hash. */
  get(key: string): Promise<{ object: StoredObject; body: Readable }>;
  /** NotFound when missing. */
  head(key: string): Promise<StoredObject>;
  exists(key: string): Promise<boolean>;
  /** Deleting a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** A URL anyone holding it may GET for `expiresInSeconds` (1 s to 7 days). */
  presignedGetUrl(key: string, expiresInSeconds: number): Promise<string>;
  healthy(): Promise<boolean>;
}

export class StorageObjectNotFoundError extends NotFoundError {}

/** The store returned other bytes than were written (their hash differs): DataLoss. */
export class StorageIntegrityError extends DomainError {
  constructor(message: string) {
    super(Code.DataLoss, message);
  }
}

export interface S3Settings {
  endpoint: URL;
  /** Where presigned URLs point (the address outside clients reach); defaults to `endpoint`. */
  publicEndpoint?: URL;
  accessKey: string;
  secretKey: string;
  bucket: string;
  region: string;
}

/**
 * The service's S3 settings, or undefined without S3_ENDPOINT (the service then has no storage).
 * The bucket defaults to `consorcio-<service>`.
 */
export function s3Settings(config: PlatformConfig): S3Settings | undefined {
  if (!config.S3_ENDPOINT) return undefined;
  const missing = (["S3_ACCESS_KEY", "S3_SECRET_KEY"] as const).filter((name) => !config[name]);
  if (missing.length > 0)
    throw new ConfigError(
      `invalid configuration for ${config.service}:\n${missing.map((name) => `  ${name}: required with S3_ENDPOINT`).join("\n")}`,
    );
  return {
    endpoint: new URL(config.S3_ENDPOINT),
    ...(config.S3_PUBLIC_ENDPOINT ? { publicEndpoint: new URL(config.S3_PUBLIC_ENDPOINT) } : {}),
    accessKey: config.S3_ACCESS_KEY as string,
    secretKey: config.S3_SECRET_KEY as string,
    bucket: config.S3_BUCKET ?? defaultBucket(config.service),
    region: config.S3_REGION,
  };
}

export function defaultBucket(service: string): string {
  return `consorcio-${service.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`.slice(0, 63);
}

/** Staged uploads live here until copied to their key (so a failed put leaves the old object). */
const STAGING_PREFIX = ".staging/";
export const MAX_KEY_BYTES = 1024;
const MAX_CONTENT_TYPE_LENGTH = 255;
/** Multipart parts of this size: about the most a put holds in memory. */
const PART_SIZE = 8 * 1024 * 1024;
/** S3's limit of one copy, which a large put ends with. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
const HASH_META = "sha256";
const START_WAIT_MS = 5_000;

/** InvalidArgument unless `key` is a plain relative path: no `.`/`..` segment, NUL, control characters or backslash. */
export function validateKey(key: string): void {
  const problem = keyProblem(key);
  if (problem) throw new InvalidArgumentError([{ field: "key", message: problem, ruleId: "storage.key" }]);
}

function keyProblem(key: string): string | undefined {
  if (typeof key !== "string" || key.length === 0) return "must not be empty";
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) return `must be at most ${MAX_KEY_BYTES} bytes`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
  if (/[\u0000-\u001f\u007f\\]/.test(key)) return "must not contain NUL, control characters or backslashes";
  if (key.startsWith(STAGING_PREFIX)) return "is reserved";
  const segments = key.split("/");
  if (segments.some((segment) => segment === "" || segment === "." || segment === ".."))
    return "must be a relative path without empty, '.' or '..' segments";
  if (!key.isWellFormed()) return "must be valid Unicode";
  return undefined;
}

function checkContentType(contentType: string): void {
  if (
    contentType.length > MAX_CONTENT_TYPE_LENGTH ||
    !/^[\w.+-]+\/[\w.+-]+(\s*;[\x20-\x7e]*)?$/.test(contentType)
  )
    throw new InvalidArgumentError([
      { field: "contentType", message: "must be a media type", ruleId: "storage.content_type" },
    ]);
}

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === "NoSuchKey" || code === "NotFound";
}

/** Passes the bytes through and fails at the end unless their SHA-256 is `expected`. */
class HashCheck extends Transform {
  readonly #hash = createHash("sha256");
  readonly #expected: string;
  constructor(expected: string) {
    super();
    this.#expected = expected;
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    callback(null, chunk);
  }
  override _flush(callback: TransformCallback): void {
    const actual = this.#hash.digest("hex");
    callback(
      actual === this.#expected ? null : new StorageIntegrityError("stored object does not match its hash"),
    );
  }
}

/**
 * The body in parts of PART_SIZE bytes (the last one shorter), hashing as it goes; refuses a
 * body longer than MAX_OBJECT_BYTES or of another length than `size`. A body of one part is
 * gathered as it comes; a larger one goes through two buffers taking turns, so a part stays
 * valid until the one after the next is asked for (the caller has uploaded it by then).
 */
async function* readParts(source: Readable, hash: Hash, size: number | undefined): AsyncGenerator<Buffer> {
  const limit = Math.min(size ?? MAX_OBJECT_BYTES, MAX_OBJECT_BYTES);
  let pending: Buffer[] = [];
  let current: Buffer | undefined;
  let spare: Buffer | undefined;
  let filled = 0;
  let total = 0;
  for await (const chunk of source as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    total += bytes.length;
    if (total > limit)
      throw new InvalidArgumentError([
        {
          field: "body",
          message:
            size === undefined ? `larger than ${MAX_OBJECT_BYTES} bytes` : `longer than its size ${size}`,
        },
      ]);
    hash.update(bytes);
    if (!current) {
      if (filled + bytes.length < PART_SIZE) {
        pending.push(bytes);
        filled += bytes.length;
        continue;
      }
      current = Buffer.allocUnsafe(PART_SIZE);
      spare = Buffer.allocUnsafe(PART_SIZE);
      filled = 0;
      for (const earlier of pending) filled += earlier.copy(current, filled);
      pending = [];
    }
    for (let offset = 0; offset < bytes.length; ) {
      const copied = bytes.copy(current, filled, offset);
      offset += copied;
      filled += copied;
      if (filled === PART_SIZE) {
        yield current;
        [current, spare] = [spare as Buffer, current];
        filled = 0;
      }
    }
  }
  if (size !== undefined && total !== size)
    throw new InvalidArgumentError([{ field: "body", message: `shorter than its size ${size}` }]);
  if (!current) yield Buffer.concat(pending, filled);
  else if (filled > 0) yield current.subarray(0, filled);
}

export async function openMinioStorage(settings: S3Settings, logger: Logger): Promise<ObjectStorage> {
  const { bucket } = settings;
  const client = newClient(settings, settings.endpoint);
  // Signing needs no request (the region is given), so it may name a host this process cannot reach.
  const signer = settings.publicEndpoint ? newClient(settings, settings.publicEndpoint) : client;
  let bucketReady: Promise<void> | undefined;
  const ensureBucket = () => {
    bucketReady ??= createBucket(client, settings, logger).catch((error) => {
      bucketReady = undefined;
      throw error;
    });
    return bucketReady;
  };
  // A server that does not answer at all must not hold the start-up for long either.
  const unanswered = new Promise((resolve) => setTimeout(resolve, START_WAIT_MS).unref());
  await Promise.race([
    ensureBucket().catch((error) =>
      logger.warn({ err: error, bucket }, "object storage unavailable at start, retrying on first use"),
    ),
    unanswered,
  ]);

  const describe = (
    key: string,
    stat: { size: number; metaData: Record<string, unknown>; lastModified: Date },
  ) => ({
    key,
    size: stat.size,
    sha256: String(stat.metaData[HASH_META] ?? ""),
    contentType: String(stat.metaData["content-type"] ?? "application/octet-stream"),
    lastModified: stat.lastModified,
  });

  /**
   * Multipart, part by part. The hash is known only at the end but metadata goes first, so the
   * parts go to a staged key, copied to `key` with the hash and content type, then removed.
   */
  const putLarge = async (
    key: string,
    contentType: string,
    head: Buffer[],
    rest: AsyncIterator<Buffer>,
    metadata: () => Record<string, string>,
  ) => {
    const staged = `${STAGING_PREFIX}${uuidv7()}`;
    const uploadId = await client.initiateNewMultipartUpload(bucket, staged, { "Content-Type": contentType });
    try {
      const etags: { part: number; etag: string }[] = [];
      const upload = async (part: Buffer) => {
        const partNumber = etags.length + 1;
        const { etag } = await client.uploadPart(
          { bucketName: bucket, objectName: staged, uploadID: uploadId, partNumber, headers: {} },
          part,
        );
        etags.push({ part: partNumber, etag });
      };
      for (const part of head) await upload(part);
      for (let next = await rest.next(); !next.done; next = await rest.next()) await upload(next.value);
      await client.completeMultipartUpload(bucket, staged, uploadId, etags);
    } catch (error) {
      await client.abortMultipartUpload(bucket, staged, uploadId).catch(() => undefined);
      throw error;
    }
    try {
      await client.copyObject(
        new CopySourceOptions({ Bucket: bucket, Object: staged }),
        new CopyDestinationOptions({
          Bucket: bucket,
          Object: key,
          MetadataDirective: "REPLACE",
          Headers: metadata(),
        }),
      );
    } finally {
      await client
        .removeObject(bucket, staged)
        .catch((error) => logger.warn({ err: error, key: staged }, "staged upload not removed"));
    }
  };

  const head = async (key: string): Promise<StoredObject> => {
    validateKey(key);
    try {
      return describe(key, await client.statObject(bucket, key));
    } catch (error) {
      if (isNotFound(error)) throw new StorageObjectNotFoundError(`object ${key} not found`);
      throw error;
    }
  };

  return {
    bucket,

    async put(key, body, options = {}) {
      validateKey(key);
      const contentType = options.contentType ?? "application/octet-stream";
      checkContentType(contentType);
      if (options.size !== undefined && !(Number.isSafeInteger(options.size) && options.size >= 0))
        throw new InvalidArgumentError([{ field: "size", message: "must be a whole number of bytes" }]);
      const source =
        typeof body === "string" || body instanceof Uint8Array ? Readable.from([Buffer.from(body)]) : body;
      const hash = createHash("sha256");
      const blocks = readParts(source, hash, options.size)[Symbol.asyncIterator]();
      // Called once the whole body was read.
      const metadata = () => ({
        "Content-Type": contentType,
        [`X-Amz-Meta-${HASH_META}`]: hash.digest("hex"),
      });
      await ensureBucket();
      try {
        const first = await blocks.next();
        const second = first.done ? first : await blocks.next();
        if (second.done) {
          // One part: the hash is known before sending, so one request with it.
          const part = first.value ?? Buffer.alloc(0);
          await client.putObject(bucket, key, part, part.length, metadata());
        } else {
          await putLarge(key, contentType, [first.value as Buffer, second.value], blocks, metadata);
        }
        return await head(key);
      } finally {
        source.destroy();
      }
    },

    async get(key) {
      validateKey(key);
      let response: IncomingMessage;
      try {
        // minio answers the HTTP response itself: its headers describe exactly these bytes.
        response = (await client.getObject(bucket, key)) as IncomingMessage;
      } catch (error) {
        if (isNotFound(error)) throw new StorageObjectNotFoundError(`object ${key} not found`);
        throw error;
      }
      const headers = response.headers;
      const object: StoredObject = {
        key,
        size: Number(headers["content-length"]),
        sha256: String(headers[`x-amz-meta-${HASH_META}`] ?? ""),
        contentType: headers["content-type"] ?? "application/octet-stream",
        lastModified: new Date(headers["last-modified"] ?? 0),
      };
      // An object written by another tool has no hash to check.
      const body = object.sha256
        ? pipeline(response, new HashCheck(object.sha256), () => undefined)
        : response;
      return { object, body };
    },

    head,

    async exists(key) {
      try {
        await head(key);
        return true;
      } catch (error) {
        if (error instanceof StorageObjectNotFoundError) return false;
        throw error;
      }
    },

    async delete(key) {
      validateKey(key);
      await client.removeObject(bucket, key);
    },

    async presignedGetUrl(key, expiresInSeconds) {
      validateKey(key);
      if (!Number.isInteger(expiresInSeconds) || expiresInSeconds < 1 || expiresInSeconds > 604_800)
        throw new InvalidArgumentError([
          { field: "expiresInSeconds", message: "must be 1 to 604800 seconds" },
        ]);
      return signer.presignedGetObject(bucket, key, expiresInSeconds);
    },

    healthy: () => client.bucketExists(bucket),
  };
}

function newClient(settings: S3Settings, endpoint: URL): Client {
  const useSSL = endpoint.protocol === "https:";
  return new Client({
    endPoint: endpoint.hostname.replace(/^\[|\]$/g, ""),
    port: endpoint.port ? Number(endpoint.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: settings.accessKey,
    secretKey: settings.secretKey,
    region: settings.region,
    pathStyle: true,
    partSize: PART_SIZE,
  });
}

/** Safe to run from several replicas at once. */
async function createBucket(client: Client, settings: S3Settings, logger: Logger): Promise<void> {
  if (await client.bucketExists(settings.bucket)) return;
  try {
    await client.makeBucket(settings.bucket, settings.region);
    logger.info({ bucket: settings.bucket }, "bucket created");
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== "BucketAlreadyOwnedByYou" && code !== "BucketAlreadyExists") throw error;
  }
}
