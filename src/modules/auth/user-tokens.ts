/**
 * Single-use tokens of `user_tokens` (DESIGN.md "Secrets and tokens"): 32 random bytes, only the SHA-256
 * stored. One live token per user and purpose: issuing a new one deletes the older ones, so a late mail can
 * never undo a newer one (and a deleted token answers INVALID_TOKEN, never "already used").
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { hashToken, randomToken } from "../../core/crypto";
import type { DbOrTx } from "../../db/client";
import { type TokenPurpose, users, userTokens } from "../../db/schema";

/** Deletes the user's earlier tokens of this purpose. */
export async function voidUserTokens(db: DbOrTx, userId: string, purpose: TokenPurpose): Promise<void> {
  await db.delete(userTokens).where(and(eq(userTokens.userId, userId), eq(userTokens.purpose, purpose)));
}

/** Replaces the user's token of this purpose; returns the raw token (to mail once; never stored). */
export async function issueUserToken(
  db: DbOrTx,
  userId: string,
  purpose: TokenPurpose,
  expiresAt: SQL | Date,
): Promise<string> {
  await voidUserTokens(db, userId, purpose);
  const token = randomToken();
  await db.insert(userTokens).values({ purpose, tokenHash: await hashToken(token), userId, expiresAt });
  return token;
}

/** `expiresAt` for a token living `seconds` from now by the database clock. */
export const expiresIn = (seconds: number): SQL => sql`now() + make_interval(secs => ${seconds})`;

/** The unused, unexpired token of this purpose with its user, or undefined. */
export async function findLiveToken(db: DbOrTx, purpose: TokenPurpose, token: string) {
  const [row] = await db
    .select({ token: userTokens, user: users })
    .from(userTokens)
    .innerJoin(users, eq(users.id, userTokens.userId))
    .where(
      and(
        eq(userTokens.tokenHash, await hashToken(token)),
        eq(userTokens.purpose, purpose),
        isNull(userTokens.usedAt),
        sql`${userTokens.expiresAt} > now()`,
      ),
    );
  return row;
}
