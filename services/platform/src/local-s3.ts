// An S3-compatible server on local disk (s3rver), for `npm start` and the tests; never production.
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";

/** s3rver accepts only these credentials. */
export const LOCAL_S3_CREDENTIALS = { accessKey: "S3RVER", secretKey: "S3RVER" } as const;

/** Far from MinIO's 9000, which a real server may hold on the machine. */
export const LOCAL_S3_PORT = 7090;

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  /** Path-style URLs only: bucket names are never taken from the host. */
  vhostBuckets: boolean;
}) => S3rverInstance;

const S3rver = createRequire(import.meta.url)("@20minutes/s3rver") as S3rverConstructor;

export interface LocalS3 {
  /** S3_ENDPOINT, S3_ACCESS_KEY and S3_SECRET_KEY for a service. */
  env: Record<string, string>;
  port: number;
  close(): Promise<void>;
}

export async function startLocalS3(options: {
  directory: string;
  port?: number;
  host?: string;
}): Promise<LocalS3> {
  const host = options.host ?? "127.0.0.1";
  const server = new S3rver({
    address: host,
    port: options.port ?? LOCAL_S3_PORT,
    directory: options.directory,
    silent: true,
    vhostBuckets: false,
  });
  const { port } = await server.run();
  return {
    env: {
      S3_ENDPOINT: `http://${host}:${port}`,
      S3_ACCESS_KEY: LOCAL_S3_CREDENTIALS.accessKey,
      S3_SECRET_KEY: LOCAL_S3_CREDENTIALS.secretKey,
    },
    port,
    close: () => server.close(),
  };
}
