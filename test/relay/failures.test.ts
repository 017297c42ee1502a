import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { Behaviour } from "../../scripts/fakes/webhook";
import { chatRuns, conversations, messages } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import {
  chat,
  chatDirect,
  createPersonaRow,
  scriptWebhook,
  webhookPath,
  webhookRequests,
} from "../personas/support";

async function setup(behaviours?: Behaviour[], personaOptions: Parameters<typeof createPersonaRow>[0] = {}) {
  const tenant = await createTenant();
  const persona = await createPersonaRow({ workspaceId: tenant.workspace.id, ...personaOptions });
  if (behaviours) await scriptWebhook(persona.path, behaviours);
  const { accessToken } = await signIn(tenant.member);
  return { tenant, persona, token: accessToken };
}

/** A chat with a modified copy of the bindings (here: a shorter deadline). */
const chatWithEnv = (overrides: Record<string, string>, token: string, personaId: string, message: string) =>
  chatDirect(token, personaId, { message }, overrides);

async function runOf(personaId: string) {
  const runs = await withDb((db) => db.select().from(chatRuns).where(eq(chatRuns.personaId, personaId)));
  expect(runs).toHaveLength(1);
  return runs[0] as typeof chatRuns.$inferSelect;
}

/** 502/504: the user message is kept (FAILED, on the current branch) and named in the body. */
async function expectKeptUserMessage(body: any) {
  expect(body.conversationId).toEqual(expect.any(String));
  expect(body.userMessageId).toEqual(expect.any(String));
  const [message] = await withDb((db) =>
    db.select().from(messages).where(eq(messages.id, body.userMessageId)),
  );
  expect(message).toMatchObject({ role: "USER", status: "FAILED", conversationId: body.conversationId });
  const all = await withDb((db) =>
    db.select().from(messages).where(eq(messages.conversationId, body.conversationId)),
  );
  expect(all).toHaveLength(1);
  const [conversation] = await withDb((db) =>
    db.select().from(conversations).where(eq(conversations.id, body.conversationId)),
  );
  expect(conversation).toMatchObject({ currentLeafId: body.userMessageId, messageCount: 1 });
}

