import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import type { JobRun } from "../../db/schema";
import type { Env } from "../../env";
import { finishJobRun, isJobName, recentJobRuns, startJobRun, systemDeps } from "../../jobs/runner";
import type { AuthContext } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";

export function toJobRunDto(run: JobRun) {
  return {
    id: run.id,
    job: run.job,
    status: run.status,
    startedAt: run.startedAt.toISOString(),
    finishedAt: run.finishedAt?.toISOString() ?? null,
    stats: run.stats,
    error: run.error,
  };
}

export async function listJobRuns(deps: Pick<Deps, "db">) {
  return (await recentJobRuns(deps)).map(toJobRunDto);
}

/**
 * Starts a job for a platform admin: the RUNNING row (and a JOB_RUN audit event) now, the work after the
 * response through waitUntil — with its own database client, because the request's is closed once the
 * response is sent.
 */
export async function triggerJob(
  env: Env,
  ctx: Pick<ExecutionContext, "waitUntil">,
  deps: Deps,
  auth: AuthContext,
  name: string,
) {
  if (!isJobName(name)) throw new ApiError("NOT_FOUND", `No job named "${name}".`);
  const run = await startJobRun(deps, name);
  await recordAudit(deps, deps.db, {
    type: "JOB_RUN",
    workspaceId: null,
    actorUserId: auth.userId,
    targetType: "job",
    targetId: run.id,
    data: { job: name },
  });
  const background = systemDeps(env, ctx, deps.traceId);
  ctx.waitUntil(finishJobRun(background.deps, run).finally(() => background.close().catch(() => {})));
  return toJobRunDto(run);
}
