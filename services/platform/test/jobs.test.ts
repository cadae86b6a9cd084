// Scheduled jobs against real PostgreSQL: two replicas of the widget service on one database.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestClock, systemClock } from "../src/clock.ts";
import { openDatabase } from "../src/db.ts";
import { startJobScheduler } from "../src/jobs.ts";
import { createLogger } from "../src/logging.ts";
import {
  createTestDatabase,
  createTestIssuer,
  deleteQueues,
  eventually,
  serveJwks,
  startTestService,
  type TestDatabase,
  type TestService,
} from "../src/testing.ts";
import { FAIL_JOB, WIDGET_JOB, widgetService } from "./widget-service.ts";

const logger = createLogger({ service: "jobs-test", level: "silent" });

describe("scheduled jobs across two replicas", () => {
  // Between two slots of the widget job (every five minutes).
  const clock = createTestClock(new Date("2031-03-10T12:01:00Z"));
  let db: TestDatabase;
  let a: TestService;
  let b: TestService;
  let closeJwks: () => Promise<void>;
  let queue: string;

  beforeAll(async () => {
    db = await createTestDatabase("platform");
    const issuer = await createTestIssuer();
    const jwks = await serveJwks(issuer.jwks);
    closeJwks = jwks.close;
    queue = `platformtest.${db.name}`;
    const env = { JWKS_URL: jwks.url, WIDGET_QUEUE: queue };
    a = await startTestService(widgetService, env, { db, clock });
    b = await startTestService(widgetService, env, { db, clock });
  });

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await closeJwks?.();
    await db?.drop();
    await deleteQueues([queue]);
  });

  const ticks = () =>
    db.query<{ scheduled_for: Date; ran_at: Date; manual: boolean }>(
      "select scheduled_for, ran_at, manual from widget_job_log order by scheduled_for, ran_at",
    );
  const runs = (job = WIDGET_JOB) =>
    db.query<{
      scheduled_for: Date;
      manual: boolean;
      outcome: string;
      error: string | null;
      duration_ms: number | null;
      finished_at: Date | null;
    }>(
      "select scheduled_for, manual, outcome, error, duration_ms, finished_at from platform_job_run where job = $1 order by started_at, id",
      [job],
    );

  test("nothing runs while the clock stands between two slots", async () => {
    await clock.advance(60_000);
    expect(await ticks()).toEqual([]);
    expect(await runs()).toEqual([]);
  });

  test("a moved clock makes the job due at once, and one replica runs each slot", async () => {
    await clock.set(new Date("2031-03-10T12:05:00Z"));
    expect(await ticks()).toEqual([
      {
        scheduled_for: new Date("2031-03-10T12:05:00Z"),
        ran_at: new Date("2031-03-10T12:05:00Z"),
        manual: false,
      },
    ]);
    await clock.advance(5 * 60_000);
    // Slots jumped over run once, as the latest one.
    await clock.advance(12 * 60_000);
    expect((await ticks()).map((t) => t.scheduled_for.toISOString())).toEqual([
      "2031-03-10T12:05:00.000Z",
      "2031-03-10T12:10:00.000Z",
      "2031-03-10T12:20:00.000Z",
    ]);
    const recorded = await runs();
    expect(recorded).toHaveLength(3);
    for (const run of recorded) {
      expect(run).toMatchObject({ outcome: "succeeded", error: null, manual: false });
      expect(run.duration_ms).toBeGreaterThanOrEqual(0);
      expect(run.finished_at).toBeInstanceOf(Date);
    }
  });

  test("a failing run is recorded with its error, and the next slot runs it again", async () => {
    await db.query(
      "insert into widget (id, name, amount_centavos, owner_id) values (gen_random_uuid(), $1, 0, 'x')",
      [FAIL_JOB],
    );
    await clock.set(new Date("2031-03-10T12:25:00Z"));
    const [failed] = (await runs()).slice(-1);
    expect(failed).toMatchObject({
      scheduled_for: new Date("2031-03-10T12:25:00Z"),
      outcome: "failed",
      error: "the widget job was told to fail",
    });
    expect(failed?.duration_ms).toBeGreaterThanOrEqual(0);

    await db.query("delete from widget where name = $1", [FAIL_JOB]);
    await clock.set(new Date("2031-03-10T12:30:00Z"));
    expect((await runs()).slice(-1)).toEqual([
      expect.objectContaining({ scheduled_for: new Date("2031-03-10T12:30:00Z"), outcome: "succeeded" }),
    ]);
    expect((await ticks()).map((t) => t.scheduled_for.toISOString()).slice(-1)).toEqual([
      "2031-03-10T12:30:00.000Z",
    ]);
  });

  test("a job triggered by hand runs now, each time, and is recorded as manual", async () => {
    const before = (await ticks()).length;
    const first = await a.service.runJob(WIDGET_JOB);
    const second = await b.service.runJob(WIDGET_JOB);
    for (const result of [first, second]) {
      expect(result).toMatchObject({ job: WIDGET_JOB, outcome: "succeeded" });
      expect(result.scheduledFor).toEqual(clock.now());
    }
    const manual = (await ticks()).slice(before);
    expect(manual).toEqual([
      { scheduled_for: clock.now(), ran_at: clock.now(), manual: true },
      { scheduled_for: clock.now(), ran_at: clock.now(), manual: true },
    ]);
    expect((await runs()).filter((run) => run.manual)).toHaveLength(2);

    await db.query(
      "insert into widget (id, name, amount_centavos, owner_id) values (gen_random_uuid(), $1, 0, 'x')",
      [FAIL_JOB],
    );
    expect(await a.service.runJob(WIDGET_JOB)).toMatchObject({
      outcome: "failed",
      error: "the widget job was told to fail",
    });
    await db.query("delete from widget where name = $1", [FAIL_JOB]);
    await expect(a.service.runJob("no.such.job")).rejects.toThrow(/no job named/);
  });

  test("the platform's retention job deletes what is older than a week of the clock", async () => {
    const week = 7 * 24 * 3_600_000;
    const now = clock.now().getTime();
    const old = new Date(now - week - 60_000);
    const recent = new Date(now - 60_000);
    for (const [requestId, createdAt] of [
      ["old", old],
      ["recent", recent],
    ] as const) {
      await db.query(
        "insert into platform_idempotency (method, scope, request_id, request_hash, response, created_at) values ('m', 's', $1, '\\x', '\\x', $2)",
        [requestId, createdAt],
      );
      await db.query(
        "insert into platform_outbox (id, event_type, routing_key, payload, headers, published_at) values (gen_random_uuid(), $1, 'k', '\\x', '{}', $2)",
        [requestId, createdAt],
      );
    }
    // The next hourly slot of the retention job.
    await clock.set(new Date("2031-03-10T13:00:00Z"));
    expect(await db.query("select request_id from platform_idempotency where method = 'm'")).toEqual([
      { request_id: "recent" },
    ]);
    expect(
      await db.query("select event_type from platform_outbox where event_type in ('old', 'recent')"),
    ).toEqual([{ event_type: "recent" }]);
    expect((await runs("platform.retention")).map((run) => run.outcome)).toEqual(["succeeded"]);
  });

  test("a stopped replica runs nothing; the other still runs every slot", async () => {
    await b.stop();
    await clock.set(new Date("2031-03-10T13:05:00Z"));
    expect((await runs()).slice(-1)).toEqual([
      expect.objectContaining({ scheduled_for: new Date("2031-03-10T13:05:00Z"), outcome: "succeeded" }),
    ]);
    await a.stop();
    await clock.set(new Date("2031-03-10T13:10:00Z"));
    expect(
      (await runs()).some((run) => run.scheduled_for.getTime() === Date.parse("2031-03-10T13:10:00Z")),
    ).toBe(false);
    await expect(a.service.runJob(WIDGET_JOB)).rejects.toThrow(/stopped/);
  });
});

