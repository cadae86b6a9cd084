// identidade: what a login costs, and what verifying its tokens costs another service, each against
// a bare baseline measured in the same run, in its own child process.
// Cases:
//   - bare argon2id verify() (@node-rs/argon2, identidade's parameters), 8 in flight: the baseline of
//     Login, which is dominated by the password hash by design;
//   - Login over Connect binary as admin, 8 in flight (argon2 + Redis rate-limit windows + SQL + a
//     signed token + refresh token + outbox). Each login yields a distinct real access token;
//     more are minted with Refresh for the "fresh token" case below, and that minting is a row too:
//     Refresh issues tokens like Login, minus the argon2 verify;
//   - bare jose jwtVerify() of one identidade access token against identidade's JWKS, 1 in flight:
//     the baseline of token verification;
//   - the widget test service trusting identidade's JWKS (JWKS_URL): Ping (public) without a token,
//     with a distinct token-sized junk header (the control for sending ~600 header bytes per call),
//     with the same token every call, and with a fresh token every call. The platform caches a
//     verified token until it expires (an LRU in auth.ts), so only the fresh-token case verifies
//     a signature per call; the same-token case measures the cache hit. The differences are a few
//     tens of µs on a server whose CPU per call drifts by more than that from one run to the next,
//     so these four cases run in interleaved rounds (see `interleave`);
//   - derived rows: server CPU per call of a token case minus its control, against the bare verify.
import { randomBytes } from "node:crypto";
import type http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  AuthService,
  LoginRequestSchema,
  LoginResponseSchema,
  RefreshRequestSchema,
  RefreshResponseSchema,
} from "@consorcio/gen/consorcio/identidade/v1/auth_service_pb.js";
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, jwtVerify } from "jose";
import {
  GetWidgetRequestSchema,
  GetWidgetResponseSchema,
  PingRequestSchema,
  PingResponseSchema,
  WidgetService,
} from "../services/platform/test/gen/consorcio/platformtest/v1/widget_service_pb.js";
import { type ServerChild, startChild } from "./lib/child.ts";
import { connect, drive, percentile, type Target } from "./lib/load.ts";
import { LOOP_ENV, type LoopInfo, type LoopLimits } from "./lib/loop.ts";
import { measureCase } from "./lib/measure.ts";
import { type BenchOptions, parseBenchArgs, printTable, type Row } from "./lib/report.ts";
import type { IdentidadeInfo } from "./servers/identidade.ts";
import type { WidgetIdentidadeInfo } from "./servers/widget-identidade.ts";

const GROUP = "identidade";
const ARGON2 = "argon2id verify(), bare";
const LOGIN = "Login, Connect binary";
const JOSE = "jose jwtVerify(), bare";
const PING = "widget Ping, no token";
const PING_PADDED = "widget Ping, no token, junk header";
const PING_SAME = "widget Ping + same token";
const PING_FRESH = "widget Ping + fresh token";

/** Logins (and bare argon2 verifies) in flight: the hash saturates the CPUs long before 64 would. */
const LOGIN_CONCURRENCY = 8;
/** Measured logins at most, and warm-up logins at most (each costs a full argon2id verify). */
const MAX_LOGINS = 2_000;
const MAX_LOGIN_WARMUP = 100;
/** Distinct tokens for the fresh-token case at most; the ones logins did not yield come from Refresh. */
const MAX_FRESH_TOKENS = 20_000;
const REFRESH_CHAINS = 8;
/** Interleaved measuring rounds of the widget cases (see `interleave`). */
const ROUNDS = 5;

const connectHeaders = { "content-type": "application/proto", "connect-protocol-version": "1" };

interface Limits {
  concurrency: number;
  warmup: number;
  requests: number;
  seconds: number;
}

function measure(
  name: string,
  baseline: string | undefined,
  server: ServerChild<unknown>,
  targets: { warm: Target; run: Target },
  limits: Limits,
): Promise<Row> {
  return measureCase({ group: GROUP, name, baseline, server, targets, limits });
}

