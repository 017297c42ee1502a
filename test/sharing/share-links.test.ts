import { SELF } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../src/core/crypto";
import { conversations, shareLinks, users, workspaces } from "../../src/db/schema";
import {
  auditsOf,
  type ConversationTenant,
  conversationTenant,
  insertConversation,
  insertMessage,
} from "../conversations/support";
import { withDb } from "../helpers/db";
import { api, BASE_URL, describeResponse, randomIp } from "../helpers/request";

/** A SHARED conversation of the tenant's owner with a two-message branch. */
async function sharedConversation(t: ConversationTenant) {
  const id = await insertConversation(t, t.owner.user, { visibility: "SHARED", title: "Shared talk" });
  const u1 = await insertMessage(t.workspace.id, id, {
    parent: null,
    author: t.owner.user,
    content: "hello persona",
  });
  const a1 = await insertMessage(t.workspace.id, id, {
    parent: u1,
    role: "ASSISTANT",
    content: "hello human",
  });
  return { id, u1, a1 };
}

const share = (t: ConversationTenant, id: string, body: unknown = {}, token = t.owner.token) =>
  api("POST", `/api/conversations/${id}/share`, { token, body });

async function view(url: string, ip = randomIp()) {
  const res = await SELF.fetch(url, { headers: { "CF-Connecting-IP": ip } });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: JSON.parse(text) };
}

const linkRow = async (id: string) =>
  (await withDb((db) => db.select().from(shareLinks).where(eq(shareLinks.id, id))))[0];

