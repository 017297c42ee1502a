/**
 * Sessions and refresh tokens (DESIGN.md "Secrets and tokens": the counter design). A session is one
 * refresh-token family; its token is `rt.<sessionId>.<counter>.<salt>.<mac>` with
 * `mac = HMAC(refresh subkey, sessionId ‖ refresh_salt ‖ counter)`, so nothing secret is stored: the current
 * token can be re-derived, which is what makes concurrent refreshes from several tabs converge on one token.
 *
 * The token carries the session's salt (DESIGN.md's form, `rt.<sessionId>.<counter>.<mac>`, does not) so the
 * Worker checks the MAC before touching the database and a refresh is one statement — one round trip at the
 * edge instead of three (issue 14). Forging still needs both the key and that session's salt, which only its
 * own tokens and the database hold; a token's holder can already refresh it. Tokens of the older form still
 * work, at the cost of a salt lookup, until their first rotation hands out the new form.
 */
import { and, desc, eq, gt, isNull, ne, sql } from "drizzle-orm";
import { hmacBase64Url, randomToken, verifyHmacBase64Url } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { type DbOrTx, lastStatements } from "../../db/client";
import { rawRows, rowDate } from "../../db/raw";
import { type SessionMethod, sessions } from "../../db/schema";
import { auditInsertFrom, recordAudit } from "../audit/audit.service";
import { signAccessToken } from "./access-token";

/** CONFIG.md "Lifetimes": each refresh extends the idle expiry; the absolute one never moves. */
export const SESSION_IDLE_SECONDS = 7 * 86_400;
export const SESSION_ABSOLUTE_SECONDS = 30 * 86_400;
/** The previous token keeps returning the current one this long after a rotation (multi-tab races). */
export const REFRESH_GRACE_SECONDS = 10;

// One spelling per token: lower-case id, no leading zeros in the counter. The salt is absent from tokens
// issued before it was carried (16 random bytes today; 22–43 base64url characters covers every salt written).
const REFRESH_TOKEN_RE =
  /^rt\.([0-9a-f-]{36})\.(0|[1-9]\d{0,8})(?:\.([A-Za-z0-9_-]{22,43}))?\.([A-Za-z0-9_-]{43})$/;

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
  return `rt.${session.id}.${counter}.${session.refreshSalt}.${mac}`;
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
  /** A re-hashed password to store with the sign-in (legacy bcrypt or older argon2 parameters upgraded). */
  upgradedPasswordHash?: string;
  /**
   * The stored hash the password was verified against: the sign-in happens only if it is still the stored
   * one, so a login racing a password change or reset (which revokes every session) gets no session and
   * does not write the old password's upgraded hash back.
   */
  verifiedPasswordHash?: string;
};

/**
 * Signs a user in with ONE statement (one round trip; atomic without BEGIN/COMMIT): the user's
 * `last_login_at` (and an upgraded password hash), the new session and the LOGIN_SUCCESS audit. The user row
 * is the guard: a user no longer ACTIVE in that workspace gets no session (null). `auth_time` is now: the
 * moment the user proved a credential. Runs inside the caller's transaction when given one.
 */
