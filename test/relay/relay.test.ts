import { env, SELF } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { bytesToBase64, bytesToHex } from "../../src/core/crypto";
import { auditEvents, chatRuns, conversations, messages } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, BASE_URL, describeResponse } from "../helpers/request";
import {
  auditTypesFor,
  chat,
  chatFootprint,
  createPersonaRow,
  hmacBytes,
  scriptWebhook,
  secretBytes,
  webhookRequests,
} from "../personas/support";

async function setup() {
  const tenant = await createTenant();
  const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
  const { accessToken } = await signIn(tenant.member);
  return { tenant, persona, token: accessToken };
}

async function conversationRow(id: string) {
  const [row] = await withDb((db) => db.select().from(conversations).where(eq(conversations.id, id)));
  return row;
}

describe("POST /api/personas/{id}/chat", () => {
  it("creates a PRIVATE conversation, stores both messages, moves the leaf and records the run", async () => {
    const { tenant, persona, token } = await setup();
    const res = await chat(token, persona.id, { message: "Hello there" });
    expect(res.status, describeResponse(res)).toBe(200);
    const { conversationId, userMessage, assistantMessage } = res.body;
    expect(userMessage).toMatchObject({
      role: "USER",
      content: "Hello there",
      status: "COMPLETE",
      authorId: tenant.member.id,
      parentId: null,
      conversationId,
    });
    expect(assistantMessage).toMatchObject({
      role: "ASSISTANT",
      content: "Echo: Hello there",
      status: "COMPLETE",
      parentId: userMessage.id,
      personaVersion: persona.version,
      authorId: null,
    });

    const conversation = await conversationRow(conversationId);
    expect(conversation).toMatchObject({
      ownerId: tenant.member.id,
      personaId: persona.id,
      visibility: "PRIVATE",
      currentLeafId: assistantMessage.id,
      messageCount: 2,
      workspaceId: tenant.workspace.id,
    });
    // The reply counts as activity: updated_at moves with it (same statement, same now()).
    expect(conversation?.updatedAt.getTime()).toBeGreaterThanOrEqual(Date.parse(assistantMessage.createdAt));
    const runs = await withDb((db) =>
      db.select().from(chatRuns).where(eq(chatRuns.conversationId, conversationId)),
    );
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      status: "SUCCEEDED",
      attempts: 1,
      errorClass: null,
      userMessageId: userMessage.id,
    });
    expect(runs[0]?.latencyMs).toBeGreaterThanOrEqual(0);
    expect(await auditTypesFor(userMessage.id)).toEqual(["CHAT_MESSAGE_SENT"]);
    expect(await auditTypesFor(conversationId)).toEqual(["CONVERSATION_CREATED"]);
    const webhookAudits = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.targetId, persona.id), eq(auditEvents.workspaceId, tenant.workspace.id))),
    );
    expect(webhookAudits.map((a) => a.eventType)).toEqual(["WEBHOOK_SUCCESS"]);
    expect(JSON.stringify(webhookAudits[0]?.data)).not.toContain("Hello there");
  });

  it("sends the documented payload, signed so the receiver can verify it with the secret", async () => {
    const { tenant, persona, token } = await setup();
    const first = await chat(token, persona.id, { message: "First" });
    expect(first.status, describeResponse(first)).toBe(200);
    const second = await chat(token, persona.id, {
      message: "Second",
      conversationId: first.body.conversationId,
    });
    expect(second.status, describeResponse(second)).toBe(200);

    const requests = await webhookRequests(persona.path);
    expect(requests).toHaveLength(2);
    const request = requests[1];
    if (!request) throw new Error("no request");
    expect(request.method).toBe("POST");
    expect(request.json).toEqual({
      message: "Second",
      conversationId: first.body.conversationId,
      messageId: second.body.userMessage.id,
      personaId: persona.id,
      userId: tenant.member.id,
      workspaceId: tenant.workspace.id,
      history: [
        { role: "user", content: "First" },
        { role: "assistant", content: "Echo: First" },
      ],
      attachments: [],
    });

    const h = request.headers;
    expect(h["content-type"]).toBe("application/json");
    expect(h["idempotency-key"]).toBe(second.body.userMessage.id);
    expect(h["webhook-id"]).toMatch(/^msg_[0-9a-f-]{36}$/);
    expect(Math.abs(Number(h["webhook-timestamp"]) - Date.now() / 1000)).toBeLessThan(30);
    const key = secretBytes(persona.secret);
    const standard = await hmacBytes(key, `${h["webhook-id"]}.${h["webhook-timestamp"]}.${request.body}`);
    expect(h["webhook-signature"]).toBe(`v1,${bytesToBase64(standard)}`);
    expect(h["x-webhook-signature"]).toBe(bytesToHex(await hmacBytes(key, request.body)));
    // Each chat run has its own webhook-id.
    expect(requests[0]?.headers["webhook-id"]).not.toBe(h["webhook-id"]);
  });

  it.each([
    ["{reply}", { kind: "echo" }, "Echo: hi"],
    ["n8n [{json:{output}}]", { kind: "n8n" }, "Echo: hi"],
    ["text/plain", { kind: "text" }, "Echo: hi"],
    ["{output}", { kind: "json", body: { output: "out" } }, "out"],
    ["{message}", { kind: "json", body: { message: "msg" } }, "msg"],
    ["{text}", { kind: "json", body: { text: "txt" } }, "txt"],
    ["[{output}]", { kind: "json", body: [{ output: "bare array" }] }, "bare array"],
    ["a JSON string", { kind: "json", body: "just a string" }, "just a string"],
    ["201 {reply}", { kind: "json", status: 201, body: { reply: "created" } }, "created"],
  ] as const)("accepts the %s reply shape", async (_label, behaviour, expected) => {
    const { persona, token } = await setup();
    await scriptWebhook(persona.path, [behaviour]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.assistantMessage.content).toBe(expected);
  });

  it.each([
    ["an object without a reply field", { kind: "json", body: { foo: "bar" } }],
    ["an empty reply", { kind: "json", body: { reply: "   " } }],
    ["an empty array", { kind: "json", body: [] }],
    ["an empty text body", { kind: "status", status: 200, body: "" }],
  ] as const)("refuses %s as 502 BAD_REPLY, keeping the user message", async (_label, behaviour) => {
    const { persona, token } = await setup();
    await scriptWebhook(persona.path, [behaviour]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    expect(res.body.code).toBe("PERSONA_RELAY_FAILED");
    const [run] = await withDb((db) => db.select().from(chatRuns).where(eq(chatRuns.personaId, persona.id)));
    expect(run).toMatchObject({ status: "FAILED", errorClass: "BAD_REPLY", attempts: 1 });
    expect((await webhookRequests(persona.path)).length).toBe(1);
  });

  it("names an untitled conversation from title or suggestedTitle, never renaming it", async () => {
    const { persona, token } = await setup();
    await scriptWebhook(persona.path, [
      { kind: "json", body: { reply: "one", suggestedTitle: "  Pricing objections  " } },
      { kind: "json", body: { reply: "two", title: "Another title" } },
    ]);
    const first = await chat(token, persona.id, { message: "hi" });
    expect(first.status, describeResponse(first)).toBe(200);
    expect((await conversationRow(first.body.conversationId))?.title).toBe("Pricing objections");
    const second = await chat(token, persona.id, {
      message: "again",
      conversationId: first.body.conversationId,
    });
    expect(second.status, describeResponse(second)).toBe(200);
    expect((await conversationRow(first.body.conversationId))?.title).toBe("Pricing objections");
  });

  it("answers from an explicit parentId as a new branch and moves the leaf to its reply", async () => {
    const { persona, token } = await setup();
    const first = await chat(token, persona.id, { message: "A" });
    const conversationId = first.body.conversationId;
    await chat(token, persona.id, { message: "B", conversationId });
    const branch = await chat(token, persona.id, {
      message: "A2",
      conversationId,
      parentId: first.body.assistantMessage.id,
    });
    expect(branch.status, describeResponse(branch)).toBe(200);
    expect(branch.body.userMessage.parentId).toBe(first.body.assistantMessage.id);
    expect((await conversationRow(conversationId))?.currentLeafId).toBe(branch.body.assistantMessage.id);
    const requests = await webhookRequests(persona.path);
    expect((requests[2]?.json as any)?.history).toEqual([
      { role: "user", content: "A" },
      { role: "assistant", content: "Echo: A" },
    ]);
  });

  it("sends at most the branch's last 20 messages as history", async () => {
    const { tenant, persona, token } = await setup();
    let conversationId: string | undefined;
    for (let i = 0; i < 12; i++) {
      const res = await chat(token, persona.id, { message: `m${i}`, conversationId });
      expect(res.status, describeResponse(res)).toBe(200);
      conversationId = res.body.conversationId;
    }
    const requests = await webhookRequests(persona.path);
    const history = (requests.at(-1)?.json as any)?.history as { content: string }[];
    expect(history).toHaveLength(20);
    expect(history[0]?.content).toBe("m1");
    expect(history.at(-1)?.content).toBe("Echo: m10");
    expect(tenant).toBeDefined();
  });

  it("refuses a parentId that is not a message of this conversation with 400", async () => {
    const { persona, token } = await setup();
    const other = await chat(token, persona.id, { message: "elsewhere" });
    const first = await chat(token, persona.id, { message: "here" });
    const before = await chatFootprint(persona.id);
    const res = await chat(token, persona.id, {
      message: "x",
      conversationId: first.body.conversationId,
      parentId: other.body.userMessage.id,
    });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.errors).toEqual([{ path: "parentId", message: expect.any(String) }]);
    const noConversation = await chat(token, persona.id, {
      message: "x",
      parentId: other.body.userMessage.id,
    });
    expect(noConversation.status, describeResponse(noConversation)).toBe(400);
    expect(await chatFootprint(persona.id)).toEqual(before);
  });

  it.each([
    ["an empty message", { message: "" }],
    ["a blank message", { message: "   " }],
    ["a message over 10000 characters", { message: "x".repeat(10_001) }],
    ["an unknown field", { message: "hi", extra: 1 }],
    ["fileIds (not accepted until the files routes exist)", { message: "hi", fileIds: [] }],
    ["a malformed conversationId", { message: "hi", conversationId: "nope" }],
  ])("refuses %s with 400 and stores nothing", async (_label, body) => {
    const { persona, token } = await setup();
    const res = await chat(token, persona.id, body);
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(await chatFootprint(persona.id)).toEqual({ conversations: 0, messages: 0, runs: 0 });
    expect(await webhookRequests(persona.path)).toHaveLength(0);
  });

  it("accepts exactly 10000 characters", async () => {
    const { persona, token } = await setup();
    const res = await chat(token, persona.id, { message: "y".repeat(10_000) });
    expect(res.status, describeResponse(res)).toBe(200);
  });

  it("lets only the owner chat: another member's PRIVATE conversation is 404, a SHARED one 403", async () => {
    const { tenant, persona, token } = await setup();
    const own = await chat(token, persona.id, { message: "mine" });
    const { accessToken: adminToken } = await signIn(tenant.admin);
    const before = await chatFootprint(persona.id);

    const privateRes = await chat(adminToken, persona.id, {
      message: "x",
      conversationId: own.body.conversationId,
    });
    expect(privateRes.status, describeResponse(privateRes)).toBe(404);

    await withDb((db) =>
      db
        .update(conversations)
        .set({ visibility: "SHARED" })
        .where(eq(conversations.id, own.body.conversationId)),
    );
    const sharedRes = await chat(adminToken, persona.id, {
      message: "x",
      conversationId: own.body.conversationId,
    });
    expect(sharedRes.status, describeResponse(sharedRes)).toBe(403);
    expect(await chatFootprint(persona.id)).toEqual(before);
  });

  it("answers 409 PERSONA_MISMATCH for a conversation of another persona", async () => {
    const { tenant, persona, token } = await setup();
    const other = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const own = await chat(token, persona.id, { message: "mine" });
    const res = await chat(token, other.id, { message: "x", conversationId: own.body.conversationId });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("PERSONA_MISMATCH");
    expect(await chatFootprint(other.id)).toEqual({ conversations: 0, messages: 0, runs: 0 });
  });

  it("answers another workspace's persona or conversation exactly like a random id (404)", async () => {
    const { persona, token } = await setup();
    const other = await setup();
    const foreign = await chat(token, other.persona.id, { message: "x" });
    const random = await chat(token, crypto.randomUUID(), { message: "x" });
    const malformed = await chat(token, "not-an-id", { message: "x" });
    for (const res of [foreign, random, malformed]) {
      expect(res.status, describeResponse(res)).toBe(404);
    }
    const strip = (body: any) => ({ ...body, traceId: undefined });
    expect(strip(foreign.body)).toEqual(strip(random.body));
    expect(strip(foreign.body)).toEqual(strip(malformed.body));

    const theirs = await chat(other.token, other.persona.id, { message: "theirs" });
    const foreignConversation = await chat(token, persona.id, {
      message: "x",
      conversationId: theirs.body.conversationId,
    });
    const randomConversation = await chat(token, persona.id, {
      message: "x",
      conversationId: crypto.randomUUID(),
    });
    expect(foreignConversation.status).toBe(404);
    expect(strip(foreignConversation.body)).toEqual(strip(randomConversation.body));
    expect(await chatFootprint(other.persona.id)).toMatchObject({ conversations: 1, messages: 2 });
    expect(await webhookRequests(other.persona.path)).toHaveLength(1);
  });

  it("treats a deactivated persona as missing (404, nothing stored)", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id, isActive: false });
    const { accessToken } = await signIn(tenant.member);
    const res = await chat(accessToken, persona.id, { message: "x" });
    expect(res.status, describeResponse(res)).toBe(404);
    expect(await chatFootprint(persona.id)).toEqual({ conversations: 0, messages: 0, runs: 0 });
  });

  it("lets members of any workspace chat with a global persona, each in their own workspace", async () => {
    const global = await createPersonaRow({ workspaceId: null });
    const a = await createTenant();
    const b = await createTenant();
    const resA = await chat((await signIn(a.member)).accessToken, global.id, { message: "from A" });
    const resB = await chat((await signIn(b.member)).accessToken, global.id, { message: "from B" });
    expect(resA.status, describeResponse(resA)).toBe(200);
    expect(resB.status, describeResponse(resB)).toBe(200);
    expect((await conversationRow(resA.body.conversationId))?.workspaceId).toBe(a.workspace.id);
    expect((await conversationRow(resB.body.conversationId))?.workspaceId).toBe(b.workspace.id);
  });

  it("requires a bearer token", async () => {
    const { persona } = await setup();
    const res = await api("POST", `/api/personas/${persona.id}/chat`, { body: { message: "x" } });
    expect(res.status, describeResponse(res)).toBe(401);
  });

  it("finishes the bookkeeping when the client disconnects mid-relay", async () => {
    const { persona, token } = await setup();
    await scriptWebhook(persona.path, [{ kind: "slow", delayMs: 600 }]);
    const controller = new AbortController();
    const pending = SELF.fetch(new URL(`/api/personas/${persona.id}/chat`, BASE_URL), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ message: "bye" }),
      signal: controller.signal,
    }).catch(() => null);
    // Disconnect once the relay is under way (the fake holds its answer 600 ms), not after a fixed delay: on
    // a loaded machine 200 ms was sometimes before the message was even stored.
    const relayed = Date.now() + 8000;
    while ((await webhookRequests(persona.path)).length === 0 && Date.now() < relayed) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    controller.abort();
    await pending;
    const deadline = Date.now() + 8000;
    let run: typeof chatRuns.$inferSelect | undefined;
    while (Date.now() < deadline) {
      [run] = await withDb((db) => db.select().from(chatRuns).where(eq(chatRuns.personaId, persona.id)));
      if (run && run.status !== "PENDING") break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(run?.status).toBe("SUCCEEDED");
    const stored = await withDb((db) =>
      db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, run?.conversationId ?? "")),
    );
    expect(stored.map((m) => [m.role, m.status]).sort()).toEqual([
      ["ASSISTANT", "COMPLETE"],
      ["USER", "COMPLETE"],
    ]);
    expect(env.WEBHOOK_FAKE_URL).toBeTruthy();
  });
});
