import { DurableObject } from "cloudflare:workers";
import type { Env, RateLimitRule } from "../env";

/**
 * CONFIG.md / DESIGN.md: 5 consecutive failed relays open the breaker for 5 minutes. The open time is the
 * BREAKER_OPEN_SECONDS variable (default 300) so `npm run drill:webhook-outage` can watch several cooldowns.
 */
export const BREAKER_FAILURE_THRESHOLD = 5;
export const BREAKER_OPEN_SECONDS = 300;
/** Traits-webhook ids are remembered at least twice the 5-minute signature window. */
export const WEBHOOK_ID_MEMORY_SECONDS = 600;

export type BreakerState = "CLOSED" | "OPEN" | "HALF_OPEN";

export type Admission =
  | {
      allowed: true;
      /** Set in HALF_OPEN: this chat is the one probe; report with it so its outcome decides the breaker. */
      probeLease: string | null;
      /** When it was counted: names the chat for `release`. */
      at: number;
    }
  | { allowed: false; reason: "RATE_LIMITED" | "BREAKER_OPEN"; retryAfterSeconds: number };

/** The shared (per global persona) admission: the global window and the one probe per cooldown. */
export type SharedAdmission =
  | { allowed: true; at: number }
  | { allowed: false; reason: "RATE_LIMITED" | "BREAKER_OPEN"; retryAfterSeconds: number };

export type BreakerStatus = {
  state: BreakerState;
  consecutiveFailures: number;
  /** While OPEN: when a probe may go (ISO); null otherwise. Mirrored to personas.breaker_open_until. */
  openUntil: string | null;
  probeInFlight: boolean;
};

type BreakerRow = {
  state: BreakerState;
  failures: number;
  open_until: number | null;
  lease_id: string | null;
  lease_until: number | null;
};

const SCHEMA = [
  "CREATE TABLE IF NOT EXISTS chats (at INTEGER NOT NULL)",
  "CREATE INDEX IF NOT EXISTS chats_at ON chats (at)",
  `CREATE TABLE IF NOT EXISTS breaker (id INTEGER PRIMARY KEY CHECK (id = 1), state TEXT NOT NULL,
     failures INTEGER NOT NULL, open_until INTEGER, lease_id TEXT, lease_until INTEGER)`,
  "CREATE TABLE IF NOT EXISTS webhook_ids (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
  // The shared gate of a global persona: its global window (restricted = a PERSONAL or unverified workspace)
  // and the probe slot that all of its workspaces' breakers share.
  "CREATE TABLE IF NOT EXISTS shared_chats (at INTEGER NOT NULL, restricted INTEGER NOT NULL)",
  "CREATE INDEX IF NOT EXISTS shared_chats_at ON shared_chats (at)",
  `CREATE TABLE IF NOT EXISTS shared_probe (id INTEGER PRIMARY KEY CHECK (id = 1), until INTEGER NOT NULL,
     lease TEXT NOT NULL)`,
];

const secondsUntil = (at: number, now: number) => Math.max(1, Math.ceil((at - now) / 1000));

/**
 * One instance per persona (named by its id) — and for a global persona, shared by every tenant, one per
 * (persona, workspace) (named `<persona id>:<workspace id>`) plus the persona's own as the *shared* gate (issue
 * 16: two free accounts must not keep a global persona at 429 for everyone, nor can one tenant's failures open
 * the breaker for all). The authority on whether a chat may be relayed now.
 *
 * - Sliding-window limit (CHAT_PERSONA, 60/min): exact under concurrency because every method reads, decides
 *   and writes with synchronous SQL before its first `await` — keep it that way.
 * - Circuit breaker: CLOSED → (5 consecutive failures) → OPEN for 5 minutes → HALF_OPEN, where exactly one
 *   chat gets a probe *lease*; its success closes the breaker, its failure re-opens it. A lease that is never
 *   reported (the relay's isolate died) expires — checked on every admission and cleared by the alarm — so a
 *   lost probe cannot wedge the persona.
 * - Replay memory for the traits webhook (`webhook-id`s seen in the last 10 minutes).
 *
 * State lives in SQLite storage, so it survives restarts and evictions.
 */
