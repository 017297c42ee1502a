import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations, files, messageFiles, messages } from "../../src/db/schema";
import {
  auditsOf,
  type ConversationTenant,
  conversationTenant,
  insertConversation,
  insertMessage,
  insertPersona,
} from "../conversations/support";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

async function script(path: string, behaviours: unknown[]) {
  const res = await fetch(`${env.WEBHOOK_FAKE_URL}/__control/script`, {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ path, behaviours }),
  });
  expect(res.ok).toBe(true);
}

async function received(path: string): Promise<any[]> {
  const res = await fetch(`${env.WEBHOOK_FAKE_URL}/__control/requests?path=${encodeURIComponent(path)}`);
  return ((await res.json()) as any[]).map((r) => r.json);
}

const conversationRow = async (id: string) =>
  (await withDb((db) => db.select().from(conversations).where(eq(conversations.id, id))))[0];
const messageCount = async (conversationId: string) =>
  (await withDb((db) => db.select().from(messages).where(eq(messages.conversationId, conversationId))))
    .length;

/** u1 → a1 → u2 → a2 in a conversation of the tenant's owner, with a persona on its own webhook path. */
async function fourMessages(t: ConversationTenant, visibility: "PRIVATE" | "SHARED" = "PRIVATE") {
  const persona = await insertPersona({ workspaceId: t.workspace.id });
  const ctx = { ...t, personaId: persona.id };
  const id = await insertConversation(ctx, t.owner.user, { visibility });
  const ws = t.workspace.id;
  const u1 = await insertMessage(ws, id, { parent: null, author: t.owner.user, content: "first question" });
  const a1 = await insertMessage(ws, id, { parent: u1, role: "ASSISTANT", content: "first answer" });
  const u2 = await insertMessage(ws, id, { parent: a1, author: t.owner.user, content: "second question" });
  const a2 = await insertMessage(ws, id, { parent: u2, role: "ASSISTANT", content: "second answer" });
  return { id, persona, u1, a1, u2, a2 };
}

const edit = (token: string, messageId: string, content: string) =>
  api("PATCH", `/api/messages/${messageId}`, { token, body: { content } });

