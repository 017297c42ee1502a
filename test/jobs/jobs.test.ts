/**
 * Each maintenance job removes exactly what it should — rows and R2 objects — and nothing else; a second run
 * leaves this test's rows alone; concurrent runs never process a row twice; a backlog larger than one run's
 * budget finishes over several runs. Postgres is shared with other test files running in parallel, so the
 * assertions are about the rows each test made, never about global counts.
 */
import { env } from "cloudflare:test";
import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashToken, randomToken } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import {
  auditEvents,
  chatRuns,
  conversations,
  emailDeliveries,
  files,
  invitations,
  jobRuns,
  messages,
  reactions,
  sessions,
  shareLinks,
  users,
  userTokens,
  workspaces,
} from "../../src/db/schema";
import type { JobOptions } from "../../src/jobs/jobs";
import { runJob } from "../../src/jobs/runner";
import type { JobName } from "../../src/jobs/schedule";
import { insertConversation, insertMessage, insertPersona } from "../conversations/support";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { withDeps } from "../helpers/deps";
import { createTenant, type Tenant, unique } from "../helpers/factories";
import { waitForMails } from "../helpers/mail";

const run = (job: JobName, options: JobOptions = {}) => withDeps((deps) => runJob(deps, job, options));
const past = (ms: number) => new Date(Date.now() - ms);
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

async function conversationOf(
  tenant: Tenant,
  owner = tenant.member,
  values: Partial<typeof conversations.$inferInsert> = {},
) {
  const persona = await insertPersona({ workspaceId: tenant.workspace.id });
  const conversationId = await insertConversation(
    { workspace: tenant.workspace, personaId: persona.id },
    owner,
    values,
  );
  const messageId = await insertMessage(tenant.workspace.id, conversationId, { parent: null, author: owner });
  return { conversationId, messageId, personaId: persona.id };
}

async function fileOf(
  tenant: Tenant,
  conversationId: string,
  status: "PENDING" | "READY",
  createdAt = new Date(),
) {
  const id = newId();
  const r2Key = `attachments/${tenant.workspace.id}/${conversationId}/${id}`;
  await env.FILES.put(r2Key, "bytes");
  await withDb((db) =>
    db.insert(files).values({
      id,
      workspaceId: tenant.workspace.id,
      conversationId,
      uploaderId: tenant.member.id,
      r2Key,
      filename: "a.pdf",
      contentType: "application/pdf",
      sizeBytes: 5,
      status,
      createdAt,
      ...(status === "READY" ? { uploadedAt: createdAt } : {}),
    }),
  );
  return { id, r2Key };
}

const rowExists = async (
  table: typeof files | typeof sessions | typeof userTokens | typeof shareLinks,
  id: string,
) => (await withDb((db) => db.select({ id: table.id }).from(table).where(eq(table.id, id)))).length === 1;
const objectExists = async (key: string) => (await env.FILES.head(key)) !== null;

describe("job tokens", () => {
  it("deletes expired tokens and invitations, keeps live ones", async () => {
    const tenant = await createTenant();
    const token = async (expiresAt: Date) => {
      const [row] = await withDb(async (db) =>
        db
          .insert(userTokens)
          .values({
            purpose: "RESET_PASSWORD",
            tokenHash: await hashToken(randomToken()),
            userId: tenant.member.id,
            expiresAt,
          })
          .returning({ id: userTokens.id }),
      );
      return row?.id as string;
    };
    const invitation = async (expiresAt: Date) => {
      const [row] = await withDb(async (db) =>
        db
          .insert(invitations)
          .values({
            workspaceId: tenant.workspace.id,
            email: `${unique("inv")}@x.test`,
            tokenHash: await hashToken(randomToken()),
            invitedBy: tenant.admin.id,
            expiresAt,
          })
          .returning({ id: invitations.id }),
      );
      return row?.id as string;
    };
    const [expiredToken, liveToken, expiredInvite, liveInvite] = await Promise.all([
      token(past(1000)),
      token(new Date(Date.now() + HOUR)),
      invitation(past(1000)),
      invitation(new Date(Date.now() + DAY)),
    ]);
    const first = await run("tokens");
    expect(first.status).toBe("SUCCEEDED");
    expect(first.stats.userTokens).toBeGreaterThanOrEqual(1);
    expect(await rowExists(userTokens, expiredToken)).toBe(false);
    expect(await rowExists(userTokens, liveToken)).toBe(true);
    const left = await withDb((db) =>
      db
        .select({ id: invitations.id })
        .from(invitations)
        .where(inArray(invitations.id, [expiredInvite, liveInvite])),
    );
    expect(left).toEqual([{ id: liveInvite }]);
    await run("tokens");
    expect(await rowExists(userTokens, liveToken)).toBe(true);
  });
});

