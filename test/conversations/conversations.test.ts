import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations, shareLinks } from "../../src/db/schema";
import { listConversationsQuery } from "../../src/modules/conversations/store/list";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { explain, parentOfIndexScan } from "../helpers/plan";
import { api, describeResponse } from "../helpers/request";
import { auditsOf, conversationTenant, insertConversation, insertMessage, insertPersona } from "./support";

const conversationRow = async (id: string) =>
  (await withDb((db) => db.select().from(conversations).where(eq(conversations.id, id))))[0];

async function listAll(token: string, query = "", limit = 100) {
  const items: any[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const params = new URLSearchParams(query);
    params.set("limit", String(limit));
    if (cursor) params.set("cursor", cursor);
    const res = await api("GET", `/api/conversations?${params}`, { token });
    expect(res.status, describeResponse(res)).toBe(200);
    items.push(...res.body.items);
    cursor = res.body.nextCursor;
    pages++;
  } while (cursor && pages < 50);
  return items;
}

describe("POST /api/conversations", () => {
  it("creates an empty PRIVATE conversation with a workspace or global persona, audited", async () => {
    const t = await conversationTenant();
    const global = await insertPersona();
    for (const personaId of [t.personaId, global.id]) {
      const res = await api("POST", "/api/conversations", {
        token: t.owner.token,
        body: { personaId, title: "  Pricing  " },
      });
      expect(res.status, describeResponse(res)).toBe(201);
      expect(res.body).toMatchObject({
        title: "Pricing",
        visibility: "PRIVATE",
        archived: false,
        isOwner: true,
        owner: { id: t.owner.user.id, name: t.owner.user.name },
        persona: { id: personaId },
        currentLeafId: null,
        lastMessagePreview: null,
        messageCount: 0,
      });
      const audits = await auditsOf(t.workspace.id, "CONVERSATION_CREATED");
      expect(audits.some((a) => a.targetId === res.body.id && a.actorUserId === t.owner.user.id)).toBe(true);
    }
  });

  it("answers 404 for another workspace's persona, an inactive one or an unknown id; 400 for unknown fields", async () => {
    const t = await conversationTenant();
    const foreign = await createTenant();
    const foreignPersona = await insertPersona({ workspaceId: foreign.workspace.id });
    const inactive = await insertPersona({ isActive: false });
    for (const personaId of [foreignPersona.id, inactive.id, crypto.randomUUID()]) {
      const res = await api("POST", "/api/conversations", { token: t.owner.token, body: { personaId } });
      expect(res.status, describeResponse(res)).toBe(404);
    }
    const bad = await api("POST", "/api/conversations", {
      token: t.owner.token,
      body: { personaId: t.personaId, visibility: "SHARED" },
    });
    expect(bad.status, describeResponse(bad)).toBe(400);
    expect(bad.body.code).toBe("VALIDATION_FAILED");
  });
});

