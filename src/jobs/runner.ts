/**
 * Runs maintenance jobs (CONFIG.md "Cron schedule"): one `job_runs` row per run with its counts, duration
 * and outcome, one log line. Jobs work in bounded batches (Workers time limits, Hyperdrive's 60 s statement
 * limit): a backlog larger than one run's budget simply continues at the next run. Every batch claims its
 * rows with `FOR UPDATE SKIP LOCKED` or a conditional update, so two runs at once never process a row twice.
 */
import { eq, sql } from "drizzle-orm";
import type { Deps } from "../core/deps";
import { createLogger, errorFields } from "../core/logger";
import { createDb } from "../db/client";
import { newestFirst } from "../db/order";
import { type JobRun, jobRuns } from "../db/schema";
import { type Env, loadConfig } from "../env";
import { JOBS, type JobOptions } from "./jobs";
import { type JobName, jobsFor } from "./schedule";

export type JobStats = Record<string, number>;

/** Every job name `POST /api/platform/jobs/:name/run` accepts. */
export const JOB_NAMES = Object.keys(JOBS) as JobName[];
export const isJobName = (name: string): name is JobName => Object.hasOwn(JOBS, name);

/** Deps for work that no request started: a fresh client, no client IP or user agent. */
export function systemDeps(env: Env, ctx: Pick<ExecutionContext, "waitUntil">, traceId: string) {
  const config = loadConfig(env);
  const handle = createDb(env.HYPERDRIVE.connectionString);
  const deps: Deps = {
    db: handle.db,
    config,
    env,
    log: createLogger(config.LOG_LEVEL, { traceId }),
    waitUntil: (promise) => ctx.waitUntil(promise),
    traceId,
    clientIp: "",
    userAgent: null,
  };
  return { deps, close: handle.close };
}

/** Creates the RUNNING row first, so a platform admin gets its id before the work starts. */
export async function startJobRun(deps: Pick<Deps, "db">, job: JobName): Promise<JobRun> {
  const [run] = await deps.db.insert(jobRuns).values({ job }).returning();
  if (!run) throw new Error("job_runs insert returned nothing");
  return run;
}

/** Runs the job of a started row and records how it ended. Never throws: the row says FAILED instead. */
export async function finishJobRun(deps: Deps, run: JobRun, options: JobOptions = {}): Promise<JobRun> {
  const job = run.job as JobName;
  const started = performance.now();
  let stats: JobStats = {};
  let error: string | null = null;
  try {
    stats = await JOBS[job](deps, options);
  } catch (cause) {
    error = cause instanceof Error ? `${cause.name}: ${cause.message}`.slice(0, 500) : String(cause);
    deps.log.error("job failed", { job, runId: run.id, ...errorFields(cause) });
  }
  const [finished] = await deps.db
    .update(jobRuns)
    .set({ status: error ? "FAILED" : "SUCCEEDED", stats, error, finishedAt: sql`now()` })
    .where(eq(jobRuns.id, run.id))
    .returning();
  deps.log.info("job run", {
    job,
    runId: run.id,
    status: error ? "FAILED" : "SUCCEEDED",
    durationMs: Math.round(performance.now() - started),
    stats,
  });
  return finished ?? run;
}

/** Starts and runs one job now. */
export async function runJob(deps: Deps, job: JobName, options: JobOptions = {}): Promise<JobRun> {
  return finishJobRun(deps, await startJobRun(deps, job), options);
}

/** `scheduled()`: the cron expression's jobs, one after another (each bounded), each with its own row. */
export async function runScheduled(env: Env, ctx: Pick<ExecutionContext, "waitUntil">, cron: string) {
  const jobs = jobsFor(cron);
  const { deps, close } = systemDeps(env, ctx, `cron-${crypto.randomUUID().replaceAll("-", "")}`);
  try {
    if (jobs.length === 0) deps.log.warn("no jobs for this cron expression", { cron });
    for (const job of jobs) await runJob(deps, job);
  } finally {
    await close().catch(() => {});
  }
}

/** The most recent runs, newest first (GET /api/platform/jobs). */
export async function recentJobRuns(deps: Pick<Deps, "db">, limit = 50): Promise<JobRun[]> {
  return deps.db.select().from(jobRuns).orderBy(newestFirst(jobRuns.startedAt)).limit(limit);
}