describe("job files", () => {
  it("removes PENDING uploads older than an hour (rows and objects) and nothing else", async () => {
    const tenant = await createTenant();
    const { conversationId } = await conversationOf(tenant);
    const stale = await fileOf(tenant, conversationId, "PENDING", past(2 * HOUR));
    const fresh = await fileOf(tenant, conversationId, "PENDING");
    const ready = await fileOf(tenant, conversationId, "READY", past(2 * HOUR));
    await run("files");
    expect(await rowExists(files, stale.id)).toBe(false);
    expect(await objectExists(stale.r2Key)).toBe(false);
    for (const kept of [fresh, ready]) {
      expect(await rowExists(files, kept.id)).toBe(true);
      expect(await objectExists(kept.r2Key)).toBe(true);
    }
  });

  it("works through a backlog in bounded batches, and two concurrent runs never take the same row", async () => {
    const tenant = await createTenant();
    const { conversationId } = await conversationOf(tenant);
    const stale = await Promise.all(
      Array.from({ length: 12 }, () => fileOf(tenant, conversationId, "PENDING", past(3 * HOUR))),
    );
    const ids = stale.map((f) => f.id);
    const remaining = async () =>
      (await withDb((db) => db.select({ id: files.id }).from(files).where(inArray(files.id, ids)))).length;

    const options = { batchSize: 4, maxBatches: 1 };
    const [a, b] = await Promise.all([run("files", options), run("files", options)]);
    expect((a.stats.files ?? 0) + (b.stats.files ?? 0)).toBe(12 - (await remaining()));
    expect(await remaining()).toBe(4);
    await run("files", options);
    expect(await remaining()).toBe(0);
    for (const f of stale) expect(await objectExists(f.r2Key)).toBe(false);
  });
});

describe("job sessions", () => {
  it("deletes sessions 7 days past their absolute expiry, keeps the others", async () => {
    const tenant = await createTenant();
    const old = await signIn(tenant.member, {
      absoluteExpiresAt: past(8 * DAY),
      idleExpiresAt: past(8 * DAY),
    });
    const recent = await signIn(tenant.member, {
      absoluteExpiresAt: past(6 * DAY),
      idleExpiresAt: past(6 * DAY),
    });
    const live = await signIn(tenant.member);
    await run("sessions");
    expect(await rowExists(sessions, old.sessionId)).toBe(false);
    expect(await rowExists(sessions, recent.sessionId)).toBe(true);
    expect(await rowExists(sessions, live.sessionId)).toBe(true);
  });
});

describe("job shares", () => {
  it("deletes expired share links, keeps live ones", async () => {
    const tenant = await createTenant();
    const { conversationId, messageId } = await conversationOf(tenant, tenant.member, {
      visibility: "SHARED",
    });
    const link = async (expiresAt: Date, createdAt: Date) => {
      const [row] = await withDb(async (db) =>
        db
          .insert(shareLinks)
          .values({
            workspaceId: tenant.workspace.id,
            conversationId,
            leafMessageId: messageId,
            tokenHash: await hashToken(randomToken()),
            createdBy: tenant.member.id,
            expiresAt,
            createdAt,
          })
          .returning({ id: shareLinks.id }),
      );
      return row?.id as string;
    };
    const expired = await link(past(1000), past(2 * DAY));
    const live = await link(new Date(Date.now() + DAY), new Date());
    await run("shares");
    expect(await rowExists(shareLinks, expired)).toBe(false);
    expect(await rowExists(shareLinks, live)).toBe(true);
  });
});

