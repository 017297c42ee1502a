/**
 * Signed-in test users without going through login: `signIn(user)` inserts a live session row and signs a
 * real access token for it (same keys and claims as production), so any test can call bearer routes:
 *
 * @example
 * const { admin } = await createTenant();
 * const { accessToken } = await signIn(admin);
 * const res = await api("GET", "/api/users/me", { token: accessToken });
 */
import { eq, sql } from "drizzle-orm";
import { randomToken } from "../../src/core/crypto";
import { hashPassword } from "../../src/core/password";
import { type Session, sessions, type User, users, workspaces } from "../../src/db/schema";
import { signAccessToken } from "../../src/modules/auth/access-token";
import { withDb } from "./db";
import { withDeps } from "./deps";
import { DEFAULT_PASSWORD, type TestUser, unique } from "./factories";

/** The platform admin of the test pool's PLATFORM_ADMIN_EMAILS (vitest.config.ts). */
export const PLATFORM_ADMIN_EMAIL = "platform-admin@platform.test";

export type SignInOptions = {
  method?: Session["method"];
  /** When the user "logged in"; defaults to now. */
  authTime?: Date;
  /** Session expiries; default to 7 days idle and 30 days absolute from now (CONFIG.md). */
  idleExpiresAt?: Date;
  absoluteExpiresAt?: Date;
};

export type SignedIn = { accessToken: string; sessionId: string; expiresIn: number };

/**
 * Inserts a session for `user` (who must have a workspace, i.e. be verified) and returns an access token
 * for it. Revoke or expire the session by updating its row (`sessionId`) to test refusals.
 */
export async function signIn(
  user: Pick<User, "id" | "workspaceId">,
  options: SignInOptions = {},
): Promise<SignedIn> {
  if (!user.workspaceId) throw new Error("signIn: the user has no workspace (not verified)");
  const workspaceId = user.workspaceId;
  const authTime = options.authTime ?? new Date();
  const now = Date.now();
  const [session] = await withDb((db) =>
    db
      .insert(sessions)
      .values({
        workspaceId,
        userId: user.id,
        refreshSalt: randomToken(),
        authTime,
        method: options.method ?? "PASSWORD",
        ip: "127.0.0.1",
        userAgent: "vitest",
        idleExpiresAt: options.idleExpiresAt ?? new Date(now + 7 * 86_400_000),
        absoluteExpiresAt: options.absoluteExpiresAt ?? new Date(now + 30 * 86_400_000),
      })
      .returning({ id: sessions.id }),
  );
  if (!session) throw new Error("session insert returned nothing");
  const token = await withDeps((deps) =>
    signAccessToken(deps, { userId: user.id, sessionId: session.id, workspaceId, authTime }),
  );
  return { ...token, sessionId: session.id };
}

/**
 * The one platform admin user (emails are unique, so every test file shares it), created on first use in
 * its own PERSONAL workspace. Safe to call concurrently from several files. Do not deactivate or delete it.
 */
export async function platformAdmin(): Promise<TestUser> {
  return withDb(async (db) => {
    const [existing] = await db.select().from(users).where(eq(users.email, PLATFORM_ADMIN_EMAIL));
    if (existing) return { ...existing, password: DEFAULT_PASSWORD };
    const passwordHash = await hashPassword(DEFAULT_PASSWORD);
    const [workspace] = await db
      .insert(workspaces)
      .values({ name: `Platform ${unique("ws")}`, kind: "PERSONAL" })
      .returning();
    if (!workspace) throw new Error("workspace insert returned nothing");
    await db
      .insert(users)
      .values({
        workspaceId: workspace.id,
        email: PLATFORM_ADMIN_EMAIL,
        name: "Platform Admin",
        passwordHash,
        status: "ACTIVE",
        role: "ADMIN",
        emailVerifiedAt: sql`now()`,
      })
      .onConflictDoNothing();
    // Another file may have won the race: read whichever row exists.
    const [user] = await db.select().from(users).where(eq(users.email, PLATFORM_ADMIN_EMAIL));
    if (!user) throw new Error("platform admin missing after insert");
    return { ...user, password: DEFAULT_PASSWORD };
  });
}
