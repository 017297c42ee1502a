/**
 * Edit → branch and retry (API.md status table), both turns of the chat relay so history, limits, signing,
 * bookkeeping and the leaf move are exactly chat's (chat/turns.ts holds their rules):
 * - edit: a new sibling of the author's USER message (same parent; a root stays a root), carrying the
 *   original's attachments, relayed with that branch's history. 404 unseen · 409 NOT_EDITABLE for a reply ·
 *   403 not the author · 409 EDIT_WINDOW_EXPIRED after EDIT_WINDOW_MINUTES. Audited MESSAGE_EDITED.
 * - retry: a FAILED USER message of the caller sent again (409 NOT_RETRYABLE otherwise; 404 when unseen).
 */
import type { Deps } from "../../core/deps";
import type { PendingCaller } from "../../middleware/auth";
import type { ChatResponseDto } from "../chat/chat.schemas";
import { relayTurn } from "../chat/relay.service";

export const editMessage = (
  deps: Deps,
  caller: PendingCaller,
  messageId: string,
  content: string,
): Promise<ChatResponseDto> => relayTurn(deps, caller, { kind: "edit", messageId, message: content });

export const retryMessage = (
  deps: Deps,
  caller: PendingCaller,
  messageId: string,
): Promise<ChatResponseDto> => relayTurn(deps, caller, { kind: "retry", messageId });
