// Bare JWT verification with jose, the library the platform verifies tokens with: `jwtVerify` of one
// identidade access token against a local key set (identidade's JWKS, fetched once by the parent).
// BENCH_TOKEN, BENCH_JWKS, BENCH_ISSUER and BENCH_AUDIENCE say what; BENCH_LOOP how long.
import { createLocalJWKSet, type JSONWebKeySet, jwtVerify } from "jose";
import { serveChild } from "../lib/child.ts";
import { type LoopInfo, loopLimitsFromEnv, timeLoop } from "../lib/loop.ts";

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const token = required("BENCH_TOKEN");
const keys = createLocalJWKSet(JSON.parse(required("BENCH_JWKS")) as JSONWebKeySet);
const options = {
  issuer: required("BENCH_ISSUER"),
  audience: required("BENCH_AUDIENCE"),
  algorithms: ["EdDSA"],
};
const limits = loopLimitsFromEnv();
const operation = async () => (await jwtVerify(token, keys, options)).payload.sub !== undefined;
const warmup = await timeLoop(operation, limits.warmup);
const run = await timeLoop(operation, limits.run);
serveChild({ warmup, run } satisfies LoopInfo);
