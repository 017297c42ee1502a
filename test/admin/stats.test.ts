import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { conversations, messages, personas, users } from "../../src/db/schema";
import { workspaceStats } from "../../src/modules/admin/admin.service";
import { withDb } from "../helpers/db";
import { testDeps } from "../helpers/deps";
import { describeResponse } from "../helpers/request";
import { as, insertChat, signedTenant } from "../workspaces/support";

/** A tenant with members in every state and some chat history, old and recent. */
async function busyTenant() {
  const tenant = await signedTenant({
    extra: [
      { status: "DEACTIVATED" },
      { status: "PENDING_DELETION" },
      { role: "ADMIN" },
      { role: "ADMIN", status: "DEACTIVATED" },
    ],
  });
  const memberChat = await insertChat(tenant.workspace.id, tenant.member.id, 2);
  await insertChat(tenant.workspace.id, tenant.admin.id, 1);
  const deleted = await insertChat(tenant.workspace.id, tenant.admin.id, 3);
  await withDb(async (db) => {
    // A deleted conversation counts nowhere; an inactive persona is not an active one.
    await db
      .update(conversations)
      .set({ deletedAt: new Date() })
      .where(eq(conversations.id, deleted.conversationId));
    await db.update(personas).set({ isActive: false }).where(eq(personas.id, deleted.personaId));
    // One of the member's messages is 40 days old: counted in the totals, outside the activity window.
    const [oldest] = await db
      .select({ id: messages.id })
      .from(messages)
      .where(and(eq(messages.conversationId, memberChat.conversationId), eq(messages.role, "USER")))
      .orderBy(messages.createdAt)
      .limit(1);
    await db
      .update(messages)
      .set({ createdAt: sql`now() - interval '40 days'` })
      .where(eq(messages.id, oldest?.id as string));
    await db.update(users).set({ lastLoginAt: new Date() }).where(eq(users.id, tenant.admin.id));
  });
  return tenant;
}

describe("GET /api/admin/stats", () => {
  it("counts members by status and role, live conversations and messages, personas and 30-day activity", async () => {
    const tenant = await busyTenant();
    const res = await as(tenant.adminToken).get("/api/admin/stats");
    expect(res.status, describeResponse(res)).toBe(200);
    const stats = res.body;
    expect(stats.members).toEqual({
      total: 6,
      byStatus: { ACTIVE: 3, DEACTIVATED: 2, PENDING_DELETION: 1 },
      byRole: { ADMIN: 3, MEMBER: 3 },
      activeAdmins: 2,
    });
    expect(stats.conversations).toBe(2);
    expect(stats.messages).toBe(6);
    expect(stats.activePersonas.workspace).toBe(2);
    expect(stats.activePersonas.total).toBe(stats.activePersonas.workspace + stats.activePersonas.global);

    const today = new Date().toISOString().slice(0, 10);
    expect(stats.activity).toMatchObject({
      messagesSent: 2,
      activeMembers: 2,
      conversationsCreated: 2,
      signedInMembers: 1,
      newMembers: 6,
    });
    expect(stats.activity.daily).toHaveLength(30);
    expect(stats.activity.daily.at(-1)).toEqual({ date: today, messagesSent: 2, activeMembers: 2 });
    expect(stats.activity.daily[0].date).toBe(stats.activity.since.slice(0, 10));
    expect(Date.parse(stats.activity.since)).toBeGreaterThan(Date.now() - 30 * 86_400_000);
    expect(
      stats.activity.daily.slice(0, -1).every((d: { messagesSent: number }) => d.messagesSent === 0),
    ).toBe(true);
  });

  it("reads everything in exactly two statements", async () => {
    const tenant = await busyTenant();
    const handle = createDb(env.TEST_DATABASE_URL);
    const deps = testDeps({ db: handle.db });
    try {
      const stats = await workspaceStats(deps, tenant.workspace.id);
      expect(stats.members.total).toBe(6);
      expect(handle.stats.count).toBe(2);
    } finally {
      await deps.close();
      await handle.close();
    }
  });

  it("shows an empty workspace as zeros", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).get("/api/admin/stats");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ conversations: 0, messages: 0, activePersonas: { workspace: 0 } });
    expect(res.body.activity.messagesSent).toBe(0);
  });

  it("counts only the caller's workspace", async () => {
    const [busy, quiet] = await Promise.all([busyTenant(), signedTenant()]);
    expect(busy.workspace.id).not.toBe(quiet.workspace.id);
    const res = await as(quiet.adminToken).get("/api/admin/stats");
    expect(res.body.members.total).toBe(2);
    expect(res.body.messages).toBe(0);
  });

  it("answers 403 to a member and 401 without a token", async () => {
    const tenant = await signedTenant();
    const forbidden = await as(tenant.memberToken).get("/api/admin/stats");
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect((await as(undefined).get("/api/admin/stats")).status).toBe(401);
  });
});
