/**
 * Noisy neighbours on global personas (issue 16): a global persona is shared by every tenant, so its window
 * and breaker are kept per (persona, workspace), under a global cap where PERSONAL and unverified workspaces
 * together get at most half, and with one shared probe per cooldown when its webhook is dead.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { personaBreakers, personas } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api } from "../helpers/request";
import { chatDirect, createPersonaRow, scriptWebhook, webhookRequests } from "../personas/support";

/** A fresh workspace whose member is signed in. */
async function tenantToken() {
  const tenant = await createTenant();
  const { accessToken } = await signIn(tenant.member);
  return { workspaceId: tenant.workspace.id, token: accessToken };
}

const say = (token: string, personaId: string, overrides: Record<string, string> = {}) =>
  chatDirect(token, personaId, { message: "hi" }, overrides);

const gateOf = (name: string) => env.PERSONA_GATE.get(env.PERSONA_GATE.idFromName(name));

/** Five failed relays (a 400 is not retried) open the calling workspace's breaker. */
async function failFiveTimes(token: string, persona: { id: string; path: string }) {
  await scriptWebhook(
    persona.path,
    Array.from({ length: 5 }, () => ({ kind: "status", status: 400 }) as const),
  );
  for (let i = 0; i < 5; i++) expect((await say(token, persona.id)).status).toBe(502);
  await scriptWebhook(persona.path, [{ kind: "echo" }]);
}

/** Moves a workspace gate's open breaker into HALF_OPEN (the stored instant into the past, no sleeping). */
async function coolDown(personaId: string, workspaceId: string) {
  await runInDurableObject(gateOf(`${personaId}:${workspaceId}`), async (_instance, state) => {
    state.storage.sql.exec("UPDATE breaker SET open_until = ?", Date.now() - 1000);
  });
}

describe("global personas: per-workspace window and breaker", () => {
  it("one workspace using up CHAT_PERSONA leaves another's chats alone", async () => {
    const persona = await createPersonaRow({ workspaceId: null });
    const [a, b] = await Promise.all([tenantToken(), tenantToken()]);
    const limits = { RATE_LIMIT_CHAT_PERSONA: "2/60" };
    expect((await say(a.token, persona.id, limits)).status).toBe(200);
    expect((await say(a.token, persona.id, limits)).status).toBe(200);
    const refused = await say(a.token, persona.id, limits);
    expect(refused.status, refused.text).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    const other = await say(b.token, persona.id, limits);
    expect(other.status, other.text).toBe(200);
  });

  it("one workspace's failures open its own breaker only; isAvailable and health show each workspace's view", async () => {
    const persona = await createPersonaRow({ workspaceId: null });
    const [a, b] = await Promise.all([tenantToken(), tenantToken()]);
    await failFiveTimes(a.token, persona);

    const blocked = await say(a.token, persona.id);
    expect(blocked.status, blocked.text).toBe(503);
    expect(blocked.body.code).toBe("PERSONA_UNAVAILABLE");
    const served = await say(b.token, persona.id);
    expect(served.status, served.text).toBe(200);
    expect(await webhookRequests(persona.path)).toHaveLength(6);

    // The mirror is this workspace's row; the persona's own column stays empty.
    const [mirror] = await withDb((db) =>
      db
        .select()
        .from(personaBreakers)
        .where(
          and(eq(personaBreakers.personaId, persona.id), eq(personaBreakers.workspaceId, a.workspaceId)),
        ),
    );
    expect(mirror?.openUntil.getTime() ?? 0).toBeGreaterThan(Date.now() + 290_000);
    const [row] = await withDb((db) => db.select().from(personas).where(eq(personas.id, persona.id)));
    expect(row?.breakerOpenUntil).toBeNull();

    const viewOf = async (token: string) => ({
      detail: (await api("GET", `/api/personas/${persona.id}`, { token })).body.isAvailable,
      listed: (await api("GET", "/api/personas?limit=100", { token })).body.items.find(
        (p: { id: string }) => p.id === persona.id,
      )?.isAvailable,
      health: (await api("GET", "/api/webhooks/health", { token })).body,
    });
    expect(await viewOf(a.token)).toEqual({
      detail: false,
      listed: false,
      health: { status: "degraded", openBreakers: 1 },
    });
    expect(await viewOf(b.token)).toEqual({
      detail: true,
      listed: true,
      health: { status: "ok", openBreakers: 0 },
    });
  });

  it("caps a global persona's chats in total, PERSONAL and unverified workspaces together at half", async () => {
    const persona = await createPersonaRow({ workspaceId: null });
    const [a, b] = await Promise.all([tenantToken(), tenantToken()]);
    // 4 in total, so unverified workspaces (today: every one) share 2; each workspace alone would allow 60.
    const limits = { RATE_LIMIT_CHAT_PERSONA_GLOBAL: "4/60" };
    expect((await say(a.token, persona.id, limits)).status).toBe(200);
    expect((await say(b.token, persona.id, limits)).status).toBe(200);
    const refused = await say(b.token, persona.id, limits);
    expect(refused.status, refused.text).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await webhookRequests(persona.path)).toHaveLength(2);
    // The refused chat gave its workspace window back: B's gate counts one chat.
    await runInDurableObject(gateOf(`${persona.id}:${b.workspaceId}`), async (_instance, state) => {
      expect(state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chats").one().n).toBe(1);
    });
  });

  it("probes a dead webhook once per cooldown in total, however many workspaces' breakers are half open", async () => {
    const persona = await createPersonaRow({ workspaceId: null });
    const [a, b] = await Promise.all([tenantToken(), tenantToken()]);
    await failFiveTimes(a.token, persona);
    await failFiveTimes(b.token, persona);
    await coolDown(persona.id, a.workspaceId);
    await coolDown(persona.id, b.workspaceId);
    const slot = () =>
      runInDurableObject(gateOf(persona.id), async (_instance, state) =>
        state.storage.sql.exec<{ until: number }>("SELECT until FROM shared_probe").toArray(),
      );

    // A's probe finds the webhook down (no answer before the deadline): the slot is held for the cooldown.
    await scriptWebhook(persona.path, [{ kind: "hang" }]);
    const probe = await say(a.token, persona.id, { WEBHOOK_TIMEOUT_MS: "1000" });
    expect(probe.status, probe.text).toBe(504);
    expect((await slot())[0]?.until ?? 0).toBeGreaterThan(Date.now() + 250_000);
    const second = await say(b.token, persona.id);
    expect(second.status, second.text).toBe(503);
    expect(Number(second.headers.get("Retry-After"))).toBeGreaterThan(200);
    expect(await webhookRequests(persona.path)).toHaveLength(11);

    // Once the cooldown is over, B probes. A 4xx is an answer (this chat's content may have caused it): the
    // webhook is up, so the slot is freed at once rather than held against every other workspace.
    await runInDurableObject(gateOf(persona.id), async (_instance, state) => {
      state.storage.sql.exec("UPDATE shared_probe SET until = ?", Date.now() - 1000);
    });
    await scriptWebhook(persona.path, [{ kind: "status", status: 400 }]);
    const answered = await say(b.token, persona.id);
    expect(answered.status, answered.text).toBe(502);
    expect(await webhookRequests(persona.path)).toHaveLength(12);
    expect(await slot()).toEqual([]);
  });
});
