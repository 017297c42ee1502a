import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { RateLimiter } from "../../src/durable-objects/rate-limiter";

const POLICY = { threshold: 5, lockSeconds: 900 };

/** A fresh limiter per test: names never repeat, so no test sees another's hits. */
const freshLimiter = (scope = "TEST") =>
  env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`${scope}:${crypto.randomUUID()}`));

type Stub = DurableObjectStub<RateLimiter>;

/** Moves every stored timestamp `seconds` into the past, as if that much time had passed (no sleeping). */
const age = (stub: Stub, seconds: number) =>
  runInDurableObject(stub, (_, state) => {
    const ms = seconds * 1000;
    const sql = state.storage.sql;
    const tables = sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'")
      .toArray()
      .map((t) => t.name);
    if (tables.includes("hits")) sql.exec("UPDATE hits SET at = at - ?, expires_at = expires_at - ?", ms, ms);
    if (tables.includes("lockout")) {
      sql.exec("UPDATE lockout SET locked_until = locked_until - ?, expires_at = expires_at - ?", ms, ms);
    }
  });

/** Ages only the `count` oldest hits, to test a partly slid window. */
const ageOldest = (stub: Stub, count: number, seconds: number) =>
  runInDurableObject(stub, (_, state) => {
    const ms = seconds * 1000;
    state.storage.sql.exec(
      "UPDATE hits SET at = at - ?, expires_at = expires_at - ? WHERE rowid IN (SELECT rowid FROM hits ORDER BY at, rowid LIMIT ?)",
      ms,
      ms,
      count,
    );
  });

const tablesOf = (stub: Stub) =>
  runInDurableObject(stub, (_, state) =>
    state.storage.sql
      .exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'")
      .toArray()
      .map((t) => t.name),
  );

describe("RateLimiter Durable Object: sliding window", () => {
  it("allows `limit` hits, counting down remaining, then refuses until the oldest hit leaves the window", async () => {
    const stub = freshLimiter();
    const rule = { limit: 3, windowSeconds: 60 };
    const allowed = [await stub.hit(rule), await stub.hit(rule), await stub.hit(rule)];
    expect(allowed.map((d) => d.allowed)).toEqual([true, true, true]);
    expect(allowed.map((d) => d.remaining)).toEqual([2, 1, 0]);
    expect(allowed[0]).toMatchObject({ limit: 3, retryAfterSeconds: 0, resetSeconds: 60 });

    const refused = await stub.hit(rule);
    expect(refused).toMatchObject({ allowed: false, limit: 3, remaining: 0 });
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.resetSeconds).toBe(refused.retryAfterSeconds);
  });

  it("stores nothing for a refused hit, so refusals do not push the window further out", async () => {
    const stub = freshLimiter();
    const rule = { limit: 2, windowSeconds: 60 };
    await stub.hit(rule);
    await stub.hit(rule);
    for (let i = 0; i < 5; i++) expect((await stub.hit(rule)).allowed).toBe(false);
    const rows = await runInDurableObject(
      stub,
      (_, state) => state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits").one().n,
    );
    expect(rows).toBe(2);
  });

  it("slides: hits older than the window stop counting, and retryAfter follows the oldest live hit", async () => {
    const stub = freshLimiter();
    const rule = { limit: 3, windowSeconds: 60 };
    for (let i = 0; i < 3; i++) await stub.hit(rule);
    // Two hits 40 s old, one fresh: the oldest live hit leaves in ~20 s.
    await ageOldest(stub, 2, 40);
    const refused = await stub.hit(rule);
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(19);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(20);

    // 25 s later the two old hits are 65 s old: out of the window, two slots free.
    await age(stub, 25);
    const again = await stub.hit(rule);
    expect(again).toMatchObject({ allowed: true, remaining: 1 });
    expect((await stub.hit(rule)).allowed).toBe(true);
    expect((await stub.hit(rule)).allowed).toBe(false);
  });

  it("after a lowered limit, retryAfter waits for enough hits to leave, not just the oldest", async () => {
    const stub = freshLimiter();
    for (let i = 0; i < 4; i++) await stub.hit({ limit: 10, windowSeconds: 100 });
    // Ages 80, 60, 40 and 0 seconds.
    await ageOldest(stub, 3, 40);
    await ageOldest(stub, 2, 20);
    await ageOldest(stub, 1, 20);
    const refused = await stub.hit({ limit: 2, windowSeconds: 100 });
    // 4 live hits, limit 2: three must leave, and the third oldest (40 s old) leaves in 60 s, not 20 s.
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    expect(refused.resetSeconds).toBeLessThanOrEqual(20);
  });

  it("is exact under concurrency: 25 concurrent hits with limit 10 allow exactly 10", async () => {
    const stub = freshLimiter();
    const rule = { limit: 10, windowSeconds: 60 };
    const decisions = await Promise.all(Array.from({ length: 25 }, () => stub.hit(rule)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((a, b) => a - b),
    ).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(decisions.filter((d) => !d.allowed).every((d) => d.retryAfterSeconds >= 1)).toBe(true);
  });

  it("a limit of 0 refuses everything with a Retry-After of the window", async () => {
    const refused = await freshLimiter().hit({ limit: 0, windowSeconds: 30 });
    expect(refused).toMatchObject({ allowed: false, remaining: 0, retryAfterSeconds: 30 });
  });
});

