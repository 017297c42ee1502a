import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * One instance per rate-limit key (scope + subject): sliding-window counters (accounts issue).
 * Stub until then; `ping` proves the binding and SQLite storage work.
 */
export class RateLimiter extends DurableObject<Env> {
  async ping(): Promise<number> {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pings (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO pings (at) VALUES (?)", Date.now());
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pings").one().n;
  }
}
