/**
 * The conversation store: what the maintenance jobs (src/jobs/jobs.ts) do to the aggregate, one bounded batch
 * per call, rows claimed with `FOR UPDATE SKIP LOCKED` so concurrent runs never take the same row. Deleting a
 * conversation cascades to its messages, reactions, attachment links, share links and runs.
 */
import { and, eq, inArray, isNotNull, lt, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client";
import { conversations, messages, shareLinks } from "../../../db/schema";

/** One batch of share links past their expiry; how many went. */
export async function deleteExpiredShareLinks(db: DbOrTx, batchSize: number): Promise<number> {
  const claimed = db
    .select({ id: shareLinks.id })
    .from(shareLinks)
    .where(lt(shareLinks.expiresAt, sql`now()`))
    .limit(batchSize)
    .for("update", { skipLocked: true });
  const gone = await db
    .delete(shareLinks)
    .where(inArray(shareLinks.id, claimed))
    .returning({ id: shareLinks.id });
  return gone.length;
}

/** The user messages of timed-out runs, PENDING → FAILED (retryable); how many changed. */
export async function failPendingMessages(tx: DbOrTx, messageIds: readonly string[]): Promise<number> {
  if (messageIds.length === 0) return 0;
  const failed = await tx
    .update(messages)
    .set({ status: "FAILED" })
    .where(and(inArray(messages.id, [...messageIds]), eq(messages.status, "PENDING")))
    .returning({ id: messages.id });
  return failed.length;
}

/** A purged account's SHARED conversations pass to its heir; how many moved. */
export async function reassignSharedConversations(tx: DbOrTx, fromUserId: string, toUserId: string) {
  const moved = await tx
    .update(conversations)
    .set({ ownerId: toUserId })
    .where(and(eq(conversations.ownerId, fromUserId), eq(conversations.visibility, "SHARED")))
    .returning({ id: conversations.id });
  return moved.length;
}

/** The ids of the conversations a user owns, as a subquery (e.g. their files' objects). */
export const conversationsOwnedBy = (db: DbOrTx, userId: string) =>
  db.select({ id: conversations.id }).from(conversations).where(eq(conversations.ownerId, userId));

/** Deletes every conversation a user owns; how many went. */
export async function deleteConversationsOwnedBy(tx: DbOrTx, userId: string): Promise<number> {
  const gone = await tx
    .delete(conversations)
    .where(eq(conversations.ownerId, userId))
    .returning({ id: conversations.id });
  return gone.length;
}

/** One batch of a purged workspace's conversations; how many went. */
export async function deleteWorkspaceConversationBatch(db: DbOrTx, workspaceId: string, batchSize: number) {
  const claimed = db
    .select({ id: conversations.id })
    .from(conversations)
    .where(eq(conversations.workspaceId, workspaceId))
    .limit(batchSize)
    .for("update", { skipLocked: true });
  const gone = await db
    .delete(conversations)
    .where(inArray(conversations.id, claimed))
    .returning({ id: conversations.id });
  return gone.length;
}

/** Claims one batch of soft-deleted conversations (inside the caller's transaction). */
export async function claimDeletedConversations(tx: DbOrTx, batchSize: number): Promise<string[]> {
  const claimed = await tx
    .select({ id: conversations.id })
    .from(conversations)
    .where(isNotNull(conversations.deletedAt))
    .limit(batchSize)
    .for("update", { skipLocked: true });
  return claimed.map((row) => row.id);
}

/** Deletes the given conversations (claimed by `claimDeletedConversations`). */
export async function deleteConversations(tx: DbOrTx, ids: readonly string[]): Promise<void> {
  if (ids.length) await tx.delete(conversations).where(inArray(conversations.id, [...ids]));
}
