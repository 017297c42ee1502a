import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";

/**
 * One instance per persona: sliding-window chat limit and circuit breaker (personas issue).
 * Stub until then; `ping` proves the binding and SQLite storage work.
 */
export class PersonaGate extends DurableObject<Env> {
  async ping(): Promise<number> {
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS pings (at INTEGER NOT NULL)");
    this.ctx.storage.sql.exec("INSERT INTO pings (at) VALUES (?)", Date.now());
    return this.ctx.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM pings").one().n;
  }
}