describe("POST /api/conversations/{id}/share", () => {
  it("creates a link shown once (only its hash stored), 30 days by default, audited", async () => {
    const t = await conversationTenant();
    const { id, a1 } = await sharedConversation(t);
    const res = await share(t, id);
    expect(res.status, describeResponse(res)).toBe(201);
    expect(Object.keys(res.body).sort()).toEqual(["expiresAt", "id", "url"]);
    const url = new URL(res.body.url);
    expect(url.origin).toBe(BASE_URL);
    const token = url.pathname.replace("/p/", "");
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const row = await linkRow(res.body.id);
    expect(row?.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(row)).not.toContain(token);
    expect(row?.leafMessageId).toBe(a1);
    const days = (new Date(res.body.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    const week = await share(t, id, { expiresInDays: 7 });
    expect((new Date(week.body.expiresAt).getTime() - Date.now()) / 86_400_000).toBeCloseTo(7, 1);
    const audits = await auditsOf(t.workspace.id, "SHARED_LINK_CREATED");
    expect(audits.map((a) => a.targetId).sort()).toEqual([res.body.id, week.body.id].sort());
    expect(JSON.stringify(audits)).not.toContain(token);
  });

  it("refuses 0 or 91 days (400), a PRIVATE conversation (409), non-owners (403) and an empty one (400)", async () => {
    const t = await conversationTenant();
    const { id } = await sharedConversation(t);
    for (const expiresInDays of [0, 91, 1.5]) {
      const res = await share(t, id, { expiresInDays });
      expect(res.status, describeResponse(res)).toBe(400);
    }
    for (const token of [t.other.token, t.adminActor.token]) {
      const res = await share(t, id, {}, token);
      expect(res.status, describeResponse(res)).toBe(403);
    }
    const privateId = await insertConversation(t, t.owner.user);
    await insertMessage(t.workspace.id, privateId, { parent: null, author: t.owner.user });
    const notShared = await share(t, privateId);
    expect(notShared.status, describeResponse(notShared)).toBe(409);
    expect(notShared.body.code).toBe("CONVERSATION_NOT_SHARED");
    const empty = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    expect((await share(t, empty)).status).toBe(400);
    // Someone else's PRIVATE conversation does not exist for the caller.
    const othersPrivate = await insertConversation(t, t.other.user);
    expect((await share(t, othersPrivate)).status).toBe(404);
  });
});

describe("GET /p/{token}", () => {
  it("shows the branch frozen at creation, without ids or emails, uncacheable, counted and audited", async () => {
    const t = await conversationTenant();
    const { id, a1 } = await sharedConversation(t);
    const created = await share(t, id);
    // The conversation moves on after the link was made: a new turn and an edit of the first message.
    const u2 = await insertMessage(t.workspace.id, id, {
      parent: a1,
      author: t.owner.user,
      content: "later",
    });
    await insertMessage(t.workspace.id, id, { parent: u2, role: "ASSISTANT", content: "later reply" });

    const first = await view(created.body.url);
    expect(first.status, first.text).toBe(200);
    expect(first.headers.get("Cache-Control")).toBe("no-store");
    expect(first.headers.get("Referrer-Policy")).toBe("no-referrer");
    // One statement: the link check, the view count, the audit and the branch (issue 15).
    expect(first.headers.get("Server-Timing")).toContain('desc="1 round trips"');
    expect(first.body.title).toBe("Shared talk");
    expect(first.body.messages.map((m: any) => [m.role, m.content])).toEqual([
      ["USER", "hello persona"],
      ["ASSISTANT", "hello human"],
    ]);
    expect(Object.keys(first.body.messages[0]).sort()).toEqual([
      "attachments",
      "content",
      "createdAt",
      "role",
    ]);
    expect(Object.keys(first.body.persona).sort()).toEqual([
      "about",
      "avatarUrl",
      "name",
      "personalName",
      "roleTitle",
    ]);
    for (const secret of [
      t.owner.user.id,
      t.owner.user.email,
      t.workspace.id,
      id,
      a1,
      t.personaId,
      created.body.id,
    ]) {
      expect(first.text).not.toContain(secret);
    }
    await view(created.body.url);
    const row = await linkRow(created.body.id);
    expect(row?.viewCount).toBe(2);
    expect(row?.lastViewedAt).not.toBeNull();
    const audits = await auditsOf(t.workspace.id, "SHARED_LINK_ACCESSED");
    expect(audits).toHaveLength(2);
    expect(audits[0]).toMatchObject({ actorType: "ANONYMOUS", actorUserId: null, targetId: created.body.id });
  });

  it("answers the same 404 for unknown, malformed, expired, revoked, unshared and deleted", async () => {
    const t = await conversationTenant();
    const urls: Record<string, string> = {};
    const make = async () => {
      const { id } = await sharedConversation(t);
      const res = await share(t, id);
      return { id, shareId: res.body.id as string, url: res.body.url as string };
    };
    const expired = await make();
    await withDb((db) =>
      db
        .update(shareLinks)
        .set({ createdAt: sql`now() - interval '2 days'`, expiresAt: sql`now() - interval '1 second'` })
        .where(eq(shareLinks.id, expired.shareId)),
    );
    urls.expired = expired.url;
    const revoked = await make();
    const revokeRes = await api("DELETE", `/api/conversations/${revoked.id}/shares/${revoked.shareId}`, {
      token: t.owner.token,
    });
    expect(revokeRes.status, describeResponse(revokeRes)).toBe(204);
    urls.revoked = revoked.url;
    const unshared = await make();
    await api("PATCH", `/api/conversations/${unshared.id}/visibility`, {
      token: t.owner.token,
      body: { visibility: "PRIVATE" },
    });
    urls.unshared = unshared.url;
    const deleted = await make();
    await api("DELETE", `/api/conversations/${deleted.id}`, { token: t.owner.token });
    urls.deleted = deleted.url;
    // Shared again after going PRIVATE: the revoked link stays dead.
    const reshared = await make();
    await withDb((db) =>
      db.update(conversations).set({ visibility: "PRIVATE" }).where(eq(conversations.id, reshared.id)),
    );
    urls.privateInDb = reshared.url;
    urls.unknown = `${BASE_URL}/p/${"A".repeat(43)}`;
    urls.malformed = `${BASE_URL}/p/not-a-token`;

    const answers = await Promise.all(
      Object.entries(urls).map(async ([k, u]) => [k, await view(u)] as const),
    );
    for (const [kind, res] of answers) {
      expect(res.status, `${kind}: ${res.text}`).toBe(404);
      expect(res.headers.get("Cache-Control"), kind).toBe("no-store");
      const { traceId: _t, ...body } = res.body;
      const { traceId: _u, ...reference } = (answers[0] as (typeof answers)[number])[1].body;
      expect(body, kind).toEqual(reference);
    }
  });

  it("stops serving (the same 404) when the owner is deactivated or the workspace awaits deletion", async () => {
    const [ownerGone, workspaceGone] = await Promise.all([conversationTenant(), conversationTenant()]);
    const links: Record<string, string> = {};
    for (const [kind, t] of [
      ["owner deactivated", ownerGone],
      ["workspace pending deletion", workspaceGone],
    ] as const) {
      const { id } = await sharedConversation(t);
      const res = await share(t, id);
      expect(res.status, describeResponse(res)).toBe(201);
      expect((await view(res.body.url)).status, kind).toBe(200);
      links[kind] = res.body.url;
    }
    await withDb((db) =>
      db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, ownerGone.owner.user.id)),
    );
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: sql`now() + interval '30 days'` })
        .where(eq(workspaces.id, workspaceGone.workspace.id)),
    );
    const reference = (await view(`${BASE_URL}/p/${"A".repeat(43)}`)).body;
    for (const [kind, url] of Object.entries(links)) {
      const res = await view(url);
      expect(res.status, `${kind}: ${res.text}`).toBe(404);
      const { traceId: _t, ...body } = res.body;
      const { traceId: _u, ...expected } = reference;
      expect(body, kind).toEqual(expected);
    }
  });

  it("limits views to 60 per minute per IP (429 with Retry-After)", async () => {
    const ip = randomIp();
    const url = `${BASE_URL}/p/${"B".repeat(43)}`;
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) {
      const res = await SELF.fetch(url, { headers: { "CF-Connecting-IP": ip } });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.status === 429) expect(res.headers.get("Retry-After")).toMatch(/^\d+$/);
    }
    expect(statuses.slice(0, 60).every((s) => s === 404)).toBe(true);
    expect(statuses[60]).toBe(429);
  });
});

