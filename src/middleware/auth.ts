/**
 * Authentication and coarse authorization for bearer routes (DESIGN.md "Rules that cut across modules": Auth
 * context). `requireAuth` verifies the access token, then loads session + user + workspace in ONE query whose
 * predicates use the database clock, so a revoked session or a deactivated user is refused at once — not
 * when the 15-minute token expires.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../core/app-env";
import { depsFrom } from "../core/deps";
import { ApiError } from "../core/errors";
import { enforceRateLimit } from "../core/rate-limit";
import { type Database, issue } from "../db/client";
import {
  type SessionMethod,
  sessions,
  type User,
  type UserRole,
  users,
  type WorkspaceKind,
  type WorkspaceStatus,
  workspaces,
} from "../db/schema";
import { type AccessTokenClaims, invalidTokenError, verifyAccessToken } from "../modules/auth/access-token";

/**
 * The caller's users-row fields the auth query returns too: everything the profile (GET /api/users/me)
 * shows, so it needs no second query — never the password hash.
 */
const profileColumns = {
  id: users.id,
  workspaceId: users.workspaceId,
  email: users.email,
  name: users.name,
  role: users.role,
  status: users.status,
  avatarKey: users.avatarKey,
  timezone: users.timezone,
  locale: users.locale,
  emailVerifiedAt: users.emailVerifiedAt,
  lastLoginAt: users.lastLoginAt,
  createdAt: users.createdAt,
};
export type UserProfile = Pick<User, keyof typeof profileColumns>;

/** Who is calling, as later middleware and handlers see it (`authOf(c)`). */
export type AuthContext = {
  userId: string;
  sessionId: string;
  workspaceId: string;
  role: UserRole;
  email: string;
  name: string | null;
  workspaceStatus: WorkspaceStatus;
  workspaceKind: WorkspaceKind;
  /** When the user last proved a credential (login), for re-authentication rules. */
  authTime: Date;
  method: SessionMethod;
  /** ACTIVE user whose email is in PLATFORM_ADMIN_EMAILS. */
  isPlatformAdmin: boolean;
  /** The caller's row as of this request. */
  profile: UserProfile;
};

const BEARER = /^Bearer[ \t]+([A-Za-z0-9\-._~+/]+=*)[ \t]*$/i;

/** The token of an `Authorization: Bearer …` header (RFC 6750 §2.1 syntax), or null. */
export function bearerToken(header: string | undefined): string | null {
  return header ? (BEARER.exec(header)?.[1] ?? null) : null;
}

/**
 * The token's session, still live by the database clock, of an ACTIVE user in the token's workspace: the
 * predicate over sessions ⋈ users (⋈ workspaces) of the auth query and of the guard of a self-guarded write.
 */
export function liveSessionOf(claims: TokenCaller) {
  return and(
    eq(sessions.id, claims.sessionId),
    eq(sessions.userId, claims.userId),
    eq(sessions.workspaceId, claims.workspaceId),
    isNull(sessions.revokedAt),
    gt(sessions.idleExpiresAt, sql`now()`),
    gt(sessions.absoluteExpiresAt, sql`now()`),
    eq(users.status, "ACTIVE"),
  );
}

/**
 * The auth context's one query: the token's session, still live by the database clock, of an ACTIVE user in
 * the token's workspace. Returns null when any part does not hold (the caller answers 401, whatever failed).
 */
export async function loadAuthContext(
  db: Database,
  claims: AccessTokenClaims,
  platformAdminEmails: readonly string[],
): Promise<AuthContext | null> {
  // Issued at once (not a tick later, as `await` on a builder would): requireAuthForWrite relies on it.
  const [row] = await issue(
    db
      .select({
        profile: profileColumns,
        workspaceStatus: workspaces.status,
        workspaceKind: workspaces.kind,
        authTime: sessions.authTime,
        method: sessions.method,
      })
      .from(sessions)
      .innerJoin(users, and(eq(users.id, sessions.userId), eq(users.workspaceId, sessions.workspaceId)))
      .innerJoin(workspaces, eq(workspaces.id, sessions.workspaceId))
      .where(liveSessionOf(claims))
      .limit(1),
  );
  if (!row) return null;
  return {
    userId: claims.userId,
    sessionId: claims.sessionId,
    workspaceId: claims.workspaceId,
    role: row.profile.role,
    email: row.profile.email,
    name: row.profile.name,
    workspaceStatus: row.workspaceStatus,
    workspaceKind: row.workspaceKind,
    authTime: row.authTime,
    method: row.method,
    // The query already required ACTIVE; emails are stored lower-cased and the config list is lower-cased.
    isPlatformAdmin: platformAdminEmails.includes(row.profile.email),
    profile: row.profile,
  };
}