/** A bare operation timed inside its own child process (bench/servers/*-verify.ts). */
async function loopCase(
  name: string,
  script: string,
  limits: { warmup: LoopLimits; run: LoopLimits },
  env: Record<string, string> = {},
): Promise<Row> {
  process.stderr.write(`${GROUP}: ${name} ... `);
  const timeoutMs = (limits.warmup.seconds + limits.run.seconds + 60) * 1000;
  const child = await startChild<LoopInfo>(new URL(script, import.meta.url), {
    timeoutMs,
    env: { ...env, [LOOP_ENV]: JSON.stringify(limits) },
  });
  await child.stop();
  const { warmup, run } = child.info;
  const failures = warmup.failures + run.failures;
  const firstFailure = warmup.firstFailure ?? run.firstFailure;
  const row: Row = {
    group: GROUP,
    name,
    completed: run.completed,
    failures,
    ...(firstFailure ? { firstFailure } : {}),
    perSecond: run.completed / run.seconds,
    p50Ms: run.p50Ms,
    p99Ms: run.p99Ms,
    cpuMicrosPerCall: run.cpuMicros / run.completed,
    clientCpuMicrosPerCall: Number.NaN,
    rssMiB: run.rssBytes / 2 ** 20,
    note:
      `${limits.run.concurrency} in flight in a loop inside one child process (no RPC); ` +
      `CPU µs/call is that process's user+system time per call, all threads`,
  };
  process.stderr.write(`${Math.round(row.perSecond)}/s${failures ? `, ${failures} failures` : ""}\n`);
  return row;
}

/** One unary Connect call outside the load generator (set-up and probes). */
function call(
  session: http2.ClientHttp2Session,
  path: string,
  body: Uint8Array,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const stream = session.request({ ":method": "POST", ":path": path, ...connectHeaders, ...headers });
    const chunks: Buffer[] = [];
    let status = 0;
    stream.on("response", (response) => {
      status = Number(response[":status"]);
    });
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", reject);
    stream.on("close", () => resolve({ status, body: Buffer.concat(chunks) }));
    stream.end(body);
  });
}

interface Tokens {
  access: string[];
  refresh: string[];
}

/** Login as admin under load; every successful response's tokens are kept in `tokens`. */
async function loginCase(identidade: ServerChild<IdentidadeInfo>, options: BenchOptions, tokens: Tokens) {
  const { url, adminPassword } = identidade.info;
  const target: Target = {
    url,
    path: `/${AuthService.typeName}/${AuthService.method.login.name}`,
    headers: connectHeaders,
    body: toBinary(
      LoginRequestSchema,
      create(LoginRequestSchema, { username: "admin", password: adminPassword }),
    ),
    expect: new Uint8Array(),
    accept(body) {
      const response = fromBinary(LoginResponseSchema, body);
      if (!response.accessToken || !response.refreshToken || response.tokenType !== "Bearer") return false;
      tokens.access.push(response.accessToken);
      tokens.refresh.push(response.refreshToken);
      return true;
    },
    grpc: false,
  };
  const row = await measure(
    LOGIN,
    ARGON2,
    identidade,
    { warm: target, run: target },
    {
      concurrency: LOGIN_CONCURRENCY,
      warmup: Math.min(options.warmup, MAX_LOGIN_WARMUP),
      requests: Math.min(options.requests, MAX_LOGINS),
      seconds: options.seconds,
    },
  );
  row.note =
    `${LOGIN_CONCURRENCY} in flight, admin with the right password; ` +
    `× base against "${ARGON2}" (one argon2id verify per login)`;
  return row;
}

/**
 * Real access tokens beyond the logins': Refresh rotates a refresh token into a new access token
 * (identidade's same signing path, no argon2). One chain per refresh token, each chain sequential.
 * Timed and charged with identidade's CPU: the row shows what a login costs besides the hash.
 */
