import { DurableObject } from "cloudflare:workers";
import type { Env, RateLimitRule } from "../env";

/** The answer to one `hit`: what the RateLimit-* and Retry-After headers are built from. */
export type RateDecision = {
  allowed: boolean;
  limit: number;
  /** Hits still allowed in the current window (after this one, when it was allowed). */
  remaining: number;
  /** Seconds until the oldest counted hit leaves the window, i.e. until a slot frees up (0 when none). */
  resetSeconds: number;
  /** Seconds until a refused caller can succeed (≥ 1 when refused); 0 when allowed. */
  retryAfterSeconds: number;
};

/** Lockout policy: `threshold` consecutive failures lock for `lockSeconds`. */
export type LockPolicy = { threshold: number; lockSeconds: number };
export type LockStatus = { locked: boolean; retryAfterSeconds: number };
export type FailureResult = {
  locked: boolean;
  /** True only on the failure that set the lock, so callers audit ACCOUNT_LOCKED exactly once. */
  lockedNow: boolean;
  failures: number;
  retryAfterSeconds: number;
};

const SCHEMA = [
  // One row per allowed hit; refused hits are not stored, so a flood cannot grow the table past `limit` rows.
  "CREATE TABLE IF NOT EXISTS hits (at INTEGER NOT NULL, expires_at INTEGER NOT NULL)",
  "CREATE TABLE IF NOT EXISTS lockout (id INTEGER PRIMARY KEY CHECK (id = 1), failures INTEGER NOT NULL, locked_until INTEGER, expires_at INTEGER NOT NULL)",
];

type LockRow = { failures: number; locked_until: number | null; expires_at: number };

const secondsUntil = (at: number, now: number) => Math.max(0, Math.ceil((at - now) / 1000));

/**
 * One instance per key `<SCOPE>:<subject>` (CONFIG.md "Rate limits"): an exact sliding window of hit timestamps
 * and, for LOGIN_EMAIL keys, the consecutive-failure lockout.
 *
 * Exactness under concurrency comes from the Durable Object model: every method reads, decides and writes with
 * synchronous SQL before its first `await`, so concurrent calls cannot interleave between the count and the
 * insert. Keep it that way — an `await` between reading and writing would reintroduce the race.
 *
 * Storage hygiene: every row carries an `expires_at`, and an alarm deletes the whole object's storage once
 * nothing in it is live, so the millions of IP and email keys seen once cost nothing after their window.
 * Read-only calls (`lockStatus`, `clearFailures` on a fresh key) never create tables, for the same reason.
 */
export class RateLimiter extends DurableObject<Env> {
  private schemaReady = false;
  /**
   * True once this instance knows an alarm is pending, so a hit skips the storage round trip of `getAlarm`
   * (the hot path of API_USER, hit by every authenticated request). Memory only: a fresh instance checks again.
   */
  private alarmPending = false;
  /**
   * Allowed hits of an in-memory window (oldest first). For API_USER, which every authenticated request hits:
   * no storage write per request. What it gives up: a restarted or evicted instance starts from zero — at
   * most one window (a minute) of hits forgotten after a deploy, and eviction needs the object idle for longer
   * than that window anyway. Fine for a throughput budget; security scopes (login, reset, register) stay in
   * SQLite.
   */
  private memoryHits: number[] = [];