describe("POST /api/personas/{id}/chat — retries, deadline, redirects", () => {
  it("retries a quick 5xx and succeeds on the second attempt", async () => {
    const { persona, token } = await setup([{ kind: "status", status: 503 }, { kind: "echo" }]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(200);
    const requests = await webhookRequests(persona.path);
    expect(requests).toHaveLength(2);
    // Same delivery: same webhook-id and Idempotency-Key, freshly signed.
    expect(requests[1]?.headers["webhook-id"]).toBe(requests[0]?.headers["webhook-id"]);
    expect(requests[1]?.headers["idempotency-key"]).toBe(requests[0]?.headers["idempotency-key"]);
    expect(requests[1]?.body).toBe(requests[0]?.body);
    expect(await runOf(persona.id)).toMatchObject({ status: "SUCCEEDED", attempts: 2, errorClass: null });
  });

  it("retries a quick 429", async () => {
    const { persona, token } = await setup([{ kind: "status", status: 429 }, { kind: "echo" }]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(await webhookRequests(persona.path)).toHaveLength(2);
  });

  it("retries connection failures, at most twice", async () => {
    const ok = await setup([{ kind: "close" }, { kind: "close" }, { kind: "echo" }]);
    const res = await chat(ok.token, ok.persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(await webhookRequests(ok.persona.path)).toHaveLength(3);
    expect(await runOf(ok.persona.id)).toMatchObject({ status: "SUCCEEDED", attempts: 3 });

    const down = await setup([{ kind: "close" }]);
    const failed = await chat(down.token, down.persona.id, { message: "hi" });
    expect(failed.status, describeResponse(failed)).toBe(502);
    expect(await webhookRequests(down.persona.path)).toHaveLength(3);
    expect(await runOf(down.persona.id)).toMatchObject({
      status: "FAILED",
      attempts: 3,
      errorClass: "CONNECTION",
    });
  });

  it("gives up after 3 attempts of 5xx: 502 with conversationId and userMessageId, message kept", async () => {
    const { persona, token } = await setup([{ kind: "status", status: 500, body: "boom" }]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    expect(res.body.code).toBe("PERSONA_RELAY_FAILED");
    expect(res.text).not.toContain("boom");
    await expectKeptUserMessage(res.body);
    expect(await webhookRequests(persona.path)).toHaveLength(3);
    const run = await runOf(persona.id);
    expect(run).toMatchObject({ status: "FAILED", attempts: 3, errorClass: "HTTP_5XX" });
    expect(run.finishedAt).not.toBeNull();
  });

  it.each([400, 401, 404, 422])("does not retry a %i", async (status) => {
    const { persona, token } = await setup([{ kind: "status", status }]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    expect(await webhookRequests(persona.path)).toHaveLength(1);
    expect(await runOf(persona.id)).toMatchObject({ errorClass: "HTTP_4XX", attempts: 1 });
  });

  it("does not follow a redirect: 502 REDIRECT, one request, nothing sent to the target", async () => {
    const target = webhookPath("redirect-target");
    const { persona, token } = await setup([
      { kind: "redirect", location: `${env.WEBHOOK_FAKE_URL}${target}` },
    ]);
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    await expectKeptUserMessage(res.body);
    expect(await webhookRequests(persona.path)).toHaveLength(1);
    expect(await webhookRequests(target)).toHaveLength(0);
    expect(await runOf(persona.id)).toMatchObject({ errorClass: "REDIRECT", attempts: 1 });
  });

  it("answers 504 at the deadline, without retrying after the timeout", async () => {
    const { persona, token } = await setup([{ kind: "hang" }]);
    const res = await chatWithEnv({ WEBHOOK_TIMEOUT_MS: "1000" }, token, persona.id, "hi");
    expect(res.status, res.text).toBe(504);
    expect(res.body.code).toBe("PERSONA_TIMEOUT");
    expect(res.elapsedMs).toBeGreaterThanOrEqual(950);
    expect(res.elapsedMs).toBeLessThan(2500);
    await expectKeptUserMessage(res.body);
    expect(await webhookRequests(persona.path)).toHaveLength(1);
    expect(await runOf(persona.id)).toMatchObject({ status: "TIMEOUT", attempts: 1, errorClass: "TIMEOUT" });
  });

  it("counts retries and backoff inside the one deadline", async () => {
    const { persona, token } = await setup([{ kind: "status", status: 500 }, { kind: "hang" }]);
    // A 3 s deadline makes "quick" 750 ms: a loaded CI machine once took longer than the 250 ms a 1 s deadline
    // allows to answer the first 500, which then (rightly) counted as slow and was not retried.
    const res = await chatWithEnv({ WEBHOOK_TIMEOUT_MS: "3000" }, token, persona.id, "hi");
    expect(res.status, res.text).toBe(504);
    expect(res.elapsedMs).toBeGreaterThanOrEqual(2950);
    expect(res.elapsedMs).toBeLessThan(4500);
    expect(await webhookRequests(persona.path)).toHaveLength(2);
    expect(await runOf(persona.id)).toMatchObject({ status: "TIMEOUT", attempts: 2 });
  });

  it("times out a reply that arrives after the deadline", async () => {
    const { persona, token } = await setup([{ kind: "slow", delayMs: 1500 }]);
    const res = await chatWithEnv({ WEBHOOK_TIMEOUT_MS: "1000" }, token, persona.id, "hi");
    expect(res.status, res.text).toBe(504);
    expect(await webhookRequests(persona.path)).toHaveLength(1);
  });

  it("does not retry a slow 5xx (the flow may have done the work)", async () => {
    const { persona, token } = await setup([
      // biome-ignore lint/suspicious/noThenProperty: `then` is the webhook fake's field for the delayed answer.
      { kind: "slow", delayMs: 400, then: { kind: "status", status: 500 } },
      { kind: "echo" },
    ]);
    const res = await chatWithEnv({ WEBHOOK_TIMEOUT_MS: "1000" }, token, persona.id, "hi");
    expect(res.status, res.text).toBe(502);
    expect(await webhookRequests(persona.path)).toHaveLength(1);
    expect(await runOf(persona.id)).toMatchObject({ status: "FAILED", attempts: 1, errorClass: "HTTP_5XX" });
  });

  it("re-validates the stored URL before calling: a refused URL sends nothing", async () => {
    const path = webhookPath();
    const { persona, token } = await setup(undefined, { url: `https://169.254.169.254${path}` });
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    await expectKeptUserMessage(res.body);
    expect(await runOf(persona.id)).toMatchObject({
      status: "FAILED",
      attempts: 0,
      errorClass: "URL_REFUSED",
    });
  });

  it("fails a persona whose stored secret is unusable without calling it", async () => {
    const { persona, token } = await setup(undefined, { secret: "not-a-whsec-secret" });
    const res = await chat(token, persona.id, { message: "hi" });
    expect(res.status, describeResponse(res)).toBe(502);
    expect(await webhookRequests(persona.path)).toHaveLength(0);
    expect(await runOf(persona.id)).toMatchObject({ errorClass: "CONFIG", attempts: 0 });
  });

  it("relays a FAILED message again through the retry route: same message and Idempotency-Key", async () => {
    const { persona, token } = await setup([{ kind: "status", status: 400 }, { kind: "echo" }]);
    const failed = await chat(token, persona.id, { message: "again please" });
    expect(failed.status, describeResponse(failed)).toBe(502);
    const retry = () => api("POST", `/api/messages/${failed.body.userMessageId}/retry`, { token });
    const retried = await retry();
    expect(retried.status, describeResponse(retried)).toBe(200);
    const result = retried.body;
    expect(result.userMessage).toMatchObject({ id: failed.body.userMessageId, status: "COMPLETE" });
    expect(result.assistantMessage).toMatchObject({
      parentId: failed.body.userMessageId,
      content: "Echo: again please",
    });
    const requests = await webhookRequests(persona.path);
    expect(requests.map((r) => r.headers["idempotency-key"])).toEqual([
      failed.body.userMessageId,
      failed.body.userMessageId,
    ]);
    const runs = await withDb((db) => db.select().from(chatRuns).where(eq(chatRuns.personaId, persona.id)));
    expect(runs.map((r) => r.status).sort()).toEqual(["FAILED", "SUCCEEDED"]);
    const [conversation] = await withDb((db) =>
      db.select().from(conversations).where(eq(conversations.id, failed.body.conversationId)),
    );
    expect(conversation).toMatchObject({ messageCount: 2, currentLeafId: result.assistantMessage.id });

    // Only a FAILED message can be retried.
    const again = await retry();
    expect(again.status, describeResponse(again)).toBe(409);
    expect(again.body.code).toBe("NOT_RETRYABLE");
  });
});
