/**
 * Sessions and refresh tokens (DESIGN.md "Secrets and tokens": the counter design). A session is one
 * refresh-token family; its token is `rt.<sessionId>.<counter>.<mac>` with
 * `mac = HMAC(refresh subkey, sessionId ‖ refresh_salt ‖ counter)`, so nothing secret is stored: the current
 * token can be re-derived, which is what makes concurrent refreshes from several tabs converge on one token.
 */
import { and, desc, eq, gt, isNull, ne, sql } from "drizzle-orm";
import { hmacBase64Url, randomToken, verifyHmacBase64Url } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { DbOrTx } from "../../db/client";
import { type SessionMethod, sessions, users } from "../../db/schema";
import { recordAudit } from "../audit/audit.service";
import { signAccessToken } from "./access-token";

/** CONFIG.md "Lifetimes": each refresh extends the idle expiry; the absolute one never moves. */
export const SESSION_IDLE_SECONDS = 7 * 86_400;
export const SESSION_ABSOLUTE_SECONDS = 30 * 86_400;
/** The previous token keeps returning the current one this long after a rotation (multi-tab races). */
export const REFRESH_GRACE_SECONDS = 10;

// One spelling per token: lower-case id, no leading zeros in the counter.
const REFRESH_TOKEN_RE = /^rt\.([0-9a-f-]{36})\.(0|[1-9]\d{0,8})\.([A-Za-z0-9_-]{43})$/;

export type TokenPair = {
  accessToken: string;
  refreshToken: string;
  tokenType: "Bearer";
  expiresIn: number;
};

const invalidRefresh = () =>
  new ApiError("UNAUTHENTICATED", "The refresh token is invalid, expired or revoked. Sign in again.");

const macInput = (sessionId: string, salt: string, counter: number) => `${sessionId}.${salt}.${counter}`;

async function refreshTokenFor(
  deps: Pick<Deps, "config">,
  session: { id: string; refreshSalt: string },
  counter: number,
): Promise<string> {
  const mac = await hmacBase64Url(
    deps.config.ENCRYPTION_KEY,
    "refresh-token",
    macInput(session.id, session.refreshSalt, counter),
  );
  return `rt.${session.id}.${counter}.${mac}`;
}

type SessionFacts = {
  id: string;
  userId: string;
  workspaceId: string;
  refreshSalt: string;
  counter: number;
  authTime: Date;
};

async function tokenPair(
  deps: Pick<Deps, "db" | "config">,
  session: SessionFacts,
  counter: number,
): Promise<TokenPair> {
  const access = await signAccessToken(deps, {
    userId: session.userId,
    sessionId: session.id,
    workspaceId: session.workspaceId,
    authTime: session.authTime,
  });
  return {
    accessToken: access.accessToken,
    refreshToken: await refreshTokenFor(deps, session, counter),
    tokenType: "Bearer",
    expiresIn: access.expiresIn,
  };
}

export type NewSessionInput = {
  userId: string;
  workspaceId: string;
  method: SessionMethod;
  deviceLabel?: string | null;
};

/**
 * Starts a session (login, Google sign-in) in the caller's transaction and returns its first token pair.
 * `auth_time` is now: the moment the user proved a credential.
 */
export async function startSession(
  deps: Deps,
  db: DbOrTx,
  input: NewSessionInput,
): Promise<TokenPair & { sessionId: string }> {
  const [session] = await db
    .insert(sessions)
    .values({
      workspaceId: input.workspaceId,
      userId: input.userId,
      refreshSalt: randomToken(16),
      authTime: sql`now()`,
      method: input.method,
      userAgent: deps.userAgent,
      ip: deps.clientIp,
      deviceLabel: input.deviceLabel ?? null,
      idleExpiresAt: sql`now() + make_interval(secs => ${SESSION_IDLE_SECONDS})`,
      absoluteExpiresAt: sql`now() + make_interval(secs => ${SESSION_ABSOLUTE_SECONDS})`,
    })
    .returning();
  if (!session) throw new Error("session insert returned nothing");
  return { sessionId: session.id, ...(await tokenPair(deps, session, session.counter)) };
}

/**
 * Rotates a refresh token. The current counter rotates with one conditional update; the previous counter
 * within 10 s of the rotation gets the current token again (N concurrent refreshes → one live token); any
 * other token with a valid MAC is reuse — the session is revoked and REFRESH_TOKEN_REUSE audited. Every
 * refusal is the same 401.
 */
