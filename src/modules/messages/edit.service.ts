/**
 * Edit → branch and retry (API.md status table), both through the chat relay so history, limits, signing,
 * bookkeeping and the leaf move are exactly chat's. The relay stores the user message in its own short
 * transaction and calls the webhook outside any transaction; nothing here holds one around it.
 */
import { and, eq } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { messageFiles } from "../../db/schema";
import type { ChatResponseDto } from "../chat/chat.schemas";
import { relayChat, retryChat } from "../chat/relay.service";
import type { ConversationCaller } from "../conversations/conversation-access";
import { linkAttachments } from "../files/files.service";
import { findVisibleMessage, messageNotFound } from "./reactions.service";

/**
 * A new sibling of the author's USER message (same parent; a root stays a root), carrying the original's
 * attachments, relayed with that branch's history; the reply is stored under it and the conversation's leaf
 * moves to it. The old branch stays intact. 404 unseen · 409 NOT_EDITABLE for a reply · 403 not the author ·
 * 409 EDIT_WINDOW_EXPIRED after EDIT_WINDOW_MINUTES. Audited MESSAGE_EDITED (by the relay, with the edited id).
 */
export async function editMessage(
  deps: Deps,
  caller: ConversationCaller,
  messageId: string,
  content: string,
): Promise<ChatResponseDto> {
  const found = await findVisibleMessage(deps.db, caller, messageId);
  if (!found) throw messageNotFound();
  const original = found.message;
  if (original.role !== "USER") {
    throw new ApiError("NOT_EDITABLE", "Replies cannot be edited; edit your own message instead.");
  }
  if (original.authorId !== caller.userId) {
    throw new ApiError("FORBIDDEN", "Only the author can edit this message.");
  }
  const windowMs = deps.config.EDIT_WINDOW_MINUTES * 60_000;
  if (original.createdAt.getTime() + windowMs <= Date.now()) {
    throw new ApiError(
      "EDIT_WINDOW_EXPIRED",
      `Messages can be edited for ${deps.config.EDIT_WINDOW_MINUTES} minutes after they are sent.`,
    );
  }
  const attached = await deps.db
    .select({ fileId: messageFiles.fileId })
    .from(messageFiles)
    .where(and(eq(messageFiles.workspaceId, caller.workspaceId), eq(messageFiles.messageId, original.id)));
  const fileIds = attached.map((a) => a.fileId);
  return relayChat(deps, caller, {
    personaId: found.personaId,
    conversationId: original.conversationId,
    message: content,
    parentId: original.parentId,
    audit: { type: "MESSAGE_EDITED", data: { editedMessageId: original.id } },
    via: "PATCH /api/messages/{id}",
    onStored: fileIds.length
      ? (tx, stored) =>
          linkAttachments(deps, tx, {
            workspaceId: caller.workspaceId,
            conversationId: stored.conversationId,
            messageId: stored.userMessage.id,
            fileIds,
          })
      : undefined,
  });
}

/** Re-relays a FAILED USER message of the caller (409 NOT_RETRYABLE otherwise; 404 when unseen). */
export async function retryMessage(
  deps: Deps,
  caller: ConversationCaller,
  messageId: string,
): Promise<ChatResponseDto> {
  return retryChat(deps, caller, { userMessageId: messageId, via: "POST /api/messages/{id}/retry" });
}
