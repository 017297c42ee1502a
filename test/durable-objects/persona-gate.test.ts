import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BREAKER_OPEN_SECONDS } from "../../src/durable-objects/persona-gate";

const RULE = { limit: 60, windowSeconds: 60 };
const LEASE_SECONDS = 40;
const gate = () => env.PERSONA_GATE.get(env.PERSONA_GATE.idFromName(crypto.randomUUID()));
type Stub = ReturnType<typeof gate>;

/** Moves stored instants into the past, standing in for the clock (no sleeping in tests). */
async function age(stub: Stub, statement: string) {
  await runInDurableObject(stub, async (_instance, state) => {
    state.storage.sql.exec(statement, Date.now() - 1000);
  });
}

async function failTimes(stub: Stub, n: number) {
  for (let i = 0; i < n; i++) await stub.report({ success: false });
}

describe("PersonaGate", () => {
  it("admits exactly the limit out of 80 concurrent chats and tells the rest when to retry", async () => {
    const stub = gate();
    const results = await Promise.all(Array.from({ length: 80 }, () => stub.admit(RULE, LEASE_SECONDS)));
    const allowed = results.filter((r) => r.allowed);
    const refused = results.filter((r) => !r.allowed);
    expect(allowed).toHaveLength(60);
    for (const r of refused) {
      expect(r).toMatchObject({ reason: "RATE_LIMITED" });
      if (!r.allowed) expect(r.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    }
  });

  it("stays open for the configured BREAKER_OPEN_SECONDS when the relay passes one", async () => {
    const stub = gate();
    for (let i = 0; i < 4; i++) await stub.report({ success: false }, 20);
    const opened = await stub.report({ success: false }, 20);
    const openMs = Date.parse(opened.openUntil ?? "") - Date.now();
    expect(openMs).toBeGreaterThan(15_000);
    expect(openMs).toBeLessThanOrEqual(20_000);
    const refused = await stub.admit(RULE, LEASE_SECONDS);
    if (refused.allowed) throw new Error("admitted while open");
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(20);
  });

  it("frees window slots as chats age out", async () => {
    const stub = gate();
    for (let i = 0; i < 3; i++)
      expect((await stub.admit({ limit: 3, windowSeconds: 60 }, LEASE_SECONDS)).allowed).toBe(true);
    expect((await stub.admit({ limit: 3, windowSeconds: 60 }, LEASE_SECONDS)).allowed).toBe(false);
    await age(stub, "UPDATE chats SET at = ? - 61000");
    expect((await stub.admit({ limit: 3, windowSeconds: 60 }, LEASE_SECONDS)).allowed).toBe(true);
  });

  it("opens after 5 consecutive failures and then admits nothing, without using the window", async () => {
    const stub = gate();
    await failTimes(stub, 4);
    expect((await stub.status()).state).toBe("CLOSED");
    const opened = await stub.report({ success: false });
    expect(opened.state).toBe("OPEN");
    expect(Date.parse(opened.openUntil ?? "") - Date.now()).toBeGreaterThan(
      (BREAKER_OPEN_SECONDS - 5) * 1000,
    );

    const refused = await stub.admit(RULE, LEASE_SECONDS);
    expect(refused).toMatchObject({ allowed: false, reason: "BREAKER_OPEN" });
    if (!refused.allowed) expect(refused.retryAfterSeconds).toBeGreaterThan(BREAKER_OPEN_SECONDS - 5);
    const chats = await runInDurableObject(
      stub,
      async (_i, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM chats").one().n,
    );
    expect(chats).toBe(0);
  });

  it("counts only consecutive failures: a success in between starts over", async () => {
    const stub = gate();
    await failTimes(stub, 4);
    await stub.report({ success: true });
    await failTimes(stub, 4);
    expect(await stub.status()).toMatchObject({ state: "CLOSED", consecutiveFailures: 4 });
  });

  it("hands out exactly one probe lease in HALF_OPEN; its success closes the breaker", async () => {
    const stub = gate();
    await failTimes(stub, 5);
    await age(stub, "UPDATE breaker SET open_until = ?");
    const [first, second] = await Promise.all([
      stub.admit(RULE, LEASE_SECONDS),
      stub.admit(RULE, LEASE_SECONDS),
    ]);
    const probes = [first, second].filter((r) => r?.allowed);
    expect(probes).toHaveLength(1);
    const probe = probes[0];
    if (!probe?.allowed || !probe.probeLease) throw new Error("expected a probe lease");
    expect(await stub.status()).toMatchObject({ state: "HALF_OPEN", probeInFlight: true });

    expect(await stub.report({ success: true, probeLease: probe.probeLease })).toMatchObject({
      state: "CLOSED",
      openUntil: null,
    });
    const after = await stub.admit(RULE, LEASE_SECONDS);
    expect(after).toMatchObject({ allowed: true, probeLease: null });
  });

  it("re-opens when the probe fails, ignoring failures reported by chats admitted earlier", async () => {
    const stub = gate();
    await failTimes(stub, 5);
    await stub.report({ success: false }); // a late report while OPEN changes nothing
    await age(stub, "UPDATE breaker SET open_until = ?");
    const probe = await stub.admit(RULE, LEASE_SECONDS);
    if (!probe.allowed || !probe.probeLease) throw new Error("expected a probe lease");
    await stub.report({ success: false }); // not the probe: ignored in HALF_OPEN
    expect((await stub.status()).state).toBe("HALF_OPEN");
    const reopened = await stub.report({ success: false, probeLease: probe.probeLease });
    expect(reopened.state).toBe("OPEN");
  });

  it("lets a lost probe's lease expire through the alarm, so the persona is never wedged", async () => {
    const stub = gate();
    await failTimes(stub, 5);
    await age(stub, "UPDATE breaker SET open_until = ?");
    const probe = await stub.admit(RULE, LEASE_SECONDS);
    expect(probe.allowed).toBe(true);
    expect((await stub.admit(RULE, LEASE_SECONDS)).allowed).toBe(false);

    await age(stub, "UPDATE breaker SET lease_until = ?");
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.status()).toMatchObject({ state: "HALF_OPEN", probeInFlight: false });
    const next = await stub.admit(RULE, LEASE_SECONDS);
    expect(next.allowed && next.probeLease).toBeTruthy();
  });

  it("keeps its state in storage: a fresh stub of the same persona sees the open breaker", async () => {
    const id = env.PERSONA_GATE.idFromName(crypto.randomUUID());
    await failTimes(env.PERSONA_GATE.get(id), 5);
    expect((await env.PERSONA_GATE.get(id).status()).state).toBe("OPEN");
  });

  it("remembers traits-webhook ids for 10 minutes to refuse replays", async () => {
    const stub = gate();
    expect(await stub.rememberWebhookId("msg_1")).toBe(true);
    expect(await stub.rememberWebhookId("msg_1")).toBe(false);
    expect(await stub.rememberWebhookId("msg_2")).toBe(true);
    await age(stub, "UPDATE webhook_ids SET expires_at = ?");
    expect(await stub.rememberWebhookId("msg_1")).toBe(true);
  });
});