describe("job chat-runs", () => {
  it("times out relays stuck PENDING for 5 minutes and marks their user message FAILED", async () => {
    const tenant = await createTenant();
    const { conversationId, personaId } = await conversationOf(tenant);
    const insertRun = async (startedAt: Date) => {
      const messageId = await insertMessage(tenant.workspace.id, conversationId, {
        parent: null,
        author: tenant.member,
        status: "PENDING",
      });
      const [row] = await withDb((db) =>
        db
          .insert(chatRuns)
          .values({
            workspaceId: tenant.workspace.id,
            conversationId,
            personaId,
            userMessageId: messageId,
            startedAt,
          })
          .returning({ id: chatRuns.id }),
      );
      return { runId: row?.id as string, messageId };
    };
    const stuck = await insertRun(past(6 * 60_000));
    const running = await insertRun(new Date());
    const first = await run("chat-runs");
    expect(first.stats.chatRuns).toBeGreaterThanOrEqual(1);
    const state = await withDb(async (db) => ({
      runs: await db
        .select()
        .from(chatRuns)
        .where(inArray(chatRuns.id, [stuck.runId, running.runId])),
      messages: await db
        .select()
        .from(messages)
        .where(inArray(messages.id, [stuck.messageId, running.messageId])),
    }));
    const runOf = (id: string) => state.runs.find((r) => r.id === id);
    const messageOf = (id: string) => state.messages.find((m) => m.id === id);
    expect(runOf(stuck.runId)).toMatchObject({ status: "TIMEOUT", errorClass: "TIMEOUT" });
    expect(runOf(stuck.runId)?.finishedAt).not.toBeNull();
    expect(messageOf(stuck.messageId)?.status).toBe("FAILED");
    expect(runOf(running.runId)?.status).toBe("PENDING");
    expect(messageOf(running.messageId)?.status).toBe("PENDING");
  });
});

describe("job emails", () => {
  it("re-enqueues QUEUED mails nobody tried for 10 minutes, once, and the consumer then sends them", async () => {
    const to = `${unique("lost")}@mail.test`;
    const [row] = await withDb((db) =>
      db
        .insert(emailDeliveries)
        .values({
          recipient: to,
          template: "password-changed",
          params: { name: "Lost" },
          createdAt: past(11 * 60_000),
        })
        .returning({ id: emailDeliveries.id }),
    );
    const first = await run("emails");
    expect(first.stats.requeued).toBeGreaterThanOrEqual(1);
    const [marked] = await withDb((db) =>
      db
        .select()
        .from(emailDeliveries)
        .where(eq(emailDeliveries.id, row?.id as string)),
    );
    expect(marked?.claimedAt).not.toBeNull();
    const mails = await waitForMails(to);
    expect(mails).toHaveLength(1);
    // Sent now, so a second run has nothing of ours to re-enqueue.
    await run("emails");
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await waitForMails(to)).toHaveLength(1);
  });
});

describe("job unverified-accounts", () => {
  it("deletes registrations unverified for 7 days, keeps younger ones", async () => {
    const insertPending = async (createdAt: Date) => {
      const [row] = await withDb((db) =>
        db
          .insert(users)
          .values({ email: `${unique("pending")}@x.test`, passwordHash: "x", createdAt })
          .returning({ id: users.id }),
      );
      return row?.id as string;
    };
    const old = await insertPending(past(8 * DAY));
    const young = await insertPending(past(6 * DAY));
    await run("unverified-accounts");
    const left = await withDb((db) =>
      db
        .select({ id: users.id })
        .from(users)
        .where(inArray(users.id, [old, young])),
    );
    expect(left).toEqual([{ id: young }]);
  });
});

describe("job account-purge", () => {
  it("purges an account past its grace: private data and objects go, SHARED conversations pass to an admin", async () => {
    const tenant = await createTenant();
    const leaving = tenant.member;
    const privateChat = await conversationOf(tenant, leaving);
    const privateFile = await fileOf(tenant, privateChat.conversationId, "READY");
    const sharedChat = await conversationOf(tenant, leaving, { visibility: "SHARED" });
    const adminChat = await conversationOf(tenant, tenant.admin, { visibility: "SHARED" });
    const avatarKey = `avatars/${tenant.workspace.id}/${leaving.id}/${newId()}`;
    await env.FILES.put(avatarKey, "img");
    await withDb(async (db) => {
      await db.insert(reactions).values({
        messageId: adminChat.messageId,
        userId: leaving.id,
        workspaceId: tenant.workspace.id,
        type: "LIKE",
      });
      await db.insert(auditEvents).values({
        workspaceId: tenant.workspace.id,
        actorUserId: leaving.id,
        actorType: "USER",
        eventType: "LOGIN_SUCCESS",
        ip: "203.0.113.9",
        userAgent: "Browser",
      });
      await db
        .update(users)
        .set({ status: "PENDING_DELETION", avatarKey, purgeAfter: past(1000) })
        .where(eq(users.id, leaving.id));
    });

    const result = await run("account-purge");
    expect(result.status, JSON.stringify(result)).toBe("SUCCEEDED");
    await withDb(async (db) => {
      expect(await db.select().from(users).where(eq(users.id, leaving.id))).toEqual([]);
      expect(
        await db.select().from(conversations).where(eq(conversations.id, privateChat.conversationId)),
      ).toEqual([]);
      const [shared] = await db
        .select()
        .from(conversations)
        .where(eq(conversations.id, sharedChat.conversationId));
      expect(shared?.ownerId).toBe(tenant.admin.id);
      // The shared conversation's messages stay, without an author.
      const [kept] = await db.select().from(messages).where(eq(messages.id, sharedChat.messageId));
      expect(kept?.authorId).toBeNull();
      expect(await db.select().from(reactions).where(eq(reactions.messageId, adminChat.messageId))).toEqual(
        [],
      );
      const trail = await db
        .select()
        .from(auditEvents)
        .where(
          and(eq(auditEvents.workspaceId, tenant.workspace.id), eq(auditEvents.eventType, "LOGIN_SUCCESS")),
        );
      expect(trail).toHaveLength(1);
      expect(trail[0]).toMatchObject({ actorUserId: null, ip: null, userAgent: null });
      // Nobody else was touched.
      expect(await db.select({ id: users.id }).from(users).where(eq(users.id, tenant.admin.id))).toHaveLength(
        1,
      );
    });
    expect(await objectExists(privateFile.r2Key)).toBe(false);
    expect(await objectExists(avatarKey)).toBe(false);
  });

  it("deletes a purged user's SHARED conversations when no active admin is left to take them", async () => {
    const tenant = await createTenant();
    const chat = await conversationOf(tenant, tenant.admin, { visibility: "SHARED" });
    await withDb((db) =>
      db
        .update(users)
        .set({ status: "PENDING_DELETION", purgeAfter: past(1000) })
        .where(eq(users.id, tenant.admin.id)),
    );
    await run("account-purge");
    expect(
      await withDb((db) => db.select().from(conversations).where(eq(conversations.id, chat.conversationId))),
    ).toEqual([]);
  });
});