describe("GET /api/conversations", () => {
  it("lists own conversations and the workspace's SHARED ones, never others' PRIVATE ones or another workspace's", async () => {
    const t = await conversationTenant();
    const foreign = await createTenant();
    const foreignPersona = await insertPersona({ workspaceId: foreign.workspace.id });
    const mine = await insertConversation(t, t.owner.user, { title: "mine" });
    const sharedByOther = await insertConversation(t, t.other.user, { visibility: "SHARED" });
    const privateOfOther = await insertConversation(t, t.other.user);
    const privateOfAdmin = await insertConversation(t, t.admin);
    await insertConversation({ workspace: foreign.workspace, personaId: foreignPersona.id }, foreign.member, {
      visibility: "SHARED",
    });

    const ids = (await listAll(t.owner.token)).map((c) => c.id);
    expect(ids.sort()).toEqual([mine, sharedByOther].sort());
    // The admin sees the SHARED one and its own, not the members' PRIVATE ones.
    const adminIds = (await listAll(t.adminActor.token)).map((c) => c.id);
    expect(adminIds.sort()).toEqual([sharedByOther, privateOfAdmin].sort());
    expect(adminIds).not.toContain(privateOfOther);
  });

  it("carries the persona summary, owner name, last message preview and messageCount", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user, { title: "Preview" });
    const root = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    await insertMessage(t.workspace.id, id, { parent: root, role: "ASSISTANT", content: "x".repeat(500) });
    const [item] = await listAll(t.owner.token);
    expect(item).toMatchObject({
      id,
      title: "Preview",
      owner: { id: t.owner.user.id, name: t.owner.user.name },
      persona: { id: t.personaId, roleTitle: "Coach" },
      messageCount: 2,
      lastMessagePreview: "x".repeat(200),
      isOwner: true,
    });
    expect(Object.keys(item.persona).sort()).toEqual(["avatarUrl", "id", "name", "roleTitle"]);
  });

  it("pages by last activity with a keyset cursor: every row once, newest first", async () => {
    const t = await conversationTenant();
    const created: string[] = [];
    for (let i = 0; i < 7; i++) {
      const id = await insertConversation(t, i % 2 ? t.owner.user : t.other.user, {
        visibility: "SHARED",
        // Two share a timestamp, so the id breaks the tie.
        lastMessageAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i === 3 ? 2 : i)),
      });
      created.push(id);
    }
    const items = await listAll(t.owner.token, "", 2);
    expect(items.map((c) => c.id)).toHaveLength(7);
    expect(new Set(items.map((c) => c.id)).size).toBe(7);
    const keys = items.map((c) => `${c.lastMessageAt}|${c.id}`);
    expect(keys).toEqual([...keys].sort().reverse());
    const bad = await api("GET", "/api/conversations?cursor=not-a-cursor", { token: t.owner.token });
    expect(bad.status, describeResponse(bad)).toBe(400);
  });

  it("filters by archived, personaId and q (title, case-insensitive, wildcards escaped)", async () => {
    const t = await conversationTenant();
    const second = await insertPersona({ workspaceId: t.workspace.id });
    const archived = await insertConversation(t, t.owner.user, { title: "old", archivedAt: new Date() });
    const percent = await insertConversation(t, t.owner.user, { title: "100% Pricing_Plan" });
    const plain = await insertConversation(t, t.owner.user, { title: "1000 pricing plans" });
    const other = await insertConversation({ ...t, personaId: second.id }, t.owner.user, { title: "other" });

    const active = (await listAll(t.owner.token)).map((c) => c.id);
    expect(active.sort()).toEqual([percent, plain, other].sort());
    expect((await listAll(t.owner.token, "archived=true")).map((c) => c.id)).toEqual([archived]);
    expect((await listAll(t.owner.token, `personaId=${second.id}`)).map((c) => c.id)).toEqual([other]);
    expect((await listAll(t.owner.token, "q=PRICING")).map((c) => c.id).sort()).toEqual(
      [percent, plain].sort(),
    );
    expect((await listAll(t.owner.token, `q=${encodeURIComponent("0%")}`)).map((c) => c.id)).toEqual([
      percent,
    ]);
    expect((await listAll(t.owner.token, "q=g_p")).map((c) => c.id)).toEqual([percent]);
  });

  it("uses an index for the list query (EXPLAIN on seeded rows)", async () => {
    const t = await conversationTenant();
    // Other tenants' rows too, as in production: the list must not read the whole table.
    const others = await Promise.all(Array.from({ length: 8 }, () => createTenant()));
    const seed = (workspaceId: string, ownerIds: string[], personaId: string, n: number) =>
      Array.from({ length: n }, (_, i) => ({
        id: crypto.randomUUID(),
        workspaceId,
        ownerId: ownerIds[i % ownerIds.length] as string,
        personaId,
        visibility: (i % 2 ? "SHARED" : "PRIVATE") as "SHARED" | "PRIVATE",
        lastMessageAt: new Date(Date.now() - i * 1000),
        archivedAt: i % 7 === 0 ? new Date() : null,
      }));
    await withDb(async (db) => {
      await db
        .insert(conversations)
        .values(seed(t.workspace.id, [t.owner.user.id, t.other.user.id], t.personaId, 400));
      for (const other of others) {
        await db
          .insert(conversations)
          .values(seed(other.workspace.id, [other.admin.id, other.member.id], t.personaId, 300));
      }
      await db.execute(sql`ANALYZE conversations`);
      const query = listConversationsQuery(
        { userId: t.owner.user.id, workspaceId: t.workspace.id },
        { archived: "false", limit: 20 },
        null,
      );
      const plan = JSON.stringify((await db.execute(sql`EXPLAIN (FORMAT JSON) ${query}`)).rows);
      const scans = [...plan.matchAll(/"Node Type":"([^"]+)"[^{}\]]*?"Relation Name":"conversations"/g)];
      expect(scans.length, plan).toBe(2);
      expect(
        scans.map((m) => m[1]),
        plan,
      ).not.toContain("Seq Scan");
      expect(plan).toContain("conversations_workspace_visibility_idx");
      // …and walks it in the list's order: the SHARED branch stops after a page (Limit right above the index
      // scan), never sorting the workspace's SHARED rows. Plain `DESC` did not match the index's NULLS LAST.
      const { root } = await explain(db, query);
      expect(parentOfIndexScan(root, "conversations_workspace_visibility_idx")?.["Node Type"], plan).toBe(
        "Limit",
      );
    });
  });

  it("hides deleted conversations at once", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const res = await api("DELETE", `/api/conversations/${id}`, { token: t.owner.token });
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await listAll(t.owner.token)).map((c) => c.id)).not.toContain(id);
    expect((await conversationRow(id))?.deletedAt).not.toBeNull();
  });
});

