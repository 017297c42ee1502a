import type { Database, DbHandle, QueryStats } from "../db/client";
import type { Config, Env } from "../env";
import type { AuthContext, TokenCaller } from "../middleware/auth";
import type { Logger } from "./logger";

/** Hono environment: bindings plus the per-request variables set by middleware (the only injection point). */
export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    traceId: string;
    log: Logger;
    db: Database;
    /** DbHandle.selfGuarded: only for middleware/guarded-write.ts. */
    selfGuardedDb: Database;
    /** Set by requireAuthForGuardedWrite. */
    guardedWrite?: boolean;
    dbStats: QueryStats;
    /** The request's commit hold (DbHandle): set by requireAuthForWrite to the session check. */
    holdCommitsUntil: DbHandle["holdCommitsUntil"];
    /** From CF-Connecting-IP only (never X-Forwarded-For); `0.0.0.0` when absent (local). */
    clientIp: string;
    /** Set once the session check passed; read it through `authOf(c)` (or `authReady(c)`). */
    auth?: AuthContext;
    /** The session check in flight (requireAuth / requireAuthForRead), with the caller rules added to it. */
    authPending?: Promise<AuthContext>;
    /** The verified access token's user and workspace, before the session check answered. */
    tokenCaller?: TokenCaller;
    /** Set by the auth middleware on authenticated routes. */
    userId?: string;
    workspaceId?: string;
  };
};
