import type { Database, QueryStats } from "../db/client";
import type { Config, Env } from "../env";
import type { AuthContext } from "../middleware/auth";
import type { Logger } from "./logger";

/** Hono environment: bindings plus the per-request variables set by middleware (the only injection point). */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    traceId: string;
    log: Logger;
    db: Database;
    dbStats: QueryStats;
    /** From CF-Connecting-IP only (never X-Forwarded-For); `0.0.0.0` when absent (local). */
    clientIp: string;
    /** Set by `requireAuth`; read it through `authOf(c)`. */
    auth?: AuthContext;
    /** Set by the auth middleware on authenticated routes. */
    userId?: string;
    workspaceId?: string;
  };
};