async function mintByRefresh(
  identidade: ServerChild<IdentidadeInfo>,
  refreshTokens: readonly string[],
  count: number,
  seconds: number,
): Promise<{ minted: string[]; row: Row }> {
  const name = `Refresh, Connect binary (${REFRESH_CHAINS} chains)`;
  process.stderr.write(`${GROUP}: ${name}, minting up to ${count} tokens ... `);
  const minted: string[] = [];
  const latencies: number[] = [];
  const session = await connect(identidade.info.url);
  const path = `/${AuthService.typeName}/${AuthService.method.refresh.name}`;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  try {
    const before = await identidade.usage();
    const client = process.cpuUsage();
    const chain = async (start: string) => {
      let refreshToken = start;
      while (minted.length < count && performance.now() < deadline) {
        const request = create(RefreshRequestSchema, { refreshToken });
        const sent = performance.now();
        const { status, body } = await call(session, path, toBinary(RefreshRequestSchema, request));
        latencies.push(performance.now() - sent);
        if (status !== 200) throw new Error(`Refresh: HTTP ${status}: ${body.toString().slice(0, 200)}`);
        const response = fromBinary(RefreshResponseSchema, body);
        minted.push(response.accessToken);
        refreshToken = response.refreshToken;
      }
    };
    await Promise.all(refreshTokens.slice(0, REFRESH_CHAINS).map(chain));
    const elapsed = (performance.now() - started) / 1000;
    const clientCpu = process.cpuUsage(client);
    const after = await identidade.usage();
    const sorted = Float64Array.from(latencies).sort();
    process.stderr.write(`${Math.round(minted.length / elapsed)} req/s\n`);
    const row: Row = {
      group: GROUP,
      name,
      baseline: ARGON2,
      completed: minted.length,
      failures: 0,
      perSecond: minted.length / elapsed,
      p50Ms: percentile(sorted, 0.5),
      p99Ms: percentile(sorted, 0.99),
      cpuMicrosPerCall: (after.cpuMicros - before.cpuMicros) / minted.length,
      clientCpuMicrosPerCall: (clientCpu.user + clientCpu.system) / minted.length,
      rssMiB: after.rssBytes / 2 ** 20,
      note:
        `mints the fresh tokens below, ${REFRESH_CHAINS} sequential chains of refresh-token rotation, ` +
        `no warm-up, at most ${count} or ${seconds} s: a login's token issuance and SQL without argon2; ` +
        `× base against "${ARGON2}"`,
    };
    return { minted, row };
  } finally {
    session.close();
  }
}

/** Every token must verify against identidade's JWKS with one key, or the cases below mean nothing. */
async function checkTokens(tokens: readonly string[], jwks: JSONWebKeySet, info: IdentidadeInfo) {
  const keys = createLocalJWKSet(jwks);
  const kids = new Set<string | undefined>();
  for (const token of tokens) {
    await jwtVerify(token, keys, { issuer: info.issuer, audience: info.audience, algorithms: ["EdDSA"] });
    kids.add(decodeProtectedHeader(token).kid);
  }
  if (new Set(tokens).size !== tokens.length) throw new Error("identidade issued the same token twice");
  if (kids.size !== 1) throw new Error(`tokens signed with ${kids.size} keys, expected one`);
}

/** One widget case: a target per phase (warm-up, then each round), all of the same kind of call. */
interface Interleaved {
  name: string;
  baseline?: string;
  warm: Target;
  rounds: Target[];
  note: string;
}

interface Measured {
  row: Row;
  /** Server CPU µs per call of each round, in round order. */
  perRound: number[];
}

const range = (values: readonly number[]) =>
  `${Math.min(...values).toFixed(1)}–${Math.max(...values).toFixed(1)}`;

/**
 * Cases whose differences matter, on one server: each warmed up once, then measured in `ROUNDS`
 * rounds, one run of every case per round in an order rotated every round, so drift (JIT, GC,
 * heap growth) is shared instead of charged to whichever case came first or last.
 */
