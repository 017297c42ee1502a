/**
 * Self-guarded writes (README "Round trips"): a write route whose whole change is ONE statement that carries
 * the session check in its own SQL. The statement starts with a `guard` CTE (the token's session, live by the
 * database clock, of an ACTIVE user, in a workspace that takes writes) and every change in it depends on a
 * row of `guard`, so it autocommits in the session check's flight: one round trip for the request.
 *
 * - The API_USER budget is spent first (a Durable Object call): a 429 must be known before anything is
 *   written. The budget is not a database round trip.
 * - The usual session check runs beside the statement and decides the answer (401, 404 for a foreign
 *   `x-workspace-id`, 409 while the workspace awaits deletion); the statement's result is handed over only
 *   once it passed. The guard makes sure a refused request changed nothing, even if the session was revoked
 *   between the two statements.
 * - Every other statement of the request still waits for the check (the commit hold of requireAuthForWrite).
 */
import { and, eq, ne, type SQL, sql } from "drizzle-orm";
import { QueryBuilder } from "drizzle-orm/pg-core";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../core/app-env";
import { ApiError } from "../core/errors";
import { rawRows } from "../db/raw";
import { sessions, users, workspaces } from "../db/schema";
import { invalidTokenError } from "../modules/auth/access-token";
import {
  authReady,
  liveSessionOf,
  startAuth,
  type TokenCaller,
  tokenCallerOf,
  writeAllowedWhilePendingDeletion,
} from "./auth";

/** One self-guarded statement: its CTEs (after `guard(user_id, role)`, in order) and its final SELECT. */
export type GuardedStatement = { with: Record<string, SQL>; select: SQL };

/**
 * What a service gets to run its statement: the token's identity at once (before the check answered), and
 * `run`, which answers the final SELECT's first row (as JSON, null when it returned none) once the session
 * check has passed. `followUps` are more self-guarded statements written in the same flight, right after it
 * on the same connection: each runs once the one before has committed, so it sees what that one could not
 * (rows committed while it waited for a lock).
 */
export type GuardedWrite = {
  caller: TokenCaller;
  run: <T>(statement: GuardedStatement, ...followUps: GuardedStatement[]) => Promise<T | null>;
};

/** `requireAuth` for a self-guarded write route (the handler uses `guardedWriteOf(c)`). */
export const requireAuthForGuardedWrite = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method === "GET" || c.req.method === "HEAD") {
    throw new Error("requireAuthForGuardedWrite on a read route");
  }
  await startAuth(c, { budgetFirst: true });
  c.set("guardedWrite", true);
  c.var.holdCommitsUntil(() => authReady(c));
  await next();
  await authReady(c);
});

/** The session of the token as a query: `(user_id, role)` when it may write to its workspace, else no row. */
function guardQuery(caller: TokenCaller, pendingDeletionAllowed: boolean) {
  return new QueryBuilder()
    .select({ userId: users.id, role: users.role })
    .from(sessions)
    .innerJoin(users, and(eq(users.id, sessions.userId), eq(users.workspaceId, sessions.workspaceId)))
    .innerJoin(workspaces, eq(workspaces.id, sessions.workspaceId))
    .where(
      and(
        liveSessionOf(caller),
        pendingDeletionAllowed ? undefined : ne(workspaces.status, "PENDING_DELETION"),
      ),
    );
}

export function guardedWriteOf(c: Context<AppEnv>): GuardedWrite {
  if (!c.get("guardedWrite"))
    throw new Error("guardedWriteOf(c) on a route without requireAuthForGuardedWrite");
  const caller = tokenCallerOf(c);
  return {
    caller,
    run: async <T>(statement: GuardedStatement, ...followUps: GuardedStatement[]): Promise<T | null> => {
      // A foreign x-workspace-id is refused by the check (404); the guard does not know the header, so the
      // statement is not sent at all.
      const requested = c.req.header("x-workspace-id");
      if (requested !== undefined && requested.trim().toLowerCase() !== caller.workspaceId) {
        await authReady(c);
        throw new ApiError("NOT_FOUND", "Not found.");
      }
      const guard = guardQuery(caller, writeAllowedWhilePendingDeletion(c.req.method, c.req.path));
      const send = (one: GuardedStatement) => {
        const ctes = [
          sql`guard (user_id, role) AS MATERIALIZED (${guard})`,
          ...Object.entries(one.with).map(([name, body]) => sql`${sql.identifier(name)} AS (${body})`),
        ];
        const rows = rawRows<{ guarded: boolean; result: T | null }>(
          c.var.selfGuardedDb,
          sql`WITH ${sql.join(ctes, sql`, `)}
              SELECT EXISTS (SELECT 1 FROM guard) AS guarded,
                     (SELECT row_to_json(s) FROM (${one.select}) s LIMIT 1) AS result`,
        );
        rows.catch(() => {}); // observed once the check passed; a refusal drops it unseen
        return rows;
      };
      // Issued in one tick: one flight, executed in order on the request's connection.
      const [first, ...rest] = [statement, ...followUps].map(send);
      await authReady(c);
      await Promise.all(rest);
      const [row] = (await first) ?? [];
      // The check passed but the guard did not hold: the session ended between the two statements.
      if (!row?.guarded) throw invalidTokenError("The session has ended. Sign in again.");
      return row.result;
    },
  };
}
