import type { Context } from "hono";
import { createDb, type Database } from "../db/client";
import type { Config, Env } from "../env";
import type { AppEnv } from "./app-env";
import { errorFields, type Logger } from "./logger";

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

/**
 * Runs `work` beside the response — started now, never awaited by it, kept alive by waitUntil — on its own
 * database client (the request's is closed once the response is sent). For work whose duration the answer
 * must not reveal, such as a mail sent only for some addresses. A failure is logged, never thrown: nobody is
 * waiting for it (the person asks again, like for a lost mail).
 */
export function inBackground(deps: Deps, what: string, work: (deps: Deps) => Promise<unknown>): void {
  const handle = createDb(deps.env.HYPERDRIVE.connectionString);
  deps.waitUntil(
    work({ ...deps, db: handle.db })
      .catch((error) => deps.log.error(`${what} failed`, errorFields(error)))
      .finally(() => handle.close().catch(() => {})),
  );
}