async function interleave(
  server: ServerChild<unknown>,
  cases: readonly Interleaved[],
  limits: {
    concurrency: number;
    seconds: number;
    requestsPerRound: number;
    warmup: (c: Interleaved) => number;
  },
): Promise<Measured[]> {
  const session = await connect(cases[0]?.warm.url ?? "");
  try {
    const drives = (target: Target) =>
      target.requestHeaders?.length ?? target.bodies?.length ?? Number.POSITIVE_INFINITY;
    const runs = cases.map(() => ({
      completed: 0,
      seconds: 0,
      cpu: 0,
      clientCpu: 0,
      rss: 0,
      latencies: [] as Float64Array[],
    }));
    const perRound = cases.map(() => [] as number[]);
    const failures = cases.map(() => ({ count: 0, first: undefined as string | undefined }));
    const fail = (i: number, count: number, first: string | undefined) => {
      const entry = failures[i] as { count: number; first: string | undefined };
      entry.count += count;
      entry.first ??= first;
    };
    process.stderr.write(`${GROUP}: widget cases, warm-up ... `);
    for (const [i, c] of cases.entries()) {
      const warm = await drive(session, c.warm, { ...limits, requests: limits.warmup(c) });
      fail(i, warm.failures, warm.firstFailure);
    }
    for (let round = 0; round < ROUNDS; round++) {
      process.stderr.write(`round ${round + 1} ... `);
      for (let k = 0; k < cases.length; k++) {
        const i = (k + round) % cases.length;
        const target = cases[i]?.rounds[round] as Target;
        const requests = Math.min(drives(target), limits.requestsPerRound);
        const before = await server.usage();
        const client = process.cpuUsage();
        const run = await drive(session, target, { ...limits, requests });
        const clientCpu = process.cpuUsage(client);
        const after = await server.usage();
        fail(i, run.failures, run.firstFailure);
        const total = runs[i] as (typeof runs)[number];
        total.completed += run.completed;
        total.seconds += run.seconds;
        total.cpu += after.cpuMicros - before.cpuMicros;
        total.clientCpu += clientCpu.user + clientCpu.system;
        total.rss = after.rssBytes;
        total.latencies.push(run.latencies);
        perRound[i]?.push((after.cpuMicros - before.cpuMicros) / run.completed);
      }
    }
    process.stderr.write("done\n");
    return cases.map((c, i) => {
      const total = runs[i] as (typeof runs)[number];
      const latencies = new Float64Array(total.completed);
      let offset = 0;
      for (const part of total.latencies) {
        latencies.set(part, offset);
        offset += part.length;
      }
      latencies.sort();
      const { count, first } = failures[i] as { count: number; first: string | undefined };
      const rounds = perRound[i] as number[];
      return {
        perRound: rounds,
        row: {
          group: GROUP,
          name: c.name,
          ...(c.baseline ? { baseline: c.baseline } : {}),
          completed: total.completed,
          failures: count,
          ...(first ? { firstFailure: first } : {}),
          perSecond: total.completed / total.seconds,
          p50Ms: percentile(latencies, 0.5),
          p99Ms: percentile(latencies, 0.99),
          cpuMicrosPerCall: total.cpu / total.completed,
          clientCpuMicrosPerCall: total.clientCpu / total.completed,
          rssMiB: total.rss / 2 ** 20,
          note: `${c.note}; ${ROUNDS} interleaved rounds, CPU µs/call per round ${range(rounds)}`,
        },
      };
    });
  } finally {
    session.close();
  }
}