describe("RateLimiter Durable Object: in-memory window (API_USER)", () => {
  const inMemory = { inMemory: true };

  it("admits exactly the limit of 80 concurrent hits, stores nothing, and says when to retry", async () => {
    const stub = freshLimiter("API_USER");
    const rule = { limit: 60, windowSeconds: 60 };
    const decisions = await Promise.all(Array.from({ length: 80 }, () => stub.hit(rule, inMemory)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(60);
    expect(
      decisions
        .filter((d) => d.allowed)
        .map((d) => d.remaining)
        .sort((a, b) => a - b),
    ).toEqual(Array.from({ length: 60 }, (_, i) => i));
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
      expect(refused.retryAfterSeconds).toBeLessThanOrEqual(60);
    }
    expect(await tablesOf(stub)).toEqual([]);
  });

  it("frees slots as hits leave the window", async () => {
    const stub = freshLimiter("API_USER");
    const rule = { limit: 2, windowSeconds: 60 };
    await stub.hit(rule, inMemory);
    await stub.hit(rule, inMemory);
    expect((await stub.hit(rule, inMemory)).allowed).toBe(false);
    // Stand-in for the clock: the oldest hit moves 61 s into the past.
    await runInDurableObject(stub, (instance) => {
      const hits = (instance as unknown as { memoryHits: number[] }).memoryHits;
      hits[0] = (hits[0] ?? 0) - 61_000;
    });
    expect(await stub.hit(rule, inMemory)).toMatchObject({ allowed: true, remaining: 0 });
    expect((await stub.hit(rule, inMemory)).allowed).toBe(false);
  });
});

describe("RateLimiter Durable Object: lockout", () => {
  it("locks on the 5th consecutive failure, exactly once, for 15 minutes", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 1; i <= 4; i++) {
      expect(await stub.recordFailure(POLICY)).toEqual({
        locked: false,
        lockedNow: false,
        failures: i,
        retryAfterSeconds: 0,
      });
    }
    expect(await stub.lockStatus()).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await stub.recordFailure(POLICY)).toEqual({
      locked: true,
      lockedNow: true,
      failures: 5,
      retryAfterSeconds: 900,
    });
    const status = await stub.lockStatus();
    expect(status.locked).toBe(true);
    expect(status.retryAfterSeconds).toBeGreaterThanOrEqual(899);
    expect(status.retryAfterSeconds).toBeLessThanOrEqual(900);
  });

  it("a failure while locked neither re-locks (lockedNow) nor extends the lock", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 0; i < 5; i++) await stub.recordFailure(POLICY);
    await age(stub, 600);
    const during = await stub.recordFailure(POLICY);
    expect(during).toMatchObject({ locked: true, lockedNow: false, failures: 5 });
    expect(during.retryAfterSeconds).toBeLessThanOrEqual(300);
    expect((await stub.lockStatus()).retryAfterSeconds).toBeLessThanOrEqual(300);
  });

  it("concurrent failures produce exactly one lockedNow", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    const results = await Promise.all(Array.from({ length: 12 }, () => stub.recordFailure(POLICY)));
    expect(results.filter((r) => r.lockedNow)).toHaveLength(1);
    expect(results.filter((r) => r.locked)).toHaveLength(8);
  });

  it("clearFailures lifts a live lock and reports wasLocked; on an unlocked key it reports false", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 0; i < 5; i++) await stub.recordFailure(POLICY);
    expect(await stub.clearFailures()).toEqual({ wasLocked: true });
    expect(await stub.lockStatus()).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await stub.clearFailures()).toEqual({ wasLocked: false });
    expect((await stub.recordFailure(POLICY)).failures).toBe(1);
  });

  it("a success in between resets the consecutive count", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 0; i < 4; i++) await stub.recordFailure(POLICY);
    expect(await stub.clearFailures()).toEqual({ wasLocked: false });
    for (let i = 1; i <= 4; i++) expect((await stub.recordFailure(POLICY)).lockedNow).toBe(false);
    expect((await stub.recordFailure(POLICY)).lockedNow).toBe(true);
  });

  it("a lock that ran out unlocks, and counting starts again from zero", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 0; i < 5; i++) await stub.recordFailure(POLICY);
    await age(stub, 901);
    expect(await stub.lockStatus()).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await stub.recordFailure(POLICY)).toMatchObject({ locked: false, failures: 1 });
    expect(await stub.clearFailures()).toEqual({ wasLocked: false });
  });

  it("failures are forgotten lockSeconds after the last one", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    for (let i = 0; i < 4; i++) await stub.recordFailure(POLICY);
    await age(stub, 901);
    expect(await stub.recordFailure(POLICY)).toMatchObject({ lockedNow: false, failures: 1 });
  });
});

