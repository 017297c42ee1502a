/**
 * The conversation store: share links (a random token shown once, only its SHA-256 stored; the branch frozen
 * at the conversation's current leaf). The sharing module holds the rules; these are its statements.
 */
import { and, desc, eq, inArray, isNull, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client";
import { type ShareLink, shareLinks } from "../../../db/schema";

export type NewShareLink = {
  id: string;
  workspaceId: string;
  conversationId: string;
  leafMessageId: string;
  tokenHash: string;
  createdBy: string;
  days: number;
};

/** The insert (a statement to pass to `lastStatements`); answers the link's expiry. */
export const insertShareLink = (tx: DbOrTx, link: NewShareLink) =>
  tx
    .insert(shareLinks)
    .values({
      id: link.id,
      workspaceId: link.workspaceId,
      conversationId: link.conversationId,
      leafMessageId: link.leafMessageId,
      tokenHash: link.tokenHash,
      createdBy: link.createdBy,
      expiresAt: sql`now() + make_interval(days => ${link.days})`,
    })
    .returning({ expiresAt: shareLinks.expiresAt });

/** Every link of the conversation, newest first. */
export const shareLinksOf = (db: DbOrTx, workspaceId: string, conversationId: string): Promise<ShareLink[]> =>
  db
    .select()
    .from(shareLinks)
    .where(and(eq(shareLinks.workspaceId, workspaceId), eq(shareLinks.conversationId, conversationId)))
    .orderBy(desc(shareLinks.createdAt), desc(shareLinks.id));

/** One link of the conversation, or none. */
export async function findShareLink(
  db: DbOrTx,
  workspaceId: string,
  conversationId: string,
  shareId: string,
) {
  const [link] = await db
    .select({ id: shareLinks.id, revokedAt: shareLinks.revokedAt })
    .from(shareLinks)
    .where(
      and(
        eq(shareLinks.id, shareId),
        eq(shareLinks.workspaceId, workspaceId),
        eq(shareLinks.conversationId, conversationId),
      ),
    );
  return link ?? null;
}

/** The ids of the conversation's live (not revoked) links. */
export async function liveShareLinkIds(db: DbOrTx, workspaceId: string, conversationId: string) {
  const rows = await db
    .select({ id: shareLinks.id })
    .from(shareLinks)
    .where(
      and(
        eq(shareLinks.workspaceId, workspaceId),
        eq(shareLinks.conversationId, conversationId),
        isNull(shareLinks.revokedAt),
      ),
    );
  return rows.map((row) => row.id);
}

/** Revokes the given links of the workspace that are still live (a statement for `lastStatements`). */
export const revokeShareLinks = (tx: DbOrTx, workspaceId: string, linkIds: readonly string[]) =>
  tx
    .update(shareLinks)
    .set({ revokedAt: sql`now()` })
    .where(
      and(
        eq(shareLinks.workspaceId, workspaceId),
        inArray(shareLinks.id, [...linkIds]),
        isNull(shareLinks.revokedAt),
      ),
    );
