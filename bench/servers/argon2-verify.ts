// Bare argon2id verification, as identidade does it for every login: @node-rs/argon2's async
// `verify()` (libuv thread pool) of a hash made with identidade's parameters (`hash(pw, {algorithm: 2})`,
// the library's defaults otherwise). Times the loop given in BENCH_LOOP and reports it as its ready info.
import { hash, verify } from "@node-rs/argon2";
import { serveChild } from "../lib/child.ts";
import { type LoopInfo, loopLimitsFromEnv, timeLoop } from "../lib/loop.ts";

/** Argon2id, as identidade's `hashSecret` (auth.ts: `ARGON2ID = 2`). */
const ARGON2ID = 2;
const password = "senha-do-admin-123";
const encoded = await hash(password, { algorithm: ARGON2ID });
const limits = loopLimitsFromEnv();
const operation = () => verify(encoded, password);
const warmup = await timeLoop(operation, limits.warmup);
const run = await timeLoop(operation, limits.run);
serveChild({ warmup, run } satisfies LoopInfo);