const READ_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/**
 * Writes that stay allowed while the caller's workspace is PENDING_DELETION (API.md status table): the auth
 * routes (logout, sessions, password, account deletion…), the workspace's own cancel-deletion, and platform
 * operations, which are not writes to the workspace.
 */
const ALLOWED_WHILE_PENDING_DELETION = [
  /^\/api\/auth\//,
  /^\/api\/users\/me\/password$/,
  /^\/api\/workspaces\/[^/]+\/cancel-deletion$/,
  /^\/api\/platform\//,
];

export function writeAllowedWhilePendingDeletion(method: string, path: string): boolean {
  return READ_METHODS.has(method) || ALLOWED_WHILE_PENDING_DELETION.some((pattern) => pattern.test(path));
}

/** Who the verified access token names: enough to start a read before the session check has answered. */
export type TokenCaller = { userId: string; workspaceId: string; sessionId: string };

/**
 * The session check (the one auth query) and the API_USER budget, started together: the Durable Object call
 * runs alongside the query (spending budget changes no row). Resolves with the auth context once every rule
 * of `requireAuth` holds, else rejects with its error; nothing is set on the context here.
 */
function checkSession(
  c: Context<AppEnv>,
  claims: AccessTokenClaims,
  budget: Promise<unknown> = spendBudget(c, claims),
): Promise<AuthContext> {
  const session = loadAuthContext(c.var.db, claims, c.var.config.PLATFORM_ADMIN_EMAILS);
  budget.catch(() => {}); // observed below; an unanswered session check must not leave it unhandled
  return session.then(async (auth) => {
    if (!auth) throw invalidTokenError("The session has ended. Sign in again.");
    const requested = c.req.header("x-workspace-id");
    if (requested !== undefined && requested.trim().toLowerCase() !== auth.workspaceId) {
      throw new ApiError("NOT_FOUND", "Not found.");
    }
    if (
      auth.workspaceStatus === "PENDING_DELETION" &&
      !writeAllowedWhilePendingDeletion(c.req.method, c.req.path)
    ) {
      throw new ApiError(
        "WORKSPACE_PENDING_DELETION",
        "This workspace is scheduled for deletion: it is read-only until an admin cancels the deletion.",
      );
    }
    await budget;
    return auth;
  });
}

/** API_USER (CONFIG.md): one budget per user across every authenticated route, before the handler's result. */
const spendBudget = (c: Context<AppEnv>, claims: TokenCaller) =>
  enforceRateLimit(depsFrom(c), "API_USER", claims.userId);

/**
 * Verifies the bearer token (CPU only while the key set is cached) and starts the session check. With
 * `budgetFirst`, the API_USER budget is spent before the check starts (a self-guarded write commits in the
 * check's flight, so a 429 must be known before it is written).
 */
export async function startAuth(c: Context<AppEnv>, options: { budgetFirst?: boolean } = {}): Promise<void> {
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) {
    throw new ApiError("UNAUTHENTICATED", "An access token is required.", {
      headers: { "WWW-Authenticate": "Bearer" },
    });
  }
  const claims = await verifyAccessToken(depsFrom(c), token);
  if (options.budgetFirst) {
    try {
      await spendBudget(c, claims);
    } catch (overBudget) {
      // The documented order holds: a refused session answers 401/404/409 before a 429 would.
      await checkSession(c, claims, Promise.resolve());
      throw overBudget;
    }
  }
  const pending = checkSession(c, claims, options.budgetFirst ? Promise.resolve() : undefined);
  pending.catch(() => {}); // observed by authReady
  c.set("authPending", pending);
  c.set("tokenCaller", {
    userId: claims.userId,
    workspaceId: claims.workspaceId,
    sessionId: claims.sessionId,
  });
  c.set("userId", claims.userId);
  c.set("workspaceId", claims.workspaceId);
}

/**
 * Requires a valid access token of a live session. Missing token → 401 with `WWW-Authenticate: Bearer`;
 * invalid token, revoked or expired session, non-ACTIVE user → 401 with `Bearer error="invalid_token"`. An
 * `x-workspace-id` header (kept from the original API) must name the caller's workspace, else 404 like any
 * foreign id. A workspace in PENDING_DELETION is read-only here, for every route at once (409
 * WORKSPACE_PENDING_DELETION). The handler runs once all of that holds: read the context with `authOf(c)`.
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  await startAuth(c);
  await authReady(c);
  await next();
});

/**
 * `requireAuth` for read routes whose handler sends its first read in the same flight as the session check
 * (README "Round trips"): the handler runs at once and must go through `readAfterAuth`, which starts the read
 * with the token's identity and hands over its result only once the session check has passed. `authOf(c)`
 * throws until then, so a handler cannot act on an unchecked caller. If a handler never waited for the check,
 * it is awaited here after the handler and its failure replaces the response.
 */
