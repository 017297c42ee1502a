/**
 * LIKE / DISLIKE per user per message: the same type again removes it, the other type replaces it. Anyone who
 * can see the conversation may react (its owner, or any member when SHARED); anyone else gets 404.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import type { DbOrTx } from "../../db/client";
import { conversations, messages, type ReactionType, reactions } from "../../db/schema";
import { recordAudit } from "../audit/audit.service";
import type { ConversationCaller } from "../conversations/conversation-access";
import type { ReactionStateDto } from "./messages.schemas";

export const messageNotFound = () => new ApiError("NOT_FOUND", "No such message.");

/**
 * The message with its conversation's owner and visibility, when the caller can see it (workspace, not
 * deleted, own or SHARED); null otherwise. `lock` locks the message row (FOR SHARE) inside a transaction.
 */
export async function findVisibleMessage(
  db: DbOrTx,
  caller: Pick<ConversationCaller, "userId" | "workspaceId">,
  messageId: string,
) {
  if (!isUuid(messageId)) return null;
  const [row] = await db
    .select({
      message: messages,
      ownerId: conversations.ownerId,
      visibility: conversations.visibility,
      personaId: conversations.personaId,
    })
    .from(messages)
    .innerJoin(
      conversations,
      and(eq(conversations.workspaceId, messages.workspaceId), eq(conversations.id, messages.conversationId)),
    )
    .where(
      and(
        eq(messages.id, messageId.toLowerCase()),
        eq(messages.workspaceId, caller.workspaceId),
        isNull(conversations.deletedAt),
        or(eq(conversations.ownerId, caller.userId), eq(conversations.visibility, "SHARED")),
      ),
    )
    .limit(1);
  return row ?? null;
}

async function countsOf(db: DbOrTx, workspaceId: string, messageId: string) {
  const rows = await db
    .select({ type: reactions.type, n: sql<number>`count(*)::int` })
    .from(reactions)
    .where(and(eq(reactions.workspaceId, workspaceId), eq(reactions.messageId, messageId)))
    .groupBy(reactions.type);
  const counts = { LIKE: 0, DISLIKE: 0 };
  for (const row of rows) counts[row.type] = Number(row.n);
  return counts;
}

/** Toggles the caller's reaction; audited REACTION_ADDED / REACTION_REMOVED. */
export async function toggleReaction(
  deps: Deps,
  caller: ConversationCaller,
  messageId: string,
  type: ReactionType,
): Promise<ReactionStateDto> {
  return deps.db.transaction(async (tx) => {
    const found = await findVisibleMessage(tx, caller, messageId);
    if (!found) throw messageNotFound();
    const id = found.message.id;
    const [existing] = await tx
      .select({ type: reactions.type })
      .from(reactions)
      .where(and(eq(reactions.messageId, id), eq(reactions.userId, caller.userId)))
      .for("update");
    let result: ReactionType | null;
    if (existing?.type === type) {
      await tx.delete(reactions).where(and(eq(reactions.messageId, id), eq(reactions.userId, caller.userId)));
      result = null;
    } else {
      await tx
        .insert(reactions)
        .values({ messageId: id, userId: caller.userId, workspaceId: caller.workspaceId, type })
        .onConflictDoUpdate({
          target: [reactions.messageId, reactions.userId],
          set: { type, createdAt: sql`now()` },
        });
      result = type;
    }
    await recordAudit(deps, tx, {
      type: result ? "REACTION_ADDED" : "REACTION_REMOVED",
      workspaceId: caller.workspaceId,
      actorUserId: caller.userId,
      targetType: "message",
      targetId: id,
      data: {
        via: "POST /api/messages/{id}/reactions",
        conversationId: found.message.conversationId,
        type,
        ...(existing && result ? { replaced: existing.type } : {}),
      },
    });
    return { type: result, counts: await countsOf(tx, caller.workspaceId, id) };
  });
}
