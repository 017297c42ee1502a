import type { Context } from "hono";
import type { Database } from "../db/client";
import type { Config, Env } from "../env";
import type { AppEnv } from "./app-env";
import type { Logger } from "./logger";

/**
 * What services receive: the request's database, parsed config, raw bindings, logger, waitUntil, and the
 * request facts audit events record. Services never see the Hono context.
 */
export type Deps = {
  db: Database;
  config: Config;
  env: Env;
  log: Logger;
  waitUntil: (promise: Promise<unknown>) => void;
  traceId: string;
  clientIp: string;
  userAgent: string | null;
};

export function depsFrom(c: Context<AppEnv>): Deps {
  return {
    db: c.var.db,
    config: c.var.config,
    env: c.env,
    log: c.var.log,
    waitUntil: (promise) => c.executionCtx.waitUntil(promise),
    traceId: c.var.traceId,
    clientIp: c.var.clientIp,
    userAgent: c.req.header("User-Agent")?.slice(0, 512) ?? null,
  };
}