/** The server CPU one case costs per call beyond another's, set against a bare baseline. */
function difference(name: string, baseline: string, of: Measured, minus: Measured, note: string): Row {
  const paired = of.perRound.map((cpu, round) => cpu - (minus.perRound[round] ?? Number.NaN));
  return {
    group: GROUP,
    name,
    baseline,
    completed: of.row.completed,
    failures: 0,
    perSecond: Number.NaN,
    p50Ms: Number.NaN,
    p99Ms: Number.NaN,
    cpuMicrosPerCall: of.row.cpuMicrosPerCall - minus.row.cpuMicrosPerCall,
    clientCpuMicrosPerCall: Number.NaN,
    rssMiB: Number.NaN,
    note:
      `server CPU µs/call of "${of.row.name}" minus "${minus.row.name}" (per round: ${range(paired)}); ` +
      note,
  };
}

async function widgetCases(
  options: BenchOptions,
  identidade: IdentidadeInfo,
  token: string,
  fresh: readonly string[],
): Promise<Row[]> {
  const widget = await startChild<WidgetIdentidadeInfo>(
    new URL("./servers/widget-identidade.ts", import.meta.url),
    { env: { BENCH_JWKS_URL: identidade.jwksUrl } },
  );
  try {
    const url = `http://127.0.0.1:${widget.info.port}`;
    // Ping is public and drops a token it cannot verify, so acceptance is proven with GetWidget.
    const { id, name, amountCentavos, ownerId } = widget.info.widget;
    const getWidget = toBinary(GetWidgetRequestSchema, create(GetWidgetRequestSchema, { id }));
    const found = toBinary(
      GetWidgetResponseSchema,
      create(GetWidgetResponseSchema, {
        widget: { id, name, amountCentavos: BigInt(amountCentavos), ownerId },
      }),
    );
    const probe = async (bearer: string, when: string) => {
      const session = await connect(url);
      try {
        const path = `/${WidgetService.typeName}/${WidgetService.method.getWidget.name}`;
        const { status, body } = await call(session, path, getWidget, { authorization: `Bearer ${bearer}` });
        if (status !== 200 || !body.equals(found))
          throw new Error(`${when}: GetWidget with an identidade token: HTTP ${status} ${body.toString()}`);
      } finally {
        session.close();
      }
    };
    await probe(token, "before the cases");

    const ping: Target = {
      url,
      path: `/${WidgetService.typeName}/${WidgetService.method.ping.name}`,
      headers: connectHeaders,
      body: toBinary(PingRequestSchema, create(PingRequestSchema, { message: "ping" })),
      expect: toBinary(PingResponseSchema, create(PingResponseSchema, { message: "ping" })),
      grpc: false,
    };
    const perRound = Math.ceil(options.requests / ROUNDS);
    const freshWarm = Math.min(options.warmup, Math.floor(fresh.length / 5));
    const freshPerRound = Math.min(perRound, Math.floor((fresh.length - freshWarm) / ROUNDS));
    const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
    const withHeaders = (requestHeaders: Record<string, string>[]) => ({ ...ping, requestHeaders });
    // As long as the token, as distinct per call, in the same base64url alphabet: no HPACK reuse.
    const junk = (count: number) =>
      withHeaders(
        Array.from({ length: count }, () => ({
          "x-bench-junk": randomBytes(token.length).toString("base64url").slice(0, token.length),
        })),
      );
    const rounds = <T>(make: (round: number) => T) =>
      Array.from({ length: ROUNDS }, (_, round) => make(round));
    const sameToken = { ...ping, headers: { ...connectHeaders, ...bearer(token) } };
    const freshSlice = (from: number, count: number) =>
      withHeaders(fresh.slice(from, from + count).map(bearer));
    const cases: Interleaved[] = [
      { name: PING, warm: ping, rounds: rounds(() => ping), note: "Ping (public), no authorization header" },
      {
        name: PING_PADDED,
        baseline: PING,
        warm: junk(options.warmup),
        rounds: rounds(() => junk(perRound)),
        note: `a distinct ${token.length}-character x-bench-junk header per call instead of a token`,
      },
      {
        name: PING_SAME,
        baseline: PING,
        warm: sameToken,
        rounds: rounds(() => sameToken),
        note: "one identidade access token on every call: verified once, then the platform's LRU answers",
      },
      {
        name: PING_FRESH,
        baseline: PING,
        warm: freshSlice(0, freshWarm),
        rounds: rounds((round) => freshSlice(freshWarm + round * freshPerRound, freshPerRound)),
        note:
          `a distinct identidade access token per call, each used once (${freshWarm} warm-up, ` +
          `${freshPerRound} per round): every call misses the LRU and verifies the signature`,
      },
    ];
    const [none, padded, same, freshRow] = await interleave(widget, cases, {
      concurrency: options.concurrency,
      seconds: options.seconds,
      requestsPerRound: perRound,
      warmup: (c) => (c.name === PING_FRESH ? freshWarm : options.warmup),
    });
    if (!none || !padded || !same || !freshRow) throw new Error("a widget case is missing");
    await probe(fresh[fresh.length - 1] ?? token, "after the cases");
    return [
      none.row,
      padded.row,
      same.row,
      freshRow.row,
      difference(
        "Δ same token − no token",
        JOSE,
        same,
        none,
        `the price of presenting an already-verified token; × base against "${JOSE}"`,
      ),
      difference(
        "Δ fresh token − junk header",
        JOSE,
        freshRow,
        padded,
        `verification proper (header bytes cancelled out); × base against "${JOSE}"`,
      ),
      difference(
        "Δ fresh token − no token",
        JOSE,
        freshRow,
        none,
        `all a new token per call costs, header bytes included; × base against "${JOSE}"`,
      ),
    ];
  } finally {
    await widget.stop();
  }
}

