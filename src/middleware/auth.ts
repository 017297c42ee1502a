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
import type { Database } from "../db/client";
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
 * The auth context's one query: the token's session, still live by the database clock, of an ACTIVE user in
 * the token's workspace. Returns null when any part does not hold (the caller answers 401, whatever failed).
 */
export async function loadAuthContext(
  db: Database,
  claims: AccessTokenClaims,
  platformAdminEmails: readonly string[],
): Promise<AuthContext | null> {
  const [row] = await db
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
    .where(
      and(
        eq(sessions.id, claims.sessionId),
        eq(sessions.userId, claims.userId),
        eq(sessions.workspaceId, claims.workspaceId),
        isNull(sessions.revokedAt),
        gt(sessions.idleExpiresAt, sql`now()`),
        gt(sessions.absoluteExpiresAt, sql`now()`),
        eq(users.status, "ACTIVE"),
      ),
    )
    .limit(1);
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

/**
 * Requires a valid access token of a live session. Sets `auth` (read it with `authOf(c)`) plus `userId` and
 * `workspaceId` for the request log. Missing token → 401 with `WWW-Authenticate: Bearer`; invalid token,
 * revoked or expired session, non-ACTIVE user → 401 with `Bearer error="invalid_token"`. An `x-workspace-id`
 * header (kept from the original API) must name the caller's workspace, else 404 like any foreign id. A
 * workspace in PENDING_DELETION is read-only here, for every route at once (409 WORKSPACE_PENDING_DELETION).
 */
export const requireAuth = createMiddleware<AppEnv>(async (c, next) => {
  const token = bearerToken(c.req.header("Authorization"));
  if (!token) {
    throw new ApiError("UNAUTHENTICATED", "An access token is required.", {
      headers: { "WWW-Authenticate": "Bearer" },
    });
  }
  const claims = await verifyAccessToken(depsFrom(c), token);
  const auth = await loadAuthContext(c.var.db, claims, c.var.config.PLATFORM_ADMIN_EMAILS);
  if (!auth) throw invalidTokenError("The session has ended. Sign in again.");

  const requested = c.req.header("x-workspace-id");
  if (requested !== undefined && requested.trim().toLowerCase() !== auth.workspaceId) {
    throw new ApiError("NOT_FOUND", "Not found.");
  }
  c.set("auth", auth);
  c.set("userId", auth.userId);
  c.set("workspaceId", auth.workspaceId);
  if (
    auth.workspaceStatus === "PENDING_DELETION" &&
    !writeAllowedWhilePendingDeletion(c.req.method, c.req.path)
  ) {
    throw new ApiError(
      "WORKSPACE_PENDING_DELETION",
      "This workspace is scheduled for deletion: it is read-only until an admin cancels the deletion.",
    );
  }
  // API_USER (CONFIG.md): one budget per user across every authenticated route, before the handler runs.
  await enforceRateLimit(depsFrom(c), "API_USER", auth.userId);
  await next();
});

/** The typed auth context. Throws (→ 500) when `requireAuth` did not run: a wiring bug, never a client error. */
export function authOf(c: Context<AppEnv>): AuthContext {
  const auth = c.get("auth");
  if (!auth) throw new Error("authOf(c) on a route without requireAuth");
  return auth;
}

/** After `requireAuth`: the caller must be a platform admin, else 403 FORBIDDEN. */
export const requirePlatformAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (!authOf(c).isPlatformAdmin) throw new ApiError("FORBIDDEN", "Platform administrators only.");
  await next();
});

/** After `requireAuth`: the caller must be an ADMIN of its workspace, else 403 FORBIDDEN. */
export const requireAdmin = createMiddleware<AppEnv>(async (c, next) => {
  if (authOf(c).role !== "ADMIN") throw new ApiError("FORBIDDEN", "Workspace administrators only.");
  await next();
});