describe("GET /api/conversations/{id}", () => {
  it("shows the current branch with siblings, and ?leafId= another branch without moving the pointer", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    const ws = t.workspace.id;
    const u1 = await insertMessage(ws, id, { parent: null, author: t.owner.user });
    const a1 = await insertMessage(ws, id, { parent: u1, role: "ASSISTANT" });
    const u2 = await insertMessage(ws, id, { parent: a1, author: t.owner.user, content: "first try" });
    const a2 = await insertMessage(ws, id, { parent: u2, role: "ASSISTANT" });
    // An edit of u2: a sibling with its own reply; then the pointer goes back to the old branch.
    const u2b = await insertMessage(ws, id, { parent: a1, author: t.owner.user, content: "second try" });
    const a2b = await insertMessage(ws, id, { parent: u2b, role: "ASSISTANT" });
    await withDb((db) => db.update(conversations).set({ currentLeafId: a2 }).where(eq(conversations.id, id)));

    const current = await api("GET", `/api/conversations/${id}`, { token: t.other.token });
    expect(current.status, describeResponse(current)).toBe(200);
    expect(current.body.leafId).toBe(a2);
    expect(current.body.messages.map((m: any) => m.id)).toEqual([u1, a1, u2, a2]);
    const third = current.body.messages[2];
    expect(third.siblings).toEqual({ index: 0, count: 2, ids: [u2, u2b] });
    expect(current.body.messages[0].siblings).toEqual({ index: 0, count: 1, ids: [u1] });

    // A sibling id continues down to its newest leaf.
    const other = await api("GET", `/api/conversations/${id}?leafId=${u2b}`, { token: t.owner.token });
    expect(other.status, describeResponse(other)).toBe(200);
    expect(other.body.messages.map((m: any) => m.id)).toEqual([u1, a1, u2b, a2b]);
    expect(other.body.messages[2].siblings).toMatchObject({ index: 1, count: 2 });
    expect(other.body.leafId).toBe(a2b);
    expect(other.body.currentLeafId).toBe(a2);
    expect((await conversationRow(id))?.currentLeafId).toBe(a2);
  });

  it("answers 400 for a leafId of another conversation, and an empty branch before the first message", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const empty = await api("GET", `/api/conversations/${id}`, { token: t.owner.token });
    expect(empty.status, describeResponse(empty)).toBe(200);
    expect(empty.body).toMatchObject({ messages: [], leafId: null });
    const elsewhere = await insertConversation(t, t.owner.user);
    const foreignMessage = await insertMessage(t.workspace.id, elsewhere, {
      parent: null,
      author: t.owner.user,
    });
    for (const leafId of [foreignMessage, crypto.randomUUID()]) {
      const res = await api("GET", `/api/conversations/${id}?leafId=${leafId}`, { token: t.owner.token });
      expect(res.status, describeResponse(res)).toBe(400);
      expect(res.body.errors[0].path).toBe("query.leafId");
    }
  });

  it("carries reaction counts and the caller's own reaction", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    const u1 = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const a1 = await insertMessage(t.workspace.id, id, { parent: u1, role: "ASSISTANT" });
    for (const [token, type] of [
      [t.owner.token, "LIKE"],
      [t.other.token, "LIKE"],
      [t.adminActor.token, "DISLIKE"],
    ] as const) {
      const res = await api("POST", `/api/messages/${a1}/reactions`, { token, body: { type } });
      expect(res.status, describeResponse(res)).toBe(200);
    }
    const res = await api("GET", `/api/conversations/${id}`, { token: t.adminActor.token });
    const reply = res.body.messages[1];
    expect(reply.reactions).toEqual({ LIKE: 2, DISLIKE: 1 });
    expect(reply.myReaction).toBe("DISLIKE");
    expect(res.body.messages[0]).toMatchObject({ reactions: { LIKE: 0, DISLIKE: 0 }, myReaction: null });
    expect(res.body.isOwner).toBe(false);
  });
});