export const requireAuthForRead = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.method !== "GET" && c.req.method !== "HEAD")
    throw new Error("requireAuthForRead on a write route");
  await startAuth(c);
  await next();
  await authReady(c);
});

/**
 * `requireAuth` for write routes whose handler starts its transaction in the same flight as the session check
 * (README "Round trips"). The handler runs at once with the token's identity (`tokenCallerOf(c)`); the
 * request's database holds every COMMIT, and every statement outside a transaction, until the check (with
 * the caller rules added after this middleware) has passed. A refused request so changes no row: its
 * transactions roll back, and its error (401/403/404/409) replaces the response. The handler must not act
 * outside the database (mail, R2, Durable Objects, outbound calls) before a commit or `authReady(c)`.
 */
export const requireAuthForWrite = createMiddleware<AppEnv>(async (c, next) => {
  if (READ_METHODS.has(c.req.method)) throw new Error("requireAuthForWrite on a read route");
  await startAuth(c);
  c.var.holdCommitsUntil(() => authReady(c));
  await next();
  await authReady(c);
});

/** The verified token's user and workspace, for a handler behind requireAuthForWrite (before the check). */
export function tokenCallerOf(c: Context<AppEnv>): TokenCaller {
  const caller = c.get("tokenCaller");
  if (!caller) throw new Error("tokenCallerOf(c) on a route without requireAuth");
  return caller;
}

/**
 * The caller of a handler that starts its statements in the session check's flight (requireAuthForWrite, or
 * requireAuthForRead when the answer depends on the checked role): the token's identity at once, the checked
 * context once the check (written first, so answered no later than the handler's first flight) has passed.
 */
export type PendingCaller = TokenCaller & { authorized: () => Promise<AuthContext> };

export function pendingCallerOf(c: Context<AppEnv>): PendingCaller {
  return { ...tokenCallerOf(c), authorized: () => authReady(c) };
}

/** The auth context once the session check (and every check added after it) has passed; throws its error. */
export async function authReady(c: Context<AppEnv>): Promise<AuthContext> {
  for (;;) {
    const pending = c.get("authPending");
    if (!pending) throw new Error("authReady(c) on a route without requireAuth");
    const auth = await pending;
    // A caller rule added while this waited (requireCaller chains onto the pending check) must hold too:
    // only the latest check settles the context.
    if (c.get("authPending") === pending) {
      c.set("auth", auth);
      return auth;
    }
  }
}

/**
 * Runs `read` with the token's identity right away (so it shares the session check's flight), then waits for
 * the check. The read's result is returned only when the check passed; otherwise its error is thrown and the
 * result is dropped unseen. `read` must not write: a refused request changes no row.
 */
export async function readAfterAuth<T>(
  c: Context<AppEnv>,
  read: (caller: TokenCaller) => PromiseLike<T>,
): Promise<T> {
  const caller = c.get("tokenCaller");
  if (!caller) throw new Error("readAfterAuth(c) on a route without requireAuth");
  let result: Promise<T>;
  try {
    // Settled once into a real promise: a drizzle query builder is a thenable that runs again on every then.
    result = Promise.resolve(read(caller));
  } catch (error) {
    result = Promise.reject(error); // a bad cursor (400) still answers after the session check (401 first)
  }
  result.catch(() => {}); // its failure matters only once the check has passed (returned below)
  await authReady(c);
  return result;
}

/** The typed auth context. Throws (→ 500) before the session check has passed: a wiring bug, never a client error. */
export function authOf(c: Context<AppEnv>): AuthContext {
  const auth = c.get("auth");
  if (!auth) throw new Error("authOf(c) before the session check passed (requireAuth / authReady)");
  return auth;
}

/**
 * A rule on the caller, after `requireAuth` or `requireAuthForRead`: checked at once when the context is
 * known, else added to the pending session check (so a first-flight read still waits for it).
 */
export function requireCaller(check: (auth: AuthContext, c: Context<AppEnv>) => void) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const known = c.get("auth");
    if (known) {
      check(known, c);
      return next();
    }
    const pending = c.get("authPending");
    if (!pending) throw new Error("a caller rule on a route without requireAuth");
    const checked = pending.then((auth) => {
      check(auth, c);
      return auth;
    });
    checked.catch(() => {}); // observed by authReady
    c.set("authPending", checked);
    await next();
  });
}

/** After `requireAuth`: the caller must be a platform admin, else 403 FORBIDDEN. */
export const requirePlatformAdmin = requireCaller((auth) => {
  if (!auth.isPlatformAdmin) throw new ApiError("FORBIDDEN", "Platform administrators only.");
});

/** After `requireAuth`: the caller must be an ADMIN of its workspace, else 403 FORBIDDEN. */
export const requireAdmin = requireCaller((auth) => {
  if (auth.role !== "ADMIN") throw new ApiError("FORBIDDEN", "Workspace administrators only.");
});
