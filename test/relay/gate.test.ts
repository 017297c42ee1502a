import { env, runInDurableObject } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations, messages, personas } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import {
  chat,
  chatDirect,
  chatFootprint,
  createPersonaRow,
  scriptWebhook,
  webhookRequests,
} from "../personas/support";

const gateOf = (personaId: string) => env.PERSONA_GATE.get(env.PERSONA_GATE.idFromName(personaId));

/** Stands in for the clock: moves the breaker's stored instants into the past (no sleeping in tests). */
async function age(personaId: string, statement: string) {
  await runInDurableObject(gateOf(personaId), async (_instance, state) => {
    state.storage.sql.exec(statement, Date.now() - 1000);
  });
}

async function setup() {
  const tenant = await createTenant();
  const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
  const { accessToken } = await signIn(tenant.member);
  return { tenant, persona, token: accessToken };
}

/** Five failed relays (a 400 is not retried: one request each) open the breaker. */
async function openBreaker(token: string, personaId: string, path: string) {
  await scriptWebhook(path, [{ kind: "status", status: 400 }]);
  for (let i = 0; i < 5; i++) {
    const res = await chat(token, personaId, { message: `fail ${i}` });
    expect(res.status, describeResponse(res)).toBe(502);
  }
  await scriptWebhook(path, [{ kind: "echo" }]);
}

async function mirrorOf(personaId: string) {
  const [row] = await withDb((db) =>
    db.select({ openUntil: personas.breakerOpenUntil }).from(personas).where(eq(personas.id, personaId)),
  );
  return row?.openUntil ?? null;
}