describe("PATCH /api/conversations/{id}", () => {
  it("renames (audited) and moves the pointer to a leaf only", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const u1 = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const a1 = await insertMessage(t.workspace.id, id, { parent: u1, role: "ASSISTANT" });
    const u1b = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });

    const renamed = await api("PATCH", `/api/conversations/${id}`, {
      token: t.owner.token,
      body: { title: "Renamed", currentLeafId: a1 },
    });
    expect(renamed.status, describeResponse(renamed)).toBe(200);
    expect(renamed.body).toMatchObject({ title: "Renamed", currentLeafId: a1 });
    expect((await auditsOf(t.workspace.id, "CONVERSATION_TITLE_UPDATED")).map((a) => a.targetId)).toEqual([
      id,
    ]);

    const notLeaf = await api("PATCH", `/api/conversations/${id}`, {
      token: t.owner.token,
      body: { currentLeafId: u1 },
    });
    expect(notLeaf.status, describeResponse(notLeaf)).toBe(400);
    const elsewhere = await insertConversation(t, t.owner.user);
    const foreignLeaf = await insertMessage(t.workspace.id, elsewhere, {
      parent: null,
      author: t.owner.user,
    });
    const foreign = await api("PATCH", `/api/conversations/${id}`, {
      token: t.owner.token,
      body: { currentLeafId: foreignLeaf },
    });
    expect(foreign.status, describeResponse(foreign)).toBe(400);
    expect((await conversationRow(id))?.currentLeafId).toBe(a1);

    const ok = await api("PATCH", `/api/conversations/${id}`, {
      token: t.owner.token,
      body: { currentLeafId: u1b },
    });
    expect(ok.status, describeResponse(ok)).toBe(200);
    const cleared = await api("PATCH", `/api/conversations/${id}`, {
      token: t.owner.token,
      body: { title: null },
    });
    expect(cleared.body.title).toBeNull();
    const empty = await api("PATCH", `/api/conversations/${id}`, { token: t.owner.token, body: {} });
    expect(empty.status, describeResponse(empty)).toBe(400);
  });
});

