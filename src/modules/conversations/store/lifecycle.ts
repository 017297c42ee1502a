/**
 * The conversation store: a conversation's life — created empty and PRIVATE, soft-deleted (hidden at once,
 * purged by the conversation-purge job), and removed with a workspace that is deleted.
 */
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client";
import { rawRows } from "../../../db/raw";
import { conversations } from "../../../db/schema";

/** The insert of a new, empty PRIVATE conversation (a statement for `lastStatements`). */
export const insertConversation = (
  tx: DbOrTx,
  row: { id: string; workspaceId: string; userId: string; personaId: string; title: string | null },
) =>
  tx.insert(conversations).values({
    id: row.id,
    workspaceId: row.workspaceId,
    ownerId: row.userId,
    personaId: row.personaId,
    title: row.title,
    visibility: "PRIVATE",
  });

/** The soft delete (a statement for `lastStatements`). */
export const softDeleteConversation = (tx: DbOrTx, workspaceId: string, conversationId: string) =>
  tx
    .update(conversations)
    .set({ deletedAt: sql`now()` })
    .where(and(eq(conversations.workspaceId, workspaceId), eq(conversations.id, conversationId)));

/**
 * Right after a personal workspace's user moved into another workspace (the tree followed by ON UPDATE
 * CASCADE), in the same transaction: their SHARED conversations become PRIVATE and every live share link of
 * theirs is revoked (a PRIVATE conversation never has live links). Shared in a one-person workspace meant
 * shared with nobody; it must not become shared with the whole new workspace. Run after the move, so a share
 * committed meanwhile by the same user is caught too. One statement; returns what it changed, for the move's
 * audit event.
 */
export async function privatiseMovedConversations(tx: DbOrTx, workspaceId: string, ownerId: string) {
  type Counts = { conversations: number; privatised: number; linksRevoked: number };
  const [counts] = await rawRows<Counts>(
    tx,
    sql`
    WITH mine AS (
      SELECT id, visibility FROM conversations
       WHERE workspace_id = ${workspaceId}::uuid AND owner_id = ${ownerId}::uuid
    ), links AS (
      UPDATE share_links SET revoked_at = now()
       WHERE workspace_id = ${workspaceId}::uuid AND revoked_at IS NULL
         AND conversation_id IN (SELECT id FROM mine)
      RETURNING id
    ), privatised AS (
      UPDATE conversations SET visibility = 'PRIVATE'
       WHERE workspace_id = ${workspaceId}::uuid AND owner_id = ${ownerId}::uuid AND visibility <> 'PRIVATE'
      RETURNING id
    )
    SELECT (SELECT count(*)::int FROM mine) AS conversations,
           (SELECT count(*)::int FROM privatised) AS privatised,
           (SELECT count(*)::int FROM links) AS "linksRevoked"`,
  );
  if (!counts) throw new Error("privatiseMovedConversations returned no row");
  return counts;
}