describe("job workspace-purge", () => {
  it("removes every row and both R2 prefixes of a workspace past its grace, across runs, and nothing else", async () => {
    const doomed = await createTenant();
    const neighbour = await createTenant();
    const chats = await Promise.all(Array.from({ length: 5 }, () => conversationOf(doomed)));
    const doomedFile = await fileOf(doomed, chats[0]?.conversationId as string, "READY");
    const doomedAvatar = `avatars/${doomed.workspace.id}/${doomed.member.id}/${newId()}`;
    await env.FILES.put(doomedAvatar, "img");
    const neighbourChat = await conversationOf(neighbour);
    const neighbourFile = await fileOf(neighbour, neighbourChat.conversationId, "READY");
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: past(1000) })
        .where(eq(workspaces.id, doomed.workspace.id)),
    );

    // A tiny budget: the purge needs several runs, and each run leaves a consistent state.
    for (let i = 0; i < 10; i++) {
      const result = await run("workspace-purge", { batchSize: 2, maxBatches: 2 });
      expect(result.status).toBe("SUCCEEDED");
      const left = await withDb((db) =>
        db.select().from(workspaces).where(eq(workspaces.id, doomed.workspace.id)),
      );
      if (left.length === 0) break;
    }
    await withDb(async (db) => {
      expect(await db.select().from(workspaces).where(eq(workspaces.id, doomed.workspace.id))).toEqual([]);
      expect(await db.select().from(users).where(eq(users.workspaceId, doomed.workspace.id))).toEqual([]);
      expect(
        await db.select().from(conversations).where(eq(conversations.workspaceId, doomed.workspace.id)),
      ).toEqual([]);
      expect(
        await db.select().from(conversations).where(eq(conversations.id, neighbourChat.conversationId)),
      ).toHaveLength(1);
    });
    expect((await env.FILES.list({ prefix: `attachments/${doomed.workspace.id}/` })).objects).toEqual([]);
    expect((await env.FILES.list({ prefix: `avatars/${doomed.workspace.id}/` })).objects).toEqual([]);
    expect(await objectExists(doomedFile.r2Key)).toBe(false);
    expect(await objectExists(neighbourFile.r2Key)).toBe(true);
  });
});

describe("job conversation-purge", () => {
  it("purges deleted conversations with their files, keeps the others", async () => {
    const tenant = await createTenant();
    const gone = await conversationOf(tenant, tenant.member, { deletedAt: new Date() });
    const goneFile = await fileOf(tenant, gone.conversationId, "READY");
    const kept = await conversationOf(tenant);
    const keptFile = await fileOf(tenant, kept.conversationId, "READY");
    await run("conversation-purge");
    const left = await withDb((db) =>
      db
        .select({ id: conversations.id })
        .from(conversations)
        .where(inArray(conversations.id, [gone.conversationId, kept.conversationId])),
    );
    expect(left).toEqual([{ id: kept.conversationId }]);
    expect(await objectExists(goneFile.r2Key)).toBe(false);
    expect(await objectExists(keptFile.r2Key)).toBe(true);
    expect(await withDb((db) => db.select().from(messages).where(eq(messages.id, gone.messageId)))).toEqual(
      [],
    );
  });
});