describe("PATCH /api/conversations/{id}/visibility", () => {
  it("shares and unshares; going PRIVATE revokes the share links; audited", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const leaf = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const shared = await api("PATCH", `/api/conversations/${id}/visibility`, {
      token: t.owner.token,
      body: { visibility: "SHARED" },
    });
    expect(shared.status, describeResponse(shared)).toBe(200);
    expect(shared.body.visibility).toBe("SHARED");
    await withDb((db) =>
      db.insert(shareLinks).values(
        [1, 2].map((n) => ({
          workspaceId: t.workspace.id,
          conversationId: id,
          leafMessageId: leaf,
          tokenHash: `hash-${crypto.randomUUID()}-${n}`,
          createdBy: t.owner.user.id,
          expiresAt: new Date(Date.now() + 86_400_000),
        })),
      ),
    );
    // The admin may make it PRIVATE again.
    const unshared = await api("PATCH", `/api/conversations/${id}/visibility`, {
      token: t.adminActor.token,
      body: { visibility: "PRIVATE" },
    });
    expect(unshared.status, describeResponse(unshared)).toBe(200);
    const links = await withDb((db) =>
      db
        .select()
        .from(shareLinks)
        .where(and(eq(shareLinks.conversationId, id))),
    );
    expect(links.map((l) => l.revokedAt !== null)).toEqual([true, true]);
    const audits = await auditsOf(t.workspace.id, "CONVERSATION_VISIBILITY_CHANGED");
    expect(audits.map((a) => a.data)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ from: "PRIVATE", to: "SHARED", byAdmin: false }),
        expect.objectContaining({ from: "SHARED", to: "PRIVATE", byAdmin: true, revokedLinks: 2 }),
      ]),
    );
    // Now PRIVATE: the admin can no longer see it at all.
    const again = await api("PATCH", `/api/conversations/${id}/visibility`, {
      token: t.adminActor.token,
      body: { visibility: "SHARED" },
    });
    expect(again.status, describeResponse(again)).toBe(404);
    const read = await api("GET", `/api/conversations/${id}`, { token: t.adminActor.token });
    expect(read.status).toBe(404);
  });

  it("revokes a link the switch to PRIVATE could not see (created while it waited), in the same round trip", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const leaf = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    // What the race leaves behind: a live link on a PRIVATE conversation (its creation committed while the
    // switch waited for the conversation's lock, after the switch's snapshot was taken).
    const liveLink = async () => {
      const [row] = await withDb((db) =>
        db
          .insert(shareLinks)
          .values({
            workspaceId: t.workspace.id,
            conversationId: id,
            leafMessageId: leaf,
            tokenHash: `hash-${crypto.randomUUID()}`,
            createdBy: t.owner.user.id,
            expiresAt: new Date(Date.now() + 86_400_000),
          })
          .returning(),
      );
      return row;
    };
    const raced = await liveLink();
    const res = await api("PATCH", `/api/conversations/${id}/visibility`, {
      token: t.owner.token,
      body: { visibility: "PRIVATE" },
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.headers.get("Server-Timing")).toContain('desc="1 round trips"');
    const [link] = await withDb((db) =>
      db
        .select()
        .from(shareLinks)
        .where(eq(shareLinks.id, raced?.id ?? "")),
    );
    expect(link?.revokedAt).not.toBeNull();
    const audits = await auditsOf(t.workspace.id, "SHARED_LINK_REVOKED");
    expect(audits.map((a) => [a.targetId, a.data])).toEqual([
      [raced?.id, expect.objectContaining({ conversationId: id, race: true })],
    ]);
    // A member who cannot change it sweeps nothing (and gets 404: it is PRIVATE).
    const other = await liveLink();
    const refused = await api("PATCH", `/api/conversations/${id}/visibility`, {
      token: t.other.token,
      body: { visibility: "PRIVATE" },
    });
    expect(refused.status, describeResponse(refused)).toBe(404);
    const [still] = await withDb((db) =>
      db
        .select()
        .from(shareLinks)
        .where(eq(shareLinks.id, other?.id ?? "")),
    );
    expect(still?.revokedAt).toBeNull();
  });
});

describe("PATCH /api/conversations/{id}/archive", () => {
  it("archives and unarchives, audited with data.archived", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    for (const archived of [true, false]) {
      const res = await api("PATCH", `/api/conversations/${id}/archive`, {
        token: t.owner.token,
        body: { archived },
      });
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.body.archived).toBe(archived);
      const listed = await api("GET", `/api/conversations?archived=${archived}`, { token: t.owner.token });
      expect(listed.body.items.map((c: any) => c.id)).toContain(id);
    }
    const audits = await auditsOf(t.workspace.id, "CONVERSATION_ARCHIVED");
    expect(audits.map((a) => (a.data as any).archived).sort()).toEqual([false, true]);
  });
});