describe("GET /api/conversations/{id}/shares", () => {
  it("lists links for the owner and the admin (never a token), 403 for other members", async () => {
    const t = await conversationTenant();
    const { id } = await sharedConversation(t);
    const created = await share(t, id);
    for (const token of [t.owner.token, t.adminActor.token]) {
      const res = await api("GET", `/api/conversations/${id}/shares`, { token });
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.body.items).toHaveLength(1);
      expect(res.body.items[0]).toMatchObject({ id: created.body.id, active: true, viewCount: 0 });
      expect(res.text).not.toContain(new URL(created.body.url).pathname.slice(3));
      expect(res.body.items[0].url).toBeUndefined();
    }
    const member = await api("GET", `/api/conversations/${id}/shares`, { token: t.other.token });
    expect(member.status, describeResponse(member)).toBe(403);
  });
});

describe("DELETE /api/conversations/{id}/shares/{shareId}", () => {
  it("lets the admin revoke (audited); unknown or another conversation's link is 404; member 403", async () => {
    const t = await conversationTenant();
    const { id } = await sharedConversation(t);
    const other = await sharedConversation(t);
    const created = await share(t, id);
    const elsewhere = await share(t, other.id);
    const member = await api("DELETE", `/api/conversations/${id}/shares/${created.body.id}`, {
      token: t.other.token,
    });
    expect(member.status, describeResponse(member)).toBe(403);
    for (const shareId of [crypto.randomUUID(), elsewhere.body.id, "nope"]) {
      const res = await api("DELETE", `/api/conversations/${id}/shares/${shareId}`, {
        token: t.adminActor.token,
      });
      expect(res.status, describeResponse(res)).toBe(404);
    }
    const res = await api("DELETE", `/api/conversations/${id}/shares/${created.body.id}`, {
      token: t.adminActor.token,
    });
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await view(created.body.url)).status).toBe(404);
    expect((await view(elsewhere.body.url)).status).toBe(200);
    const audits = await auditsOf(t.workspace.id, "SHARED_LINK_REVOKED");
    expect(audits.map((a) => [a.targetId, (a.data as any).byAdmin])).toEqual([[created.body.id, true]]);
  });
});
