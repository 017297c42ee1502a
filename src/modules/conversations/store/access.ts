/**
 * The conversation store: who may see and change a conversation (API.md "Conversations…" and the status
 * table), the one visibility lookup of the conversations, messages, files and sharing modules, so every route
 * answers alike:
 * - visible = a conversation of the caller's workspace, not deleted, that the caller owns or that is SHARED;
 *   anything else (another workspace, missing, deleted, someone else's PRIVATE one — admins included) is the
 *   same 404;
 * - owner-only actions on a visible conversation of someone else are 403 FORBIDDEN.
 */
import { and, eq, isNull, type SQL, sql } from "drizzle-orm";
import { ApiError } from "../../../core/errors";
import { isUuid } from "../../../core/ids";
import type { DbOrTx } from "../../../db/client";
import { type Conversation, conversations } from "../../../db/schema";
import type { AuthContext } from "../../../middleware/auth";

export type ConversationCaller = Pick<AuthContext, "userId" | "workspaceId" | "role">;

export const conversationNotFound = () => new ApiError("NOT_FOUND", "No such conversation.");
export const notTheOwner = () => new ApiError("FORBIDDEN", "Only the conversation's owner can do this.");

/** Who the visibility rule needs: the token's identity is enough (the role plays no part in it). */
type Viewer = Pick<ConversationCaller, "userId" | "workspaceId">;

/**
 * The visibility rule in SQL, over a `conversations` row under `alias`: every statement of the store that
 * needs it uses this one (the list query spells it as its two index-friendly arms).
 */
export function visibleConversation(alias: string, caller: Viewer): SQL {
  const c = sql.raw(alias);
  return sql`(${c}.workspace_id = ${caller.workspaceId}::uuid AND ${c}.deleted_at IS NULL
              AND (${c}.owner_id = ${caller.userId}::uuid OR ${c}.visibility = 'SHARED'))`;
}

export const canSee = (conversation: Conversation, caller: Viewer) =>
  conversation.ownerId === caller.userId || conversation.visibility === "SHARED";

/**
 * The conversation when the caller can see it, else null. `lock` takes a FOR UPDATE row lock (inside a
 * transaction) so checks and writes on it are serialised with parallel changes.
 */
export async function findVisibleConversation(
  db: DbOrTx,
  caller: Viewer,
  conversationId: string,
  lock = false,
): Promise<Conversation | null> {
  if (!isUuid(conversationId)) return null;
  const query = db
    .select()
    .from(conversations)
    .where(
      and(
        eq(conversations.id, conversationId.toLowerCase()),
        eq(conversations.workspaceId, caller.workspaceId),
        isNull(conversations.deletedAt),
      ),
    );
  const [row] = await (lock ? query.for("update") : query);
  return row && canSee(row, caller) ? row : null;
}

/** The visible conversation (404 otherwise); with `owner: true`, 403 unless the caller owns it. */
export async function requireConversation(
  db: DbOrTx,
  caller: Viewer,
  conversationId: string,
  options: { owner?: boolean; lock?: boolean } = {},
): Promise<Conversation> {
  const conversation = await findVisibleConversation(db, caller, conversationId, options.lock);
  if (!conversation) throw conversationNotFound();
  if (options.owner && conversation.ownerId !== caller.userId) throw notTheOwner();
  return conversation;
}