  /**
   * Counts this hit against `rule` and records it only when it is allowed (a refused hit stores nothing).
   * `inMemory`: keep this window in the instance's memory instead of SQLite — see `memoryHits`.
   */
  async hit(rule: RateLimitRule, options: { inMemory?: boolean } = {}): Promise<RateDecision> {
    if (options.inMemory) return this.hitInMemory(rule);
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const windowMs = rule.windowSeconds * 1000;
    const cutoff = now - windowMs;
    sql.exec("DELETE FROM hits WHERE at <= ? OR expires_at <= ?", cutoff, now);
    const { n: count, oldest } = sql
      .exec<{ n: number; oldest: number | null }>("SELECT count(*) AS n, min(at) AS oldest FROM hits")
      .one();

    if (count >= rule.limit) {
      // After a lowered limit there can be more live hits than the limit: the caller must wait for as many of
      // them to leave as it takes to get below it, not just for the oldest.
      const freeing = sql
        .exec<{ at: number }>("SELECT at FROM hits ORDER BY at LIMIT 1 OFFSET ?", count - rule.limit)
        .toArray()[0];
      const retryAfterSeconds = Math.max(
        1,
        freeing ? secondsUntil(freeing.at + windowMs, now) : rule.windowSeconds,
      );
      return {
        allowed: false,
        limit: rule.limit,
        remaining: 0,
        resetSeconds: oldest === null ? retryAfterSeconds : Math.max(1, secondsUntil(oldest + windowMs, now)),
        retryAfterSeconds,
      };
    }

    sql.exec("INSERT INTO hits (at, expires_at) VALUES (?, ?)", now, now + windowMs);
    const decision: RateDecision = {
      allowed: true,
      limit: rule.limit,
      remaining: rule.limit - count - 1,
      resetSeconds: secondsUntil((oldest ?? now) + windowMs, now),
      retryAfterSeconds: 0,
    };
    await this.scheduleCleanup(now + windowMs);
    return decision;
  }

  /** Whether the key is locked now. Never writes. */
  async lockStatus(): Promise<LockStatus> {
    const now = Date.now();
    const row = this.lockRow();
    if (row?.locked_until != null && row.locked_until > now) {
      return { locked: true, retryAfterSeconds: Math.max(1, secondsUntil(row.locked_until, now)) };
    }
    return { locked: false, retryAfterSeconds: 0 };
  }

  /**
   * Counts one failed attempt. Policy decisions:
   * - A failure while locked neither counts nor extends the lock: otherwise anyone who knows an email could
   *   keep its owner locked out forever by retrying just before each lock ends. (The login route refuses
   *   attempts while locked before checking the password, so this only happens in races.)
   * - When a lock has run out, counting restarts at zero: the lock "spent" those failures.
   * - Failures are forgotten `lockSeconds` after the last one. This gives an attacker no more guesses than
   *   waiting out a lock would (threshold − 1 per `lockSeconds` instead of threshold), and lets the row expire.
   */
  async recordFailure(policy: LockPolicy): Promise<FailureResult> {
    this.ensureSchema();
    const now = Date.now();
    const lockMs = policy.lockSeconds * 1000;
    const row = this.lockRow();
    if (row?.locked_until != null && row.locked_until > now) {
      return {
        locked: true,
        lockedNow: false,
        failures: row.failures,
        retryAfterSeconds: Math.max(1, secondsUntil(row.locked_until, now)),
      };
    }
    const stale = !row || row.expires_at <= now || row.locked_until != null;
    const failures = (stale ? 0 : row.failures) + 1;
    const lockedNow = failures >= policy.threshold;
    const lockedUntil = lockedNow ? now + lockMs : null;
    const expiresAt = now + lockMs;
    this.ctx.storage.sql.exec(
      `INSERT INTO lockout (id, failures, locked_until, expires_at) VALUES (1, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until,
         expires_at = excluded.expires_at`,
      failures,
      lockedUntil,
      expiresAt,
    );
    const result: FailureResult = {
      locked: lockedNow,
      lockedNow,
      failures,
      retryAfterSeconds: lockedNow ? policy.lockSeconds : 0,
    };
    await this.scheduleCleanup(expiresAt);
    return result;
  }

  private hitInMemory(rule: RateLimitRule): RateDecision {
    const now = Date.now();
    const windowMs = rule.windowSeconds * 1000;
    const hits = this.memoryHits;
    let expired = 0;
    while (expired < hits.length && (hits[expired] ?? 0) <= now - windowMs) expired++;
    if (expired > 0) hits.splice(0, expired);
    const oldest = hits[0];
    if (hits.length >= rule.limit) {
      // As in `hit`: after a lowered limit, wait until enough hits have left to get below it.
      const freeing = hits[hits.length - rule.limit];
      const retryAfterSeconds = Math.max(
        1,
        freeing === undefined ? rule.windowSeconds : secondsUntil(freeing + windowMs, now),
      );
      return {
        allowed: false,
        limit: rule.limit,
        remaining: 0,
        resetSeconds:
          oldest === undefined ? retryAfterSeconds : Math.max(1, secondsUntil(oldest + windowMs, now)),
        retryAfterSeconds,
      };
    }
    hits.push(now);
    return {
      allowed: true,
      limit: rule.limit,
      remaining: rule.limit - hits.length,
      resetSeconds: secondsUntil((oldest ?? now) + windowMs, now),
      retryAfterSeconds: 0,
    };
  }