export class PersonaGate extends DurableObject<Env> {
  private schemaReady = false;

  /**
   * Decides whether one chat may be relayed now: breaker first (a refused chat does not use up the rate
   * window), then the window. Nothing is recorded for a refused chat.
   */
  async admit(rule: RateLimitRule, probeLeaseSeconds: number): Promise<Admission> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const breaker = this.settle(now);
    if (breaker.state === "OPEN") {
      return {
        allowed: false,
        reason: "BREAKER_OPEN",
        retryAfterSeconds: secondsUntil(breaker.open_until ?? now, now),
      };
    }
    if (breaker.state === "HALF_OPEN" && breaker.lease_id) {
      return {
        allowed: false,
        reason: "BREAKER_OPEN",
        retryAfterSeconds: secondsUntil(breaker.lease_until ?? now, now),
      };
    }

    const windowMs = rule.windowSeconds * 1000;
    sql.exec("DELETE FROM chats WHERE at <= ?", now - windowMs);
    const { n, oldest } = sql
      .exec<{ n: number; oldest: number | null }>("SELECT count(*) AS n, min(at) AS oldest FROM chats")
      .one();
    if (n >= rule.limit) {
      return {
        allowed: false,
        reason: "RATE_LIMITED",
        retryAfterSeconds: secondsUntil((oldest ?? now) + windowMs, now),
      };
    }
    sql.exec("INSERT INTO chats (at) VALUES (?)", now);