describe("POST /api/personas/{id}/chat — persona gate", () => {
  it("opens the breaker after 5 failed relays; then answers 503 without calling the webhook or storing", async () => {
    const { tenant, persona, token } = await setup();
    await openBreaker(token, persona.id, persona.path);
    expect(await webhookRequests(persona.path)).toHaveLength(5);
    const mirrored = await mirrorOf(persona.id);
    expect(mirrored?.getTime() ?? 0).toBeGreaterThan(Date.now() + 290_000);

    const before = await chatFootprint(persona.id);
    const res = await chat(token, persona.id, { message: "anyone there?" });
    expect(res.status, describeResponse(res)).toBe(503);
    expect(res.body.code).toBe("PERSONA_UNAVAILABLE");
    expect(Number(res.headers.get("Retry-After"))).toBeGreaterThan(290);
    expect(await webhookRequests(persona.path)).toHaveLength(5);
    expect(await chatFootprint(persona.id)).toEqual(before);

    const detail = await api("GET", `/api/personas/${persona.id}`, { token });
    expect(detail.body.isAvailable).toBe(false);
    const health = await api("GET", "/api/webhooks/health");
    expect(health.status, describeResponse(health)).toBe(200);
    expect(health.body.status).toBe("degraded");
    expect(health.body.openBreakers).toBeGreaterThanOrEqual(1);

    const { accessToken: adminToken } = await signIn(tenant.admin);
    const deliveries = await api("GET", `/api/personas/${persona.id}/deliveries`, { token: adminToken });
    expect(deliveries.status, describeResponse(deliveries)).toBe(200);
    expect(deliveries.body.breaker).toMatchObject({ state: "OPEN", consecutiveFailures: 5 });
    expect(deliveries.body.items).toHaveLength(5);
    expect(deliveries.body.items[0]).toMatchObject({ status: "FAILED", errorClass: "HTTP_4XX", attempts: 1 });
  });

  it("lets exactly one probe through in HALF_OPEN; its success closes the breaker and clears the mirror", async () => {
    const { persona, token } = await setup();
    await openBreaker(token, persona.id, persona.path);
    await age(persona.id, "UPDATE breaker SET open_until = ?");
    await scriptWebhook(persona.path, [{ kind: "slow", delayMs: 300 }]);

    const [a, b] = await Promise.all([
      chat(token, persona.id, { message: "probe a" }),
      chat(token, persona.id, { message: "probe b" }),
    ]);
    expect([a.status, b.status].sort(), `${describeResponse(a)} / ${describeResponse(b)}`).toEqual([
      200, 503,
    ]);
    expect(await webhookRequests(persona.path)).toHaveLength(6);
    expect(await mirrorOf(persona.id)).toBeNull();

    const after = await chat(token, persona.id, { message: "closed again" });
    expect(after.status, describeResponse(after)).toBe(200);
    const detail = await api("GET", `/api/personas/${persona.id}`, { token });
    expect(detail.body.isAvailable).toBe(true);
  });

  it("re-opens at once when the probe fails", async () => {
    const { persona, token } = await setup();
    await openBreaker(token, persona.id, persona.path);
    await age(persona.id, "UPDATE breaker SET open_until = ?");
    await scriptWebhook(persona.path, [{ kind: "status", status: 500 }]);
    const probe = await chat(token, persona.id, { message: "probe" });
    expect(probe.status, describeResponse(probe)).toBe(502);
    const next = await chat(token, persona.id, { message: "again" });
    expect(next.status, describeResponse(next)).toBe(503);
    expect(await webhookRequests(persona.path)).toHaveLength(5 + 3);
  });

  it("does not wedge on a lost probe: its lease expires and the next chat probes", async () => {
    const { persona, token } = await setup();
    await openBreaker(token, persona.id, persona.path);
    await age(persona.id, "UPDATE breaker SET open_until = ?");
    // A relay that took the lease and died without reporting.
    const lost = await gateOf(persona.id).admit({ limit: 60, windowSeconds: 60 }, 60);
    expect(lost).toMatchObject({ allowed: true, probeLease: expect.any(String) });

    const blocked = await chat(token, persona.id, { message: "blocked" });
    expect(blocked.status, describeResponse(blocked)).toBe(503);
    await age(persona.id, "UPDATE breaker SET lease_until = ?");
    const probe = await chat(token, persona.id, { message: "probe" });
    expect(probe.status, describeResponse(probe)).toBe(200);
    expect(await gateOf(persona.id).status()).toMatchObject({ state: "CLOSED", probeInFlight: false });
  });

  it("passes exactly 60 of 80 parallel chats from 4 users (20 each); the rest are 429 and store nothing", async () => {
    const tenant = await createTenant({ extra: [{ role: "MEMBER" }, { role: "MEMBER" }] });
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const tokens = await Promise.all(tenant.users.map(async (user) => (await signIn(user)).accessToken));
    expect(tokens).toHaveLength(4);

    const results = await Promise.all(
      Array.from({ length: 80 }, (_, i) =>
        chatDirect(tokens[i % 4] as string, persona.id, { message: `parallel ${i}` }),
      ),
    );
    const byStatus = new Map<number, number>();
    for (const res of results) byStatus.set(res.status, (byStatus.get(res.status) ?? 0) + 1);
    expect(Object.fromEntries(byStatus)).toEqual({ 200: 60, 429: 20 });
    for (const res of results.filter((r) => r.status === 429)) {
      expect(res.body.code).toBe("RATE_LIMITED");
      expect(Number(res.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    }
    expect(await webhookRequests(persona.path)).toHaveLength(60);
    expect(await chatFootprint(persona.id)).toEqual({ conversations: 60, messages: 120, runs: 60 });
  }, 60_000);

  it("limits one user to 30 chats a minute (CHAT_USER) before anything is stored", async () => {
    const { persona, token } = await setup();
    const results = await Promise.all(
      Array.from({ length: 34 }, (_, i) => chatDirect(token, persona.id, { message: `burst ${i}` })),
    );
    const refused = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200)).toHaveLength(30);
    expect(refused).toHaveLength(4);
    expect(refused[0]?.headers.get("RateLimit-Limit")).toBe("30");
    expect(Number(refused[0]?.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(await chatFootprint(persona.id)).toEqual({ conversations: 30, messages: 60, runs: 30 });
    expect(await webhookRequests(persona.path)).toHaveLength(30);
  }, 60_000);

  it("keeps the tree consistent under parallel chats on one conversation", async () => {
    const { persona, token } = await setup();
    await scriptWebhook(persona.path, [{ kind: "slow", delayMs: 50 }]);
    const first = await chat(token, persona.id, { message: "root" });
    const conversationId = first.body.conversationId as string;
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => chat(token, persona.id, { message: `p${i}`, conversationId })),
    );
    for (const res of results) expect(res.status, describeResponse(res)).toBe(200);

    const rows = await withDb((db) =>
      db.select().from(messages).where(eq(messages.conversationId, conversationId)),
    );
    const byId = new Map(rows.map((m) => [m.id, m]));
    expect(rows).toHaveLength(18);
    for (const message of rows) {
      if (message.parentId !== null) expect(byId.has(message.parentId)).toBe(true);
      if (message.role === "ASSISTANT") expect(byId.get(message.parentId ?? "")?.role).toBe("USER");
      if (message.role === "USER") expect(message.status).toBe("COMPLETE");
    }
    // Every user message has exactly one reply.
    for (const message of rows.filter((m) => m.role === "USER")) {
      expect(rows.filter((m) => m.parentId === message.id && m.role === "ASSISTANT")).toHaveLength(1);
    }
    const [conversation] = await withDb((db) =>
      db
        .select({
          leaf: conversations.currentLeafId,
          count: conversations.messageCount,
          actual: sql<number>`(SELECT count(*)::int FROM messages m WHERE m.conversation_id = ${conversationId})`,
        })
        .from(conversations)
        .where(eq(conversations.id, conversationId)),
    );
    expect(conversation?.count).toBe(conversation?.actual);
    // The leaf is a message of the conversation whose path reaches the root without cycles.
    let cursor = byId.get(conversation?.leaf ?? "");
    let steps = 0;
    while (cursor?.parentId && steps <= rows.length) {
      cursor = byId.get(cursor.parentId);
      steps++;
    }
    expect(cursor?.parentId).toBeNull();
    expect(cursor?.id).toBe(first.body.userMessage.id);
  }, 30_000);
});

describe("GET /api/webhooks/health", () => {
  it("answers counts only, publicly", async () => {
    const res = await api("GET", "/api/webhooks/health");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["openBreakers", "status"]);
    expect(res.body.openBreakers).toEqual(expect.any(Number));
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("reports degraded while a persona's breaker mirror is in the future", async () => {
    const { workspace } = await createTenant();
    await createPersonaRow({ workspaceId: workspace.id, breakerOpenUntil: new Date(Date.now() + 600_000) });
    const after = await api("GET", "/api/webhooks/health");
    // The count is global and other files run in parallel: at least this one.
    expect(after.body.openBreakers).toBeGreaterThanOrEqual(1);
    expect(after.body.status).toBe("degraded");
  });
});
