import { performance } from "node:perf_hooks";
import { Cron } from "croner";
import { uuidv7 } from "uuidv7";
import type { Clock } from "./clock.ts";
import type { Database } from "./db.ts";
import type { Logger } from "./logging.ts";

/** A cron expression (UTC unless `timezone` says otherwise), or a fixed period. */
export type JobSchedule = { cron: string; timezone?: string } | { everyMs: number };

export interface JobTick {
  /** The slot this run is for (the clock's time for a manual run). */
  scheduledFor: Date;
  /** The service clock when the run started: what business decisions use. */
  now: Date;
  manual: boolean;
}

/**
 * Work a service does on a schedule. Each slot runs once across all replicas; runs of
 * successive slots may overlap on different replicas, so the work claims its rows itself.
 */
export interface JobDefinition {
  name: string;
  schedule: JobSchedule;
  run(tick: JobTick): Promise<unknown>;
}

export type JobOutcome = "succeeded" | "failed";

export interface JobRunResult {
  job: string;
  scheduledFor: Date;
  /** `skipped`: another replica had claimed this slot. */
  outcome: JobOutcome | "skipped";
  error?: string;
  durationMs?: number;
}

export interface JobScheduler {
  /** Runs a job now, whatever its schedule (operators, tests); recorded as a manual run. */
  runJob(name: string): Promise<JobRunResult>;
  /** No new run starts; resolves when the runs in progress ended, or after `stopTimeoutMs`. */
  stop(): Promise<void>;
}

export interface JobSchedulerOptions {
  db: Database;
  clock: Clock;
  logger: Logger;
  jobs: readonly JobDefinition[];
  /** How long `stop` waits for runs in progress before it gives up on them (10 s). */
  stopTimeoutMs?: number;
}

/** Real-time cap between checks: a long wait never outlives a clock that drifted. */
const MAX_WAIT_MS = 60_000;

interface JobState {
  definition: JobDefinition;
  slotAtOrBefore(now: number): number;
  /** The first slot after `now`, or Infinity. */
  slotAfter(now: number): number;
  next: number;
  /** Runs of it in progress in this process. */
  running: number;
}

function jobState(definition: JobDefinition, now: number): JobState {
  const { schedule } = definition;
  let slotAtOrBefore: JobState["slotAtOrBefore"];
  let slotAfter: JobState["slotAfter"];
  if ("everyMs" in schedule) {
    const every = schedule.everyMs;
    if (!Number.isSafeInteger(every) || every <= 0)
      throw new Error(`job ${definition.name}: everyMs must be a positive integer`);
    // Slots counted from the epoch, so every replica computes the same ones.
    slotAtOrBefore = (at) => Math.floor(at / every) * every;
    slotAfter = (at) => slotAtOrBefore(at) + every;
  } else {
    let cron: Cron;
    try {
      cron = new Cron(schedule.cron, { paused: true, timezone: schedule.timezone ?? "UTC" });
    } catch (error) {
      throw new Error(`job ${definition.name}: ${(error as Error).message}`);
    }
    slotAtOrBefore = (at) => cron.previousRuns(1, new Date(at + 1))[0]?.getTime() ?? at;
    slotAfter = (at) => cron.nextRun(new Date(at))?.getTime() ?? Number.POSITIVE_INFINITY;
  }
  return { definition, slotAtOrBefore, slotAfter, next: slotAfter(now), running: 0 };
}

/**
 * Runs each job at its slots. A slot is claimed by inserting its row in `platform_job_run`
 * (ON CONFLICT DO NOTHING), so one replica runs it; the row records the outcome, error and
 * duration. A failed run is logged and the next slot runs it again. A clock that jumps
 * (tests) makes the jobs it passed due at once; the slots it jumped over run as one.
 */