describe("PATCH /api/messages/{id}", () => {
  it("adds a sibling, relays that branch's history, stores the reply under it and moves the pointer", async () => {
    const t = await conversationTenant();
    const c = await fourMessages(t);
    const res = await edit(t.owner.token, c.u2, "second question, rephrased");
    expect(res.status, describeResponse(res)).toBe(200);
    const { userMessage, assistantMessage } = res.body;
    expect(userMessage).toMatchObject({
      parentId: c.a1,
      role: "USER",
      content: "second question, rephrased",
    });
    expect(assistantMessage).toMatchObject({
      parentId: userMessage.id,
      role: "ASSISTANT",
      status: "COMPLETE",
    });

    const [sent] = await received(c.persona.path);
    expect(sent.message).toBe("second question, rephrased");
    expect(sent.messageId).toBe(userMessage.id);
    expect(sent.history).toEqual([
      { role: "user", content: "first question" },
      { role: "assistant", content: "first answer" },
    ]);

    expect((await conversationRow(c.id))?.currentLeafId).toBe(assistantMessage.id);
    const view = await api("GET", `/api/conversations/${c.id}`, { token: t.owner.token });
    expect(view.body.messages.map((m: any) => m.id)).toEqual([
      c.u1,
      c.a1,
      userMessage.id,
      assistantMessage.id,
    ]);
    expect(view.body.messages[2].siblings).toEqual({ index: 1, count: 2, ids: [c.u2, userMessage.id] });
    // The old branch is intact.
    const old = await api("GET", `/api/conversations/${c.id}?leafId=${c.u2}`, { token: t.owner.token });
    expect(old.body.messages.map((m: any) => m.id)).toEqual([c.u1, c.a1, c.u2, c.a2]);
    expect(old.body.messages[3].content).toBe("second answer");

    const audits = await auditsOf(t.workspace.id, "MESSAGE_EDITED");
    expect(audits.map((a) => [a.targetId, (a.data as any).editedMessageId])).toEqual([
      [userMessage.id, c.u2],
    ]);
    expect(JSON.stringify(audits)).not.toContain("rephrased");
  });

  it("edits a first message into a new root with an empty history", async () => {
    const t = await conversationTenant();
    const c = await fourMessages(t);
    const res = await edit(t.owner.token, c.u1, "a different start");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.userMessage.parentId).toBeNull();
    const [sent] = await received(c.persona.path);
    expect(sent.history).toEqual([]);
    const view = await api("GET", `/api/conversations/${c.id}`, { token: t.owner.token });
    expect(view.body.messages[0].siblings).toMatchObject({ index: 1, count: 2 });
  });

  it("keeps the original's attachments on the new sibling and sends them as signed URLs", async () => {
    const t = await conversationTenant();
    const c = await fourMessages(t);
    const fileId = crypto.randomUUID();
    const key = `attachments/${t.workspace.id}/${c.id}/${fileId}`;
    await env.FILES.put(key, new TextEncoder().encode("%PDF-1.4 tiny"));
    await withDb(async (db) => {
      await db.insert(files).values({
        id: fileId,
        workspaceId: t.workspace.id,
        conversationId: c.id,
        uploaderId: t.owner.user.id,
        r2Key: key,
        filename: "brief.pdf",
        contentType: "application/pdf",
        sizeBytes: 13,
        status: "READY",
        uploadedAt: new Date(),
      });
      await db.insert(messageFiles).values({ messageId: c.u2, fileId, workspaceId: t.workspace.id });
    });
    const res = await edit(t.owner.token, c.u2, "with the same file");
    expect(res.status, describeResponse(res)).toBe(200);
    const [sent] = await received(c.persona.path);
    expect(sent.attachments).toHaveLength(1);
    expect(sent.attachments[0]).toMatchObject({
      fileId,
      filename: "brief.pdf",
      contentType: "application/pdf",
    });
    // The signed 10-minute URL works without a bearer token.
    const viaWorker = await SELF.fetch(sent.attachments[0].url);
    expect(viaWorker.status).toBe(200);
    await viaWorker.arrayBuffer();
    const links = await withDb((db) =>
      db.select().from(messageFiles).where(eq(messageFiles.messageId, res.body.userMessage.id)),
    );
    expect(links.map((l) => l.fileId)).toEqual([fileId]);
  });

  it("answers 404 / 403 / 409 NOT_EDITABLE / 409 EDIT_WINDOW_EXPIRED and stores nothing", async () => {
    const t = await conversationTenant();
    const shared = await fourMessages(t, "SHARED");
    const priv = await fourMessages(t);
    const foreign = await createTenant();
    const foreignToken = (await signIn(foreign.admin)).accessToken;
    const old = await insertMessage(t.workspace.id, priv.id, {
      parent: priv.a2,
      author: t.owner.user,
      createdAt: new Date(Date.now() - 1441 * 60_000),
    });
    const before = await messageCount(shared.id);
    const beforePrivate = await messageCount(priv.id);
    const cases: [string, string, string, number, string][] = [
      ["other workspace", foreignToken, shared.u2, 404, "NOT_FOUND"],
      ["member, PRIVATE", t.other.token, priv.u2, 404, "NOT_FOUND"],
      ["admin, PRIVATE", t.adminActor.token, priv.u2, 404, "NOT_FOUND"],
      ["member, SHARED, not the author", t.other.token, shared.u2, 403, "FORBIDDEN"],
      ["a reply", t.owner.token, shared.a2, 409, "NOT_EDITABLE"],
      ["window over", t.owner.token, old, 409, "EDIT_WINDOW_EXPIRED"],
      ["random id", t.owner.token, crypto.randomUUID(), 404, "NOT_FOUND"],
    ];
    for (const [name, token, id, status, code] of cases) {
      const res = await edit(token, id, "changed");
      expect(res.status, `${name}: ${describeResponse(res)}`).toBe(status);
      expect(res.body.code, name).toBe(code);
    }
    expect(await messageCount(shared.id)).toBe(before);
    expect(await messageCount(priv.id)).toBe(beforePrivate);
    expect(await received(shared.persona.path)).toEqual([]);
    const blank = await edit(t.owner.token, shared.u2, "   ");
    expect(blank.status, describeResponse(blank)).toBe(400);
  });
});