describe("DELETE /api/conversations/{id}", () => {
  it("soft-deletes: every route answers 404 afterwards, its live links are revoked; audited", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    const msg = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const link = (n: number, revokedAt: Date | null) => ({
      workspaceId: t.workspace.id,
      conversationId: id,
      leafMessageId: msg,
      tokenHash: `hash-${crypto.randomUUID()}-${n}`,
      createdBy: t.owner.user.id,
      expiresAt: new Date(Date.now() + 86_400_000),
      revokedAt,
    });
    const revokedEarlier = new Date(Date.now() - 60_000);
    await withDb((db) =>
      db.insert(shareLinks).values([link(1, null), link(2, null), link(3, revokedEarlier)]),
    );
    const res = await api("DELETE", `/api/conversations/${id}`, { token: t.owner.token });
    expect(res.status, describeResponse(res)).toBe(204);
    const links = await withDb((db) => db.select().from(shareLinks).where(eq(shareLinks.conversationId, id)));
    expect(links.every((l) => l.revokedAt !== null)).toBe(true);
    // The link revoked before keeps its time.
    expect(links.filter((l) => l.revokedAt?.getTime() === revokedEarlier.getTime())).toHaveLength(1);
    for (const [method, path, body] of [
      ["GET", `/api/conversations/${id}`, undefined],
      ["DELETE", `/api/conversations/${id}`, undefined],
      ["PATCH", `/api/conversations/${id}/archive`, { archived: true }],
      ["POST", `/api/messages/${msg}/reactions`, { type: "LIKE" }],
    ] as const) {
      for (const token of [t.owner.token, t.other.token]) {
        const after = await api(method, path, { token, body });
        expect(after.status, `${method} ${path}: ${describeResponse(after)}`).toBe(404);
      }
    }
    const deleted = await auditsOf(t.workspace.id, "CONVERSATION_DELETED");
    expect(deleted.map((a) => [a.targetId, (a.data as { revokedLinks: number }).revokedLinks])).toEqual([
      [id, 2],
    ]);
  });
});

describe("POST /api/messages/{id}/reactions", () => {
  it("toggles LIKE / DISLIKE per user with counts, audited added and removed", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    const msg = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const react = (token: string, type: string) =>
      api("POST", `/api/messages/${msg}/reactions`, { token, body: { type } });

    expect((await react(t.owner.token, "LIKE")).body).toEqual({
      type: "LIKE",
      counts: { LIKE: 1, DISLIKE: 0 },
    });
    expect((await react(t.other.token, "LIKE")).body).toEqual({
      type: "LIKE",
      counts: { LIKE: 2, DISLIKE: 0 },
    });
    expect((await react(t.owner.token, "DISLIKE")).body).toEqual({
      type: "DISLIKE",
      counts: { LIKE: 1, DISLIKE: 1 },
    });
    expect((await react(t.owner.token, "DISLIKE")).body).toEqual({
      type: null,
      counts: { LIKE: 1, DISLIKE: 0 },
    });
    const bad = await react(t.owner.token, "LOVE");
    expect(bad.status, describeResponse(bad)).toBe(400);
    expect((await auditsOf(t.workspace.id, "REACTION_ADDED")).length).toBe(3);
    expect((await auditsOf(t.workspace.id, "REACTION_REMOVED")).length).toBe(1);
  });

  it("refuses writes in a workspace pending deletion", async () => {
    const t = await conversationTenant();
    const id = await insertConversation(t, t.owner.user);
    const msg = await insertMessage(t.workspace.id, id, { parent: null, author: t.owner.user });
    const { workspaces } = await import("../../src/db/schema");
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: new Date(Date.now() + 30 * 86_400_000) })
        .where(eq(workspaces.id, t.workspace.id)),
    );
    const token = (await signIn(t.owner.user)).accessToken;
    const res = await api("POST", `/api/messages/${msg}/reactions`, { token, body: { type: "LIKE" } });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("WORKSPACE_PENDING_DELETION");
    const read = await api("GET", `/api/conversations/${id}`, { token });
    expect(read.status).toBe(200);
  });
});
