import {
  createExecutionContext,
  createScheduledController,
  env,
  waitOnExecutionContext,
} from "cloudflare:test";
import { desc, eq, gte } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, jobRuns } from "../../src/db/schema";
import worker from "../../src/index";
import { CRON_SCHEDULE } from "../../src/jobs/schedule";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

describe("scheduled()", () => {
  it("runs every job of a cron expression and records each run", async () => {
    const since = new Date(Date.now() - 1000);
    const cron = "*/15 * * * *";
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    const rows = await withDb((db) => db.select().from(jobRuns).where(gte(jobRuns.startedAt, since)));
    for (const job of CRON_SCHEDULE[cron]) {
      const mine = rows.filter((row) => row.job === job);
      expect(mine.length, job).toBeGreaterThanOrEqual(1);
      expect(
        mine.every((row) => row.status === "SUCCEEDED"),
        JSON.stringify(mine),
      ).toBe(true);
    }
  });
});

describe("GET /api/platform/jobs", () => {
  it("lists recent runs for platform admins and refuses everyone else", async () => {
    const admin = await signIn(await platformAdmin());
    const res = await api("GET", "/api/platform/jobs", { token: admin.accessToken });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Array.isArray(res.body.items)).toBe(true);
    const tenant = await createTenant();
    const workspaceAdmin = await signIn(tenant.admin);
    expect((await api("GET", "/api/platform/jobs", { token: workspaceAdmin.accessToken })).status).toBe(403);
    expect((await api("GET", "/api/platform/jobs")).status).toBe(401);
  });
});

describe("POST /api/platform/jobs/{name}/run", () => {
  it("starts a job (202 with its RUNNING row), which then finishes, and audits JOB_RUN", async () => {
    const user = await platformAdmin();
    const admin = await signIn(user);
    const res = await api("POST", "/api/platform/jobs/shares/run", { token: admin.accessToken });
    expect(res.status, describeResponse(res)).toBe(202);
    expect(res.body).toMatchObject({ job: "shares", status: "RUNNING", finishedAt: null });
    let row = (await withDb((db) => db.select().from(jobRuns).where(eq(jobRuns.id, res.body.id))))[0];
    for (let i = 0; i < 50 && row?.status === "RUNNING"; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      row = (await withDb((db) => db.select().from(jobRuns).where(eq(jobRuns.id, res.body.id))))[0];
    }
    expect(row?.status).toBe("SUCCEEDED");
    const [audit] = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.targetId, res.body.id))
        .orderBy(desc(auditEvents.createdAt)),
    );
    expect(audit).toMatchObject({ eventType: "JOB_RUN", actorUserId: user.id, workspaceId: null });
  });

  it("answers 404 for an unknown job and 403 for a workspace admin", async () => {
    const admin = await signIn(await platformAdmin());
    const unknown = await api("POST", "/api/platform/jobs/everything/run", { token: admin.accessToken });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("NOT_FOUND");
    const tenant = await createTenant();
    const workspaceAdmin = await signIn(tenant.admin);
    const refused = await api("POST", "/api/platform/jobs/tokens/run", { token: workspaceAdmin.accessToken });
    expect(refused.status).toBe(403);
  });
});