describe("POST /api/messages/{id}/retry", () => {
  it("re-relays a FAILED message of the caller once; anything else is 409 NOT_RETRYABLE", async () => {
    const t = await conversationTenant();
    const c = await fourMessages(t, "SHARED");
    await script(c.persona.path, [{ kind: "status", status: 400, body: "nope" }]);
    const failed = await edit(t.owner.token, c.u2, "will fail first");
    expect(failed.status, describeResponse(failed)).toBe(502);
    expect(failed.body.code).toBe("PERSONA_RELAY_FAILED");
    const userMessageId = failed.body.userMessageId as string;

    for (const [token, id, status] of [
      [t.other.token, userMessageId, 409],
      [t.owner.token, c.u1, 409],
      [t.owner.token, c.a1, 409],
      [t.owner.token, crypto.randomUUID(), 404],
    ] as const) {
      const res = await api("POST", `/api/messages/${id}/retry`, { token });
      expect(res.status, describeResponse(res)).toBe(status);
    }

    await script(c.persona.path, [{ kind: "echo" }]);
    const retried = await api("POST", `/api/messages/${userMessageId}/retry`, { token: t.owner.token });
    expect(retried.status, describeResponse(retried)).toBe(200);
    expect(retried.body.userMessage).toMatchObject({ id: userMessageId, status: "COMPLETE" });
    expect(retried.body.assistantMessage.content).toBe("Echo: will fail first");
    expect((await conversationRow(c.id))?.currentLeafId).toBe(retried.body.assistantMessage.id);
    const again = await api("POST", `/api/messages/${userMessageId}/retry`, { token: t.owner.token });
    expect(again.status, describeResponse(again)).toBe(409);
    expect(again.body.code).toBe("NOT_RETRYABLE");
    expect((await auditsOf(t.workspace.id, "MESSAGE_RETRIED")).map((a) => a.targetId)).toEqual([
      userMessageId,
    ]);
  });
});

describe("concurrent edits", () => {
  it("never corrupt the tree: each edit is a sibling with its own reply, the pointer ends on one of them", async () => {
    const t = await conversationTenant();
    const c = await fourMessages(t);
    const results = await Promise.all(
      ["one", "two", "three"].map((content) => edit(t.owner.token, c.u2, `edit ${content}`)),
    );
    for (const res of results) expect(res.status, describeResponse(res)).toBe(200);
    const rows = await withDb((db) => db.select().from(messages).where(eq(messages.conversationId, c.id)));
    const byId = new Map(rows.map((m) => [m.id, m]));
    for (const res of results) {
      expect(byId.get(res.body.userMessage.id)?.parentId).toBe(c.a1);
      expect(byId.get(res.body.assistantMessage.id)?.parentId).toBe(res.body.userMessage.id);
    }
    expect(rows).toHaveLength(4 + 6);
    const conversation = await conversationRow(c.id);
    expect(results.map((r) => r.body.assistantMessage.id)).toContain(conversation?.currentLeafId);
    expect(conversation?.messageCount).toBe(4 + 6);
    const view = await api("GET", `/api/conversations/${c.id}`, { token: t.owner.token });
    expect(view.body.messages[2].siblings.count).toBe(4);
  });
});