    let probeLease: string | null = null;
    if (breaker.state === "HALF_OPEN") {
      probeLease = crypto.randomUUID();
      sql.exec(
        "UPDATE breaker SET lease_id = ?, lease_until = ? WHERE id = 1",
        probeLease,
        now + probeLeaseSeconds * 1000,
      );
    }
    await this.scheduleAlarm();
    return { allowed: true, probeLease, at: now };
  }

  /**
   * Undoes an admission that a later step refused (the shared gate of a global persona): its chat leaves the
   * window, and its probe lease (if it got one) is given back.
   */
  async release(admittedAt: number, probeLease: string | null): Promise<void> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    sql.exec("DELETE FROM chats WHERE rowid = (SELECT rowid FROM chats WHERE at = ? LIMIT 1)", admittedAt);
    if (probeLease) {
      sql.exec(
        "UPDATE breaker SET lease_id = NULL, lease_until = NULL WHERE id = 1 AND lease_id = ?",
        probeLease,
      );
    }
  }

  /**
   * The shared gate of a global persona (this instance is named by the persona id alone). Counts one chat
   * against the global window, where restricted workspaces (PERSONAL or without a verified domain) together
   * get at most `restrictedLimit` of `rule.limit`; and, for a chat that is a workspace breaker's probe
   * (`probeLease`), takes the one probe slot: a dead webhook is probed at most once per cooldown in total,
   * however many workspaces' breakers are half open. The slot is held for the probe's lease while it is in
   * flight, and for the cooldown only when the probe found the webhook down (`reportSharedProbe`). Nothing is
   * recorded for a refused chat.
   */
  async admitShared(
    rule: RateLimitRule,
    options: {
      restricted: boolean;
      restrictedLimit: number;
      probeLease: string | null;
      leaseSeconds: number;
    },
  ): Promise<SharedAdmission> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    if (options.probeLease) {
      const slot = sql.exec<{ until: number }>("SELECT until FROM shared_probe WHERE id = 1").toArray()[0];
      if (slot && slot.until > now) {
        return { allowed: false, reason: "BREAKER_OPEN", retryAfterSeconds: secondsUntil(slot.until, now) };
      }
    }
    const windowMs = rule.windowSeconds * 1000;
    sql.exec("DELETE FROM shared_chats WHERE at <= ?", now - windowMs);
    const counts = sql
      .exec<{ n: number; r: number; oldest: number | null; oldestRestricted: number | null }>(
        `SELECT count(*) AS n, coalesce(sum(restricted), 0) AS r, min(at) AS oldest,
                min(CASE WHEN restricted = 1 THEN at END) AS oldestRestricted FROM shared_chats`,
      )
      .one();
    if (counts.n >= rule.limit) {
      return {
        allowed: false,
        reason: "RATE_LIMITED",
        retryAfterSeconds: secondsUntil((counts.oldest ?? now) + windowMs, now),
      };
    }
    if (options.restricted && counts.r >= options.restrictedLimit) {
      return {
        allowed: false,
        reason: "RATE_LIMITED",
        retryAfterSeconds: secondsUntil((counts.oldestRestricted ?? now) + windowMs, now),
      };
    }
    sql.exec("INSERT INTO shared_chats (at, restricted) VALUES (?, ?)", now, options.restricted ? 1 : 0);
    if (options.probeLease) {
      sql.exec(
        `INSERT INTO shared_probe (id, until, lease) VALUES (1, ?, ?)
           ON CONFLICT (id) DO UPDATE SET until = excluded.until, lease = excluded.lease`,
        now + options.leaseSeconds * 1000,
        options.probeLease,
      );
    }
    await this.scheduleAlarm();
    return { allowed: true, at: now };
  }

  /**
   * A shared probe's outcome, by its lease (a late report of an older probe changes nothing). The webhook
   * down (no answer, 5xx, 429) keeps the slot for the cooldown: no workspace probes again before it ends.
   * Any other outcome — success, or an answer that only this chat's content may have caused — frees it, so
   * one tenant's failing payloads cannot hold back every other tenant's recovery.
   */
  async reportSharedProbe(outcome: {
    lease: string;
    webhookDown: boolean;
    cooldownSeconds: number;
  }): Promise<void> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    if (outcome.webhookDown) {
      sql.exec(
        "UPDATE shared_probe SET until = ? WHERE id = 1 AND lease = ?",
        Date.now() + outcome.cooldownSeconds * 1000,
        outcome.lease,
      );
    } else {
      sql.exec("DELETE FROM shared_probe WHERE id = 1 AND lease = ?", outcome.lease);
    }
  }

  /** Gives back a shared admission that was not relayed (its chat leaves the window, its slot is freed). */
  async releaseShared(admittedAt: number, probeLease: string | null): Promise<void> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    sql.exec(
      "DELETE FROM shared_chats WHERE rowid = (SELECT rowid FROM shared_chats WHERE at = ? LIMIT 1)",
      admittedAt,
    );
    if (probeLease) sql.exec("DELETE FROM shared_probe WHERE id = 1 AND lease = ?", probeLease);
  }

  /**
   * The outcome of an admitted chat's relay. Success closes the breaker. A failure counts towards opening it;
   * the probe's failure re-opens it at once. Late reports of chats admitted before the breaker opened are
   * ignored while it is OPEN. Returns the status to mirror into Postgres.
   */
  async report(
    outcome: { success: boolean; probeLease?: string | null },
    openSeconds = BREAKER_OPEN_SECONDS,
  ): Promise<BreakerStatus> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    const breaker = this.settle(now);
    if (outcome.success) {
      sql.exec(
        "UPDATE breaker SET state = 'CLOSED', failures = 0, open_until = NULL, lease_id = NULL, lease_until = NULL WHERE id = 1",
      );
    } else if (
      breaker.state === "HALF_OPEN" &&
      outcome.probeLease &&
      outcome.probeLease === breaker.lease_id
    ) {
      this.open(now, BREAKER_FAILURE_THRESHOLD, openSeconds);
    } else if (breaker.state === "CLOSED") {
      const failures = breaker.failures + 1;
      if (failures >= BREAKER_FAILURE_THRESHOLD) this.open(now, failures, openSeconds);
      else sql.exec("UPDATE breaker SET failures = ? WHERE id = 1", failures);
    }
    await this.scheduleAlarm();
    return this.statusAt(now);
  }

  /** The breaker as it is now (for deliveries and health). */
  async status(): Promise<BreakerStatus> {
    if (!this.hasSchema())
      return { state: "CLOSED", consecutiveFailures: 0, openUntil: null, probeInFlight: false };
    return this.statusAt(Date.now());
  }

  /**
   * Remembers a traits-webhook `webhook-id`. True the first time; false when it was seen in the last
   * 10 minutes (a replay).
   */
  async rememberWebhookId(webhookId: string): Promise<boolean> {
    this.ensureSchema();
    const sql = this.ctx.storage.sql;
    const now = Date.now();
    sql.exec("DELETE FROM webhook_ids WHERE expires_at <= ?", now);
    const seen = sql
      .exec<{ n: number }>("SELECT count(*) AS n FROM webhook_ids WHERE id = ?", webhookId)
      .one().n;
    if (seen > 0) return false;
    sql.exec(
      "INSERT INTO webhook_ids (id, expires_at) VALUES (?, ?)",
      webhookId,
      now + WEBHOOK_ID_MEMORY_SECONDS * 1000,
    );
    await this.scheduleAlarm();
    return true;
  }

  /** Applies time-based transitions (OPEN → HALF_OPEN, expired probe lease), clears old rows, re-arms. */
  override async alarm(): Promise<void> {
    if (!this.hasSchema()) return;
    const now = Date.now();
    this.settle(now);
    this.ctx.storage.sql.exec("DELETE FROM chats WHERE at <= ?", now - 3600_000);
    this.ctx.storage.sql.exec("DELETE FROM webhook_ids WHERE expires_at <= ?", now);
    this.ctx.storage.sql.exec("DELETE FROM shared_chats WHERE at <= ?", now - 3600_000);
    await this.scheduleAlarm();
  }

  /** Reads the breaker row, applying the transitions that time alone causes, and returns it. */
  private settle(now: number): BreakerRow {
    const sql = this.ctx.storage.sql;
    sql.exec("INSERT OR IGNORE INTO breaker (id, state, failures) VALUES (1, 'CLOSED', 0)");
    sql.exec(
      "UPDATE breaker SET state = 'HALF_OPEN', open_until = NULL WHERE id = 1 AND state = 'OPEN' AND open_until <= ?",
      now,
    );
    sql.exec("UPDATE breaker SET lease_id = NULL, lease_until = NULL WHERE id = 1 AND lease_until <= ?", now);
    return sql
      .exec<BreakerRow>("SELECT state, failures, open_until, lease_id, lease_until FROM breaker WHERE id = 1")
      .one();
  }

  private open(now: number, failures: number, openSeconds: number) {
    this.ctx.storage.sql.exec(
      "UPDATE breaker SET state = 'OPEN', failures = ?, open_until = ?, lease_id = NULL, lease_until = NULL WHERE id = 1",
      failures,
      now + openSeconds * 1000,
    );
  }

  private statusAt(now: number): BreakerStatus {
    const row = this.settle(now);
    return {
      state: row.state,
      consecutiveFailures: row.failures,
      openUntil: row.state === "OPEN" && row.open_until ? new Date(row.open_until).toISOString() : null,
      probeInFlight: row.lease_id !== null,
    };
  }

  /** One alarm at the next moment something changes by itself: breaker re-arming, lease expiry, old rows. */
  private async scheduleAlarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const { next } = sql
      .exec<{ next: number | null }>(
        `SELECT min(t) AS next FROM (
           SELECT open_until AS t FROM breaker WHERE open_until IS NOT NULL
           UNION ALL SELECT lease_until FROM breaker WHERE lease_until IS NOT NULL
           UNION ALL SELECT min(expires_at) FROM webhook_ids
           UNION ALL SELECT min(at) + 3600000 FROM chats
           UNION ALL SELECT min(at) + 3600000 FROM shared_chats)`,
      )
      .one();
    if (next === null) return;
    const current = await this.ctx.storage.getAlarm();
    if (current === null || current > next) await this.ctx.storage.setAlarm(next);
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
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = 'breaker'",
      )
      .one();
    this.schemaReady = n > 0;
    return this.schemaReady;
  }

  /** Health probe for test/bindings.test.ts: proves the binding and SQLite storage work. */
  async ping(): Promise<number> {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pings (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO pings (at) VALUES (?)", Date.now());
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pings").one().n;
  }
}