export async function startSession(
  deps: Deps,
  db: DbOrTx,
  input: NewSessionInput,
): Promise<{ tokens: TokenPair & { sessionId: string }; lastLoginAt: Date } | null> {
  const sessionId = newId();
  const refreshSalt = randomToken(16);
  const audit = auditInsertFrom(
    deps,
    {
      type: "LOGIN_SUCCESS",
      workspaceId: input.workspaceId,
      actorUserId: input.userId,
      targetType: "session",
      targetId: sessionId,
      data: { method: input.method, ...(input.upgradedPasswordHash ? { passwordHashUpgraded: true } : {}) },
    },
    sql`session`,
  );
  const [row] = await rawRows<{ last_login_at: Date | string; counter: number; auth_time: Date | string }>(
    db,
    sql`
    WITH signed_in AS (
      UPDATE users
         SET last_login_at = now(), password_hash = COALESCE(${input.upgradedPasswordHash ?? null}::text, password_hash)
       WHERE id = ${input.userId}::uuid AND workspace_id = ${input.workspaceId}::uuid AND status = 'ACTIVE'
         AND (${input.verifiedPasswordHash ?? null}::text IS NULL OR password_hash = ${input.verifiedPasswordHash ?? null}::text)
      RETURNING id, workspace_id, last_login_at
    ), session AS (
      INSERT INTO sessions (id, workspace_id, user_id, refresh_salt, auth_time, method, user_agent, ip,
                            device_label, idle_expires_at, absolute_expires_at)
      SELECT ${sessionId}::uuid, workspace_id, id, ${refreshSalt}, now(), ${input.method}::session_method,
             ${deps.userAgent ?? null}::text, ${deps.clientIp}::inet, ${input.deviceLabel ?? null}::text,
             now() + make_interval(secs => ${SESSION_IDLE_SECONDS}),
             now() + make_interval(secs => ${SESSION_ABSOLUTE_SECONDS})
        FROM signed_in
      RETURNING counter, auth_time
    ), audit AS (${audit})
    SELECT signed_in.last_login_at, session.counter, session.auth_time FROM signed_in, session`,
  );
  if (!row) return null;
  const session: SessionFacts = {
    id: sessionId,
    userId: input.userId,
    workspaceId: input.workspaceId,
    refreshSalt,
    counter: row.counter,
    authTime: rowDate(row.auth_time),
  };
  return {
    tokens: { sessionId, ...(await tokenPair(deps, session, session.counter)) },
    lastLoginAt: rowDate(row.last_login_at),
  };
}

/**
 * Rotates a refresh token. The current counter rotates with one conditional update; the previous counter
 * within 10 s of the rotation gets the current token again (N concurrent refreshes → one live token); any
 * other token with a valid MAC is reuse — the session is revoked and REFRESH_TOKEN_REUSE audited. Every
 * refusal is the same 401. The usual path is one statement; only the rare outcomes (a lost race, reuse, a
 * token of the older form) read or write again.
 */
export async function refreshSession(deps: Deps, token: string): Promise<TokenPair> {
  const match = REFRESH_TOKEN_RE.exec(token);
  if (!match) throw invalidRefresh();
  const [, sessionId = "", counterText = "", carriedSalt, mac = ""] = match;
  if (!isUuid(sessionId)) throw invalidRefresh();
  const presented = Number(counterText);

  const salt = carriedSalt ?? (await storedSalt(deps.db, sessionId));
  if (salt === null) throw invalidRefresh();
  const genuine = await verifyHmacBase64Url(
    deps.config.ENCRYPTION_KEY,
    "refresh-token",
    macInput(sessionId, salt, presented),
    mac,
  );
  // A forged token proves nothing about the session: refuse it without touching the session.
  if (!genuine) throw invalidRefresh();

  const session = await rotateIfCurrent(deps, sessionId, salt, presented);
  if (!session?.usable) throw invalidRefresh();
  if (session.rotatedTo !== null) return tokenPair(deps, session, session.rotatedTo);

  if (presented === session.counter - 1 && session.inGrace) {
    return tokenPair(deps, session, session.counter);
  }
  if (presented === session.counter) {
    // A concurrent refresh with the same token won the update after this statement's snapshot: converge on
    // its token.
    const now = await loadRefreshState(deps.db, sessionId);
    if (now?.usable && now.counter === presented + 1) return tokenPair(deps, now, now.counter);
    throw invalidRefresh();
  }

  await revokeForReuse(deps, session);
  throw invalidRefresh();
}

/**
 * The refresh state of session `s` joined with its user `u`, liveness judged by the database clock (never a
 * cached or Worker-clock judgement).
 */
const REFRESH_STATE = sql`s.id, s.user_id, s.workspace_id, s.refresh_salt, s.counter, s.auth_time,
    (s.revoked_at IS NULL AND s.idle_expires_at > now() AND s.absolute_expires_at > now()
      AND u.status = 'ACTIVE') AS usable,
    COALESCE(s.rotated_at > now() - make_interval(secs => ${REFRESH_GRACE_SECONDS}), false) AS in_grace
  FROM sessions s JOIN users u ON u.id = s.user_id`;

type RefreshStateRow = {
  id: string;
  user_id: string;
  workspace_id: string;
  refresh_salt: string;
  counter: number;
  auth_time: Date | string;
  usable: boolean;
  in_grace: boolean;
};
type RefreshState = SessionFacts & { usable: boolean; inGrace: boolean };