export function startJobScheduler(options: JobSchedulerOptions): JobScheduler {
  const { db, clock, logger } = options;
  const states = new Map<string, JobState>();
  const start = clock.now().getTime();
  for (const definition of options.jobs) {
    if (states.has(definition.name)) throw new Error(`job ${definition.name} is declared twice`);
    states.set(definition.name, jobState(definition, start));
  }
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const execute = async (
    definition: JobDefinition,
    scheduledFor: Date,
    manual: boolean,
  ): Promise<JobRunResult> => {
    const id = uuidv7();
    const claimed = await db.fork().execute<unknown[]>(
      `insert into platform_job_run (id, job, scheduled_for, manual, outcome)
         values (?, ?, ?, ?, 'running') on conflict (job, scheduled_for) where not manual do nothing
         returning id`,
      [id, definition.name, scheduledFor, manual],
    );
    if (claimed.length === 0) return { job: definition.name, scheduledFor, outcome: "skipped" };
    const began = performance.now();
    let outcome: JobOutcome = "succeeded";
    let error: string | undefined;
    try {
      await definition.run({ scheduledFor, now: clock.now(), manual });
    } catch (failure) {
      outcome = "failed";
      error = String((failure as Error)?.message ?? failure).slice(0, 2000);
      logger.error({ err: failure, job: definition.name, scheduledFor }, "job failed");
    }
    const durationMs = Math.round(performance.now() - began);
    await db
      .fork()
      .execute(
        "update platform_job_run set finished_at = now(), outcome = ?, error = ?, duration_ms = ? where id = ?",
        [outcome, error ?? null, durationMs, id],
      );
    if (outcome === "succeeded") logger.info({ job: definition.name, durationMs }, "job done");
    return { job: definition.name, scheduledFor, outcome, durationMs, ...(error ? { error } : {}) };
  };

  const inFlight = new Set<Promise<unknown>>();
  const launch = (state: JobState, scheduledFor: Date, manual: boolean): Promise<JobRunResult> => {
    state.running++;
    const run = execute(state.definition, scheduledFor, manual)
      .catch((error) => {
        // The claim or the record failed (database away): logged, and the next slot tries again.
        logger.error({ err: error, job: state.definition.name }, "job could not run");
        throw error;
      })
      .finally(() => {
        state.running--;
        inFlight.delete(settled);
      });
    const settled = run.catch(() => undefined);
    inFlight.add(settled);
    return run;
  };

  const arm = () => {
    clearTimeout(timer);
    if (stopped) return;
    const next = Math.min(...[...states.values()].map((state) => state.next));
    if (!Number.isFinite(next)) return;
    const waitMs = Math.min(MAX_WAIT_MS, Math.max(0, next - clock.now().getTime()));
    timer = setTimeout(() => void tick(), waitMs);
  };

  let lastNow = start;
  const tick = async (): Promise<void> => {
    const now = clock.now().getTime();
    // A clock set back (tests): the slots are counted again from there.
    if (now < lastNow) for (const state of states.values()) state.next = state.slotAfter(now);
    lastNow = now;
    const runs: Promise<unknown>[] = [];
    for (const state of states.values()) {
      if (stopped || state.next > now) continue;
      const slot = state.slotAtOrBefore(now);
      state.next = state.slotAfter(now);
      if (state.running > 0) {
        // No overlap within a replica; another replica may still claim this slot.
        logger.warn({ job: state.definition.name }, "job still running here: slot not taken");
        continue;
      }
      runs.push(launch(state, new Date(slot), false).catch(() => undefined));
    }
    arm();
    await Promise.all(runs);
  };

  const unsubscribe = clock.onChange?.(() => tick());
  arm();

  return {
    async runJob(name) {
      const state = states.get(name);
      if (!state) throw new Error(`no job named ${name}`);
      if (stopped) throw new Error("the job scheduler is stopped");
      return launch(state, clock.now(), true);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      unsubscribe?.();
      if (inFlight.size === 0) return;
      let timeout: NodeJS.Timeout | undefined;
      const gaveUp = await Promise.race([
        Promise.all(inFlight).then(() => false),
        new Promise<boolean>((resolve) => {
          timeout = setTimeout(() => resolve(true), options.stopTimeoutMs ?? 10_000);
        }),
      ]);
      clearTimeout(timeout);
      // Its row stays `running`; the next slot runs the job again.
      if (gaveUp) logger.warn({ running: inFlight.size }, "jobs still running at shutdown");
    },
  };
}

export interface RetentionOptions {
  db: Database;
  clock: Clock;
  /** Published outbox rows, idempotency records and job runs older than this are deleted. */
  retentionMs?: number;
}

/** The platform's own jobs, in every service. */
export function platformJobs(options: RetentionOptions): JobDefinition[] {
  const retentionMs = options.retentionMs ?? 7 * 24 * 3_600_000;
  return [
    {
      name: "platform.retention",
      schedule: { everyMs: 3_600_000 },
      async run({ now }) {
        const cutoff = new Date(now.getTime() - retentionMs);
        const em = options.db.fork();
        await em.execute("delete from platform_outbox where published_at < ?", [cutoff]);
        // Retries come within minutes; a week of replayable responses is plenty.
        await em.execute("delete from platform_idempotency where created_at < ?", [cutoff]);
        await em.execute("delete from platform_job_run where scheduled_for < ?", [cutoff]);
      },
    },
  ];
}
