/**
 * The relay's added latency against the loopback webhook: p50 of sequential chats through the Worker minus p50
 * of the same POST sent straight to the fake from the test. What the difference covers: auth (JWT + one
 * query), the API_USER, CHAT_USER and PersonaGate round trips, the store transaction, signing, the bookkeeping
 * transaction and the breaker report. Local Hyperdrive does not pool, so every chat also pays a fresh Postgres
 * connection (STACK.md: ≈ 6–7 ms here). The figure is printed, and bounded loosely so a loaded machine
 * does not fail the suite.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { signIn } from "../helpers/auth";
import { createTenant } from "../helpers/factories";
import { describeResponse } from "../helpers/request";
import { chat, createPersonaRow } from "../personas/support";

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

const serverTiming = (header: string | null, name: string) =>
  Number(new RegExp(`${name};dur=([\\d.]+)`).exec(header ?? "")?.[1] ?? Number.NaN);

describe("relay latency", () => {
  it("adds a bounded, measured overhead to the webhook's own time", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const { accessToken: first } = await signIn(tenant.member);
    const { accessToken: second } = await signIn(tenant.admin);
    const N = 12;

    // Warm-up: isolate, signing keys, DO instances.
    for (let i = 0; i < 2; i++) await chat(first, persona.id, { message: "warm-up" });

    const relayNew: number[] = [];
    const relayFollowUp: number[] = [];
    const appMs: number[] = [];
    const dbMs: number[] = [];
    let conversationId: string | undefined;
    for (let i = 0; i < N; i++) {
      let started = performance.now();
      const fresh = await chat(first, persona.id, { message: `new ${i}` });
      relayNew.push(performance.now() - started);
      expect(fresh.status, describeResponse(fresh)).toBe(200);

      started = performance.now();
      const followUp = await chat(second, persona.id, { message: `follow-up ${i}`, conversationId });
      relayFollowUp.push(performance.now() - started);
      expect(followUp.status, describeResponse(followUp)).toBe(200);
      conversationId = followUp.body.conversationId;
      appMs.push(serverTiming(followUp.headers.get("Server-Timing"), "app"));
      dbMs.push(serverTiming(followUp.headers.get("Server-Timing"), "db"));
    }

    const direct: number[] = [];
    const body = JSON.stringify({ message: "direct", history: [], attachments: [] });
    for (let i = 0; i < N; i++) {
      const started = performance.now();
      const res = await fetch(`${env.WEBHOOK_FAKE_URL}${persona.path}-direct`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
      });
      await res.text();
      direct.push(performance.now() - started);
    }

    const p50 = {
      direct: median(direct),
      relayNew: median(relayNew),
      relayFollowUp: median(relayFollowUp),
      app: median(appMs),
      db: median(dbMs),
    };
    const added = {
      newConversation: Math.round(p50.relayNew - p50.direct),
      followUp: Math.round(p50.relayFollowUp - p50.direct),
    };
    console.log(
      `relay latency p50 (N=${N} each): direct webhook ${p50.direct.toFixed(1)} ms; ` +
        `chat, new conversation ${p50.relayNew.toFixed(1)} ms (+${added.newConversation} ms); ` +
        `chat, follow-up ${p50.relayFollowUp.toFixed(1)} ms (+${added.followUp} ms); ` +
        `Server-Timing app ${p50.app.toFixed(1)} ms, db ${p50.db.toFixed(1)} ms`,
    );
    expect(added.newConversation).toBeLessThan(1000);
    expect(added.followUp).toBeLessThan(1000);
  }, 60_000);
});