export async function refreshSession(deps: Deps, token: string): Promise<TokenPair> {
  const match = REFRESH_TOKEN_RE.exec(token);
  if (!match) throw invalidRefresh();
  const [, sessionId = "", counterText = "", mac = ""] = match;
  const presented = Number(counterText);

  const session = await loadRefreshState(deps.db, sessionId);
  if (!session) throw invalidRefresh();
  const genuine = await verifyHmacBase64Url(
    deps.config.ENCRYPTION_KEY,
    "refresh-token",
    macInput(session.id, session.refreshSalt, presented),
    mac,
  );
  // A forged token proves nothing about the session: refuse it without touching the session.
  if (!genuine) throw invalidRefresh();
  if (!session.usable) throw invalidRefresh();

  if (presented === session.counter) {
    const [rotated] = await deps.db
      .update(sessions)
      .set({
        counter: sql`${sessions.counter} + 1`,
        rotatedAt: sql`now()`,
        lastUsedAt: sql`now()`,
        idleExpiresAt: sql`least(now() + make_interval(secs => ${SESSION_IDLE_SECONDS}), ${sessions.absoluteExpiresAt})`,
      })
      .where(and(eq(sessions.id, session.id), eq(sessions.counter, presented), isNull(sessions.revokedAt)))
      .returning({ counter: sessions.counter });
    if (rotated) {
      await recordAudit(deps, deps.db, {
        type: "REFRESH_TOKEN",
        workspaceId: session.workspaceId,
        actorUserId: session.userId,
        targetType: "session",
        targetId: session.id,
      });
      return tokenPair(deps, session, rotated.counter);
    }
    // A concurrent refresh with the same token won the update: converge on its token.
    const now = await loadRefreshState(deps.db, sessionId);
    if (now?.usable && now.counter === presented + 1) return tokenPair(deps, now, now.counter);
    throw invalidRefresh();
  }

  if (presented === session.counter - 1 && session.inGrace) {
    return tokenPair(deps, session, session.counter);
  }

  await revokeForReuse(deps, session);
  throw invalidRefresh();
}

/** The session with its liveness judged by the database clock (never a cached or Worker-clock judgement). */
async function loadRefreshState(db: DbOrTx, sessionId: string) {
  if (!isUuid(sessionId)) return null;
  const [row] = await db
    .select({
      id: sessions.id,
      userId: sessions.userId,
      workspaceId: sessions.workspaceId,
      refreshSalt: sessions.refreshSalt,
      counter: sessions.counter,
      authTime: sessions.authTime,
      usable: sql<boolean>`${sessions.revokedAt} IS NULL AND ${sessions.idleExpiresAt} > now()
        AND ${sessions.absoluteExpiresAt} > now() AND ${users.status} = 'ACTIVE'`,
      inGrace: sql<boolean>`coalesce(${sessions.rotatedAt} > now() - make_interval(secs => ${REFRESH_GRACE_SECONDS}), false)`,
    })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sessionId));
  return row ?? null;
}

async function revokeForReuse(deps: Deps, session: SessionFacts) {
  await deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(sessions)
      .set({ revokedAt: sql`now()`, revokeReason: "refresh_token_reuse" })
      .where(and(eq(sessions.id, session.id), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (!revoked) return;
    await recordAudit(deps, tx, {
      type: "REFRESH_TOKEN_REUSE",
      workspaceId: session.workspaceId,
      actorType: "ANONYMOUS",
      targetType: "session",
      targetId: session.id,
      data: { userId: session.userId },
    });
  });
  deps.log.warn("refresh token reuse; session revoked", { sessionId: session.id });
}

/**
 * Revokes a user's live sessions (password change or reset, deactivation, deletion), optionally keeping one.
 * Returns how many were revoked.
 */
export async function revokeUserSessions(
  db: DbOrTx,
  userId: string,
  reason: string,
  keepSessionId?: string,
): Promise<number> {
  const revoked = await db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(
      and(
        eq(sessions.userId, userId),
        isNull(sessions.revokedAt),
        keepSessionId ? ne(sessions.id, keepSessionId) : undefined,
      ),
    )
    .returning({ id: sessions.id });
  return revoked.length;
}

/** Revokes one of the caller's own sessions; another user's (or an unknown) id is 404. */
export async function revokeOwnSession(
  deps: Deps,
  caller: { userId: string; workspaceId: string },
  sessionId: string,
  reason: "logout" | "user_revoked",
): Promise<void> {
  if (!isUuid(sessionId)) throw new ApiError("NOT_FOUND", "No such session.");
  await deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(sessions)
      .set({ revokedAt: sql`now()`, revokeReason: reason })
      .where(and(eq(sessions.id, sessionId), eq(sessions.userId, caller.userId), isNull(sessions.revokedAt)))
      .returning({ id: sessions.id });
    if (!revoked) throw new ApiError("NOT_FOUND", "No such session.");
    await recordAudit(deps, tx, {
      type: reason === "logout" ? "LOGOUT" : "SESSION_REVOKED",
      workspaceId: caller.workspaceId,
      actorUserId: caller.userId,
      targetType: "session",
      // The stored id, not the path's spelling (an upper-case UUID matches too): the trail uses one form.
      targetId: revoked.id,
    });
  });
}

/** The caller's live sessions, most recently used first; never a token. */
export async function listSessions(deps: Deps, caller: { userId: string; sessionId: string }) {
  const rows = await deps.db
    .select()
    .from(sessions)
    .where(
      and(
        eq(sessions.userId, caller.userId),
        isNull(sessions.revokedAt),
        gt(sessions.idleExpiresAt, sql`now()`),
        gt(sessions.absoluteExpiresAt, sql`now()`),
      ),
    )
    .orderBy(desc(sessions.lastUsedAt))
    .limit(100);
  return rows.map((s) => ({
    id: s.id,
    deviceLabel: s.deviceLabel,
    userAgent: s.userAgent,
    ip: s.ip,
    method: s.method,
    createdAt: s.createdAt.toISOString(),
    lastUsedAt: s.lastUsedAt.toISOString(),
    expiresAt: new Date(Math.min(s.idleExpiresAt.getTime(), s.absoluteExpiresAt.getTime())).toISOString(),
    current: s.id === caller.sessionId,
  }));
}