describe("RateLimiter Durable Object: storage hygiene", () => {
  it("reads on a fresh key create no storage", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    expect(await stub.lockStatus()).toEqual({ locked: false, retryAfterSeconds: 0 });
    expect(await stub.clearFailures()).toEqual({ wasLocked: false });
    expect(await tablesOf(stub)).toEqual([]);
  });

  it("schedules an alarm at the first write", async () => {
    const stub = freshLimiter();
    const before = Date.now();
    await stub.hit({ limit: 5, windowSeconds: 60 });
    const alarm = await runInDurableObject(stub, (_, state) => state.storage.getAlarm());
    expect(alarm).toBeGreaterThanOrEqual(before + 60_000);
    expect(alarm).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it("the alarm deletes the whole storage once everything has expired", async () => {
    const stub = freshLimiter();
    await stub.hit({ limit: 5, windowSeconds: 60 });
    await stub.recordFailure(POLICY);
    await age(stub, 901);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await tablesOf(stub)).toEqual([]);
    expect(await runInDurableObject(stub, (_, state) => state.storage.getAlarm())).toBeNull();
    // The same live instance still works after its storage was dropped.
    expect(await stub.hit({ limit: 1, windowSeconds: 60 })).toMatchObject({ allowed: true, remaining: 0 });
    expect(await stub.lockStatus()).toEqual({ locked: false, retryAfterSeconds: 0 });
  });

  it("the alarm keeps live rows, drops expired ones, and reschedules itself at the latest expiry", async () => {
    const stub = freshLimiter();
    const rule = { limit: 5, windowSeconds: 60 };
    await stub.hit(rule);
    await age(stub, 120);
    await stub.hit(rule);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const { rows, alarm } = await runInDurableObject(stub, (_, state) => ({
      rows: state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM hits").one().n,
      alarm: state.storage.getAlarm(),
    }));
    expect(rows).toBe(1);
    expect(await alarm).toBeGreaterThan(Date.now() + 50_000);
    expect((await stub.hit(rule)).remaining).toBe(3);
  });

  it("a cleared lockout leaves nothing for the alarm to keep", async () => {
    const stub = freshLimiter("LOGIN_EMAIL");
    await stub.recordFailure(POLICY);
    await stub.clearFailures();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await tablesOf(stub)).toEqual([]);
  });
});

describe("RateLimiter.clearFailuresUnlessLocked", () => {
  it("reports a lock without lifting it, and clears failures when not locked", async () => {
    const stub = env.RATE_LIMITER.get(
      env.RATE_LIMITER.idFromName(`LOGIN_EMAIL:settle-${crypto.randomUUID()}`),
    );
    const policy = { threshold: 5, lockSeconds: 900 };
    await stub.recordFailure(policy);
    expect(await stub.clearFailuresUnlessLocked()).toEqual({ locked: false, retryAfterSeconds: 0 });
    for (let i = 0; i < 4; i++) expect((await stub.recordFailure(policy)).locked).toBe(false);
    expect((await stub.recordFailure(policy)).lockedNow).toBe(true);
    const settled = await stub.clearFailuresUnlessLocked();
    expect(settled.locked).toBe(true);
    expect(settled.retryAfterSeconds).toBeGreaterThan(890);
    expect((await stub.lockStatus()).locked).toBe(true);
  });
});