export async function run(options: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const loginWarmup = Math.min(options.warmup, MAX_LOGIN_WARMUP);
  const logins = Math.min(options.requests, MAX_LOGINS);
  rows.push(
    await loopCase(ARGON2, "./servers/argon2-verify.ts", {
      warmup: { concurrency: LOGIN_CONCURRENCY, requests: loginWarmup, seconds: options.seconds },
      run: { concurrency: LOGIN_CONCURRENCY, requests: logins, seconds: options.seconds },
    }),
  );
  const identidade = await startChild<IdentidadeInfo>(new URL("./servers/identidade.ts", import.meta.url));
  try {
    const info = identidade.info;
    const tokens: Tokens = { access: [], refresh: [] };
    rows.push(await loginCase(identidade, options, tokens));
    const [token] = tokens.access;
    if (!token) throw new Error("no login succeeded: nothing to verify");
    const wanted = Math.min(options.warmup + options.requests, MAX_FRESH_TOKENS);
    const { minted, row: refreshRow } = await mintByRefresh(
      identidade,
      tokens.refresh,
      Math.max(0, wanted - tokens.access.length),
      Math.max(options.seconds, 30),
    );
    rows.push(refreshRow);
    const fresh = [...tokens.access.slice(1), ...minted];
    const response = await fetch(info.jwksUrl);
    if (!response.ok) throw new Error(`JWKS: HTTP ${response.status}`);
    const jwks = (await response.json()) as JSONWebKeySet;
    await checkTokens([token, ...fresh], jwks, info);
    rows.push(
      await loopCase(
        JOSE,
        "./servers/jose-verify.ts",
        {
          warmup: { concurrency: 1, requests: options.warmup, seconds: options.seconds },
          run: { concurrency: 1, requests: options.requests, seconds: options.seconds },
        },
        {
          BENCH_TOKEN: token,
          BENCH_JWKS: JSON.stringify(jwks),
          BENCH_ISSUER: info.issuer,
          BENCH_AUDIENCE: info.audience,
        },
      ),
    );
    rows.push(...(await widgetCases(options, info, token, fresh)));
  } finally {
    await identidade.stop();
  }
  return rows;
}

if (import.meta.main) {
  const options = parseBenchArgs(process.argv.slice(2));
  const rows = await run(options);
  printTable(rows, options);
  if (rows.some((row) => row.failures > 0)) process.exitCode = 1;
}