describe("the job scheduler on real time", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase("platform");
  });
  afterAll(async () => {
    await db?.drop();
  });

  test("runs an every-N job by itself and records each run", async () => {
    const database = await openDatabase({ url: db.url, entities: [], migrations: [], logger });
    await database.migrate();
    let count = 0;
    const scheduler = startJobScheduler({
      db: database,
      clock: systemClock,
      logger,
      jobs: [{ name: "often", schedule: { everyMs: 100 }, run: async () => void count++ }],
    });
    try {
      await eventually(async () => {
        const done = await db.query(
          "select 1 from platform_job_run where job = 'often' and outcome = 'succeeded'",
        );
        return done.length >= 3;
      });
    } finally {
      await scheduler.stop();
    }
    // Stopping waited for the run in progress: none is left half-done.
    const rows = await db.query<{ outcome: string }>(
      "select outcome from platform_job_run where job = 'often'",
    );
    expect(rows.length).toBeGreaterThanOrEqual(3);
    expect(rows.filter((row) => row.outcome !== "succeeded")).toEqual([]);
    const after = count;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(count).toBe(after);
    await database.close();
  });

  test("stop waits for a run in progress, but not for ever", async () => {
    const database = await openDatabase({ url: db.url, entities: [], migrations: [], logger });
    const scheduler = startJobScheduler({
      db: database,
      clock: systemClock,
      logger,
      stopTimeoutMs: 200,
      jobs: [{ name: "hangs", schedule: { cron: "0 0 1 1 *" }, run: () => new Promise(() => undefined) }],
    });
    void scheduler.runJob("hangs");
    await eventually(
      async () => (await db.query("select 1 from platform_job_run where job = 'hangs'")).length > 0,
    );
    await scheduler.stop();
    expect(await db.query("select outcome from platform_job_run where job = 'hangs'")).toEqual([
      { outcome: "running" },
    ]);
    await database.close();
  });

  test("a bad cron expression stops the start with the job's name", async () => {
    const database = await openDatabase({ url: db.url, entities: [], migrations: [], logger });
    try {
      expect(() =>
        startJobScheduler({
          db: database,
          clock: systemClock,
          logger,
          jobs: [{ name: "broken", schedule: { cron: "every tuesday" }, run: async () => undefined }],
        }),
      ).toThrow(/job broken/);
    } finally {
      await database.close();
    }
  });
});