const toRefreshState = (row: RefreshStateRow): RefreshState => ({
  id: row.id,
  userId: row.user_id,
  workspaceId: row.workspace_id,
  refreshSalt: row.refresh_salt,
  counter: row.counter,
  authTime: rowDate(row.auth_time),
  usable: row.usable,
  inGrace: row.in_grace,
});

/**
 * ONE statement: the session's state as the statement's snapshot saw it, and — when the presented counter is
 * the current one and the session usable — the rotation (counter + 1, idle expiry extended) with its
 * REFRESH_TOKEN audit. `rotatedTo` is the new counter, null when nothing rotated. A concurrent rotation that
 * commits first makes the update match nothing (Postgres re-checks `counter = presented` on the new row).
 */
async function rotateIfCurrent(
  deps: Deps,
  sessionId: string,
  salt: string,
  presented: number,
): Promise<(RefreshState & { rotatedTo: number | null }) | null> {
  const audit = auditInsertFrom(
    deps,
    {
      type: "REFRESH_TOKEN",
      workspaceId: sql`rotated.workspace_id`,
      actorUserId: sql`rotated.user_id`,
      targetType: "session",
      targetId: sessionId,
    },
    sql`rotated`,
  );
  const [row] = await rawRows<RefreshStateRow & { rotated_to: number | null }>(
    deps.db,
    sql`
    WITH state AS (
      SELECT ${REFRESH_STATE}
       WHERE s.id = ${sessionId}::uuid AND s.refresh_salt = ${salt}
    ), rotated AS (
      UPDATE sessions
         SET counter = sessions.counter + 1, rotated_at = now(), last_used_at = now(),
             idle_expires_at = LEAST(now() + make_interval(secs => ${SESSION_IDLE_SECONDS}),
                                     sessions.absolute_expires_at)
        FROM state
       WHERE sessions.id = state.id AND state.usable AND sessions.counter = ${presented}::int
         AND sessions.revoked_at IS NULL
      RETURNING sessions.counter, sessions.workspace_id, sessions.user_id
    ), audit AS (${audit})
    SELECT state.*, (SELECT counter FROM rotated) AS rotated_to FROM state`,
  );
  return row ? { ...toRefreshState(row), rotatedTo: row.rotated_to } : null;
}

/** A session's salt: the one lookup a token of the older form (without its salt) costs. */
async function storedSalt(db: DbOrTx, sessionId: string): Promise<string | null> {
  const [row] = await db
    .select({ salt: sessions.refreshSalt })
    .from(sessions)
    .where(eq(sessions.id, sessionId));
  return row?.salt ?? null;
}

async function loadRefreshState(db: DbOrTx, sessionId: string): Promise<RefreshState | null> {
  const [row] = await rawRows<RefreshStateRow>(
    db,
    sql`SELECT ${REFRESH_STATE} WHERE s.id = ${sessionId}::uuid`,
  );
  return row ? toRefreshState(row) : null;
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

/**
 * The live sessions of a member of `workspaceId` who is not DEACTIVATED yet, revoked, as a statement (not
 * yet run), so a transaction can issue it beside the reads that decide the change. Resolves with the revoked
 * ids. An already deactivated member's change is a no-op, so nothing of theirs is touched then.
 */
export function revokeMemberSessions(db: DbOrTx, workspaceId: string, userId: string, reason: string) {
  return db
    .update(sessions)
    .set({ revokedAt: sql`now()`, revokeReason: reason })
    .where(
      and(
        eq(sessions.userId, userId),
        eq(sessions.workspaceId, workspaceId),
        isNull(sessions.revokedAt),
        sql`EXISTS (SELECT 1 FROM users u WHERE u.id = ${userId} AND u.workspace_id = ${workspaceId}
          AND u.status <> 'DEACTIVATED')`,
      ),
    )
    .returning({ id: sessions.id });
}

/**
 * Revokes one of the caller's own sessions; another user's (or an unknown) id is 404. Two round trips behind
 * requireAuthForWrite: the revocation (with the session check), then its audit together with COMMIT.
 */
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
    return lastStatements(tx, [
      recordAudit(deps, tx, {
        type: reason === "logout" ? "LOGOUT" : "SESSION_REVOKED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "session",
        // The stored id, not the path's spelling (an upper-case UUID matches too): the trail uses one form.
        targetId: revoked.id,
      }),
    ]);
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
