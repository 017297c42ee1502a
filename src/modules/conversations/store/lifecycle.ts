/**
 * The conversation store: a conversation's life — created empty and PRIVATE, soft-deleted (hidden at once,
 * purged by the conversation-purge job), and removed with a workspace that is deleted.
 */
import { and, eq, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client";
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
 * Every conversation of a workspace, gone: cascades to their messages, reactions, attachments links and
 * share links (a personal workspace deleted when its user moves).
 */
export const deleteWorkspaceConversations = (tx: DbOrTx, workspaceId: string) =>
  tx.delete(conversations).where(eq(conversations.workspaceId, workspaceId));