  /** Forgets failures and any lock (successful login, password reset). `wasLocked`: a live lock was lifted. */
  async clearFailures(): Promise<{ wasLocked: boolean }> {
    const row = this.lockRow();
    if (!row) return { wasLocked: false };
    this.ctx.storage.sql.exec("DELETE FROM lockout");
    // The alarm already scheduled for this row's expiry finds nothing left and deletes the storage.
    return { wasLocked: row.locked_until != null && row.locked_until > Date.now() };
  }

  /**
   * A correct password's bookkeeping in one step: while locked, nothing changes and the lock is reported (the
   * caller refuses the login); otherwise the failures are forgotten. One call, so no failure recorded by a
   * parallel guess can slip between a "not locked" answer and the clearing.
   */
  async clearFailuresUnlessLocked(): Promise<LockStatus> {
    const row = this.lockRow();
    if (!row) return { locked: false, retryAfterSeconds: 0 };
    const now = Date.now();
    if (row.locked_until != null && row.locked_until > now) {
      return { locked: true, retryAfterSeconds: Math.max(1, secondsUntil(row.locked_until, now)) };
    }
    this.ctx.storage.sql.exec("DELETE FROM lockout");
    return { locked: false, retryAfterSeconds: 0 };
  }

  /** Deletes expired rows; deletes the whole storage when nothing is left, else runs again at the last expiry. */
  override async alarm(): Promise<void> {
    this.alarmPending = false;
    if (this.hasSchema()) {
      const sql = this.ctx.storage.sql;
      const now = Date.now();
      sql.exec("DELETE FROM hits WHERE expires_at <= ?", now);
      sql.exec("DELETE FROM lockout WHERE expires_at <= ?", now);
      const { latest } = sql
        .exec<{ latest: number | null }>(
          "SELECT max(e) AS latest FROM (SELECT max(expires_at) AS e FROM hits UNION ALL SELECT max(expires_at) FROM lockout)",
        )
        .one();
      if (latest !== null) {
        await this.ctx.storage.setAlarm(latest);
        this.alarmPending = true;
        return;
      }
    }
    // deleteAll also removes the tables (and, from compatibility date 2026-02-24, the alarm itself).
    this.schemaReady = false;
    await this.ctx.storage.deleteAll();
  }

  /** Health probe for test/bindings.test.ts: proves the binding and SQLite storage work. */
  async ping(): Promise<number> {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pings (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO pings (at) VALUES (?)", Date.now());
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pings").one().n;
  }

  private ensureSchema(): void {
    if (this.schemaReady) return;
    for (const statement of SCHEMA) this.ctx.storage.sql.exec(statement);
    this.schemaReady = true;
  }

  private hasSchema(): boolean {
    if (this.schemaReady) return true;
    const { n } = this.ctx.storage.sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('hits', 'lockout')",
      )
      .one();
    this.schemaReady = n === SCHEMA.length;
    return this.schemaReady;
  }

  private lockRow(): LockRow | undefined {
    if (!this.hasSchema()) return undefined;
    return this.ctx.storage.sql
      .exec<LockRow>("SELECT failures, locked_until, expires_at FROM lockout WHERE id = 1")
      .toArray()[0];
  }

  /**
   * Makes sure an alarm exists. One alarm per object is enough: when it fires early it reschedules itself at
   * the latest expiry, so writes only pay for an alarm when none is pending.
   */
  private async scheduleCleanup(expiresAt: number): Promise<void> {
    if (this.alarmPending) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(expiresAt);
    this.alarmPending = true;
  }
}