describe("job retention", () => {
  it("deletes audit events past 365 days, job runs past 90 days and sent mail rows past 30 days", async () => {
    const tenant = await createTenant();
    const ids = await withDb(async (db) => {
      const audit = await db
        .insert(auditEvents)
        .values([
          {
            workspaceId: tenant.workspace.id,
            actorType: "SYSTEM",
            eventType: "JOB_RUN",
            createdAt: past(366 * DAY),
          },
          {
            workspaceId: tenant.workspace.id,
            actorType: "SYSTEM",
            eventType: "JOB_RUN",
            createdAt: past(364 * DAY),
          },
        ])
        .returning({ id: auditEvents.id });
      const jobs = await db
        .insert(jobRuns)
        .values([
          { job: "tokens", status: "SUCCEEDED", startedAt: past(91 * DAY) },
          { job: "tokens", status: "SUCCEEDED", startedAt: past(89 * DAY) },
        ])
        .returning({ id: jobRuns.id });
      const mails = await db
        .insert(emailDeliveries)
        .values([
          { recipient: "a@x.test", template: "password-changed", status: "SENT", sentAt: past(31 * DAY) },
          { recipient: "b@x.test", template: "password-changed", status: "SENT", sentAt: past(29 * DAY) },
        ])
        .returning({ id: emailDeliveries.id });
      return { audit, jobs, mails };
    });
    await run("retention");
    await withDb(async (db) => {
      const audit = await db
        .select({ id: auditEvents.id })
        .from(auditEvents)
        .where(
          inArray(
            auditEvents.id,
            ids.audit.map((r) => r.id),
          ),
        );
      expect(audit).toEqual([ids.audit[1]]);
      const jobs = await db
        .select({ id: jobRuns.id })
        .from(jobRuns)
        .where(
          inArray(
            jobRuns.id,
            ids.jobs.map((r) => r.id),
          ),
        );
      expect(jobs).toEqual([ids.jobs[1]]);
      const mails = await db
        .select({ id: emailDeliveries.id })
        .from(emailDeliveries)
        .where(
          inArray(
            emailDeliveries.id,
            ids.mails.map((r) => r.id),
          ),
        );
      expect(mails).toEqual([ids.mails[1]]);
    });
  });
});

describe("job orphan-objects", () => {
  it("deletes objects no row references and keeps referenced ones", async () => {
    const tenant = await createTenant();
    const { conversationId } = await conversationOf(tenant);
    const referenced = await fileOf(tenant, conversationId, "READY");
    const avatarKey = `avatars/${tenant.workspace.id}/${tenant.member.id}/${newId()}`;
    await env.FILES.put(avatarKey, "img");
    await withDb((db) => db.update(users).set({ avatarKey }).where(eq(users.id, tenant.member.id)));
    const orphanAttachment = `attachments/${tenant.workspace.id}/${conversationId}/${newId()}`;
    const orphanAvatar = `avatars/${tenant.workspace.id}/${tenant.member.id}/${newId()}`;
    await env.FILES.put(orphanAttachment, "x");
    await env.FILES.put(orphanAvatar, "x");
    const result = await run("orphan-objects", { minObjectAgeMs: 0 });
    expect(result.status).toBe("SUCCEEDED");
    expect(await objectExists(orphanAttachment)).toBe(false);
    expect(await objectExists(orphanAvatar)).toBe(false);
    expect(await objectExists(referenced.r2Key)).toBe(true);
    expect(await objectExists(avatarKey)).toBe(true);
  });

  it("leaves young objects alone by default (an upload may be between its R2 write and its row)", async () => {
    const young = `attachments/${newId()}/${newId()}/${newId()}`;
    await env.FILES.put(young, "x");
    await run("orphan-objects");
    expect(await objectExists(young)).toBe(true);
    await env.FILES.delete(young);
  });
});

describe("job runs are recorded", () => {
  it("writes one job_runs row per run with counts, status and finish time", async () => {
    const result = await run("sessions");
    const [row] = await withDb((db) => db.select().from(jobRuns).where(eq(jobRuns.id, result.id)));
    expect(row).toMatchObject({ job: "sessions", status: "SUCCEEDED", error: null });
    expect(row?.finishedAt).not.toBeNull();
    expect(row?.stats).toHaveProperty("sessions");
  });
});
