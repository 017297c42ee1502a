/**
 * What a turn of the relay reads and checks before any limit is spent (API.md status table): a chat, an edit
 * (a new sibling of the author's USER message) or a retry (a FAILED message sent again). Each kind's reads
 * are independent statements, issued together inside the turn's transaction, so they travel in one flight —
 * beside the session check (requireAuthForWrite). Their results are checked in the order the API documents.
 */
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import type { Transaction } from "../../db/client";
import type { Persona } from "../../db/schema";
import type { AuditInput } from "../audit/audit.service";
import {
  type ChatConversation,
  chatParent,
  type HistoryItem,
  lockChatConversation,
  lockTurnTarget,
  newTurnStatements,
  personaIdOfMessage,
  retryStatements,
} from "../conversations/store/chat";
import {
  assertReadyFiles,
  type RelayAttachment,
  relayAttachmentsOf,
  toRelayAttachments,
} from "../files/files.service";
import { findVisiblePersona } from "../personas/personas.service";

type Caller = { userId: string; workspaceId: string };

export type Turn =
  | {
      kind: "chat";
      personaId: string;
      /** Omitted: a new PRIVATE conversation owned by the caller. */
      conversationId?: string;
      /** Omitted: the conversation's current leaf. */
      parentId?: string;
      message: string;
      /** READY files of this conversation, linked to the message and sent as `attachments`. */
      fileIds?: readonly string[];
    }
  | { kind: "edit"; messageId: string; message: string }
  | { kind: "retry"; messageId: string };

/** A checked turn: what the relay stores (with COMMIT) and then sends. */
export type CheckedTurn = {
  persona: Persona;
  conversationId: string;
  history: HistoryItem[];
  attachments: RelayAttachment[];
  via: string;
  /** The turn's last statements (written with COMMIT) and where the user message's row is among them. */
  statements: (tx: Transaction) => {
    chatRunId: string;
    statements: PromiseLike<unknown>[];
    messageAt: number;
  };
};

const VIA = {
  chat: "POST /api/personas/{id}/chat",
  edit: "PATCH /api/messages/{id}",
  retry: "POST /api/messages/{id}/retry",
} as const;

const personaNotFound = () => new ApiError("NOT_FOUND", "No such persona.");
const conversationNotFound = () => new ApiError("NOT_FOUND", "No such conversation.");
const messageNotFound = () => new ApiError("NOT_FOUND", "No such message.");
const notRetryable = () => new ApiError("NOT_RETRYABLE", "Only your own FAILED messages can be retried.");
const filesNotReady = () =>
  new ApiError("FILE_NOT_READY", "Attach only uploaded (READY) files of this conversation.");
const invalidParent = () =>
  new ApiError("VALIDATION_FAILED", "The request is invalid.", {
    errors: [{ path: "parentId", message: "Not a message of this conversation." }],
  });

/** 404 unless visible (own, or SHARED in the workspace); 403 for a visible one the caller does not own. */
function checkConversation(
  conversation: Pick<ChatConversation, "ownerId" | "visibility" | "personaId" | "archivedAt"> | null,
  caller: Caller,
  personaId: string,
) {
  if (!conversation) throw conversationNotFound();
  if (conversation.ownerId !== caller.userId) {
    if (conversation.visibility === "SHARED") {
      throw new ApiError("FORBIDDEN", "Only the conversation's owner can chat in it.");
    }
    throw conversationNotFound();
  }
  if (conversation.personaId !== personaId) {
    throw new ApiError("PERSONA_MISMATCH", "This conversation belongs to another persona.");
  }
  if (conversation.archivedAt !== null) {
    throw new ApiError("CONVERSATION_ARCHIVED", "This conversation is archived. Unarchive it to continue.");
  }
}

/** A statement's failure kept for its turn in the check order (Promise.all would answer the first to fail). */
const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

function messageAudit(type: AuditInput["type"], caller: Caller, data: Record<string, unknown>): AuditInput {
  return {
    type,
    workspaceId: caller.workspaceId,
    actorUserId: caller.userId,
    targetType: "message",
    data,
  };
}

/** Reads and checks a turn (one flight); throws its 4xx. */
export async function checkTurn(
  deps: Deps,
  tx: Transaction,
  caller: Caller,
  turn: Turn,
): Promise<CheckedTurn> {
  if (turn.kind === "chat") return checkChat(deps, tx, caller, turn);
  return checkEditOrRetry(deps, tx, caller, turn);
}

async function checkChat(
  deps: Deps,
  tx: Transaction,
  caller: Caller,
  turn: Extract<Turn, { kind: "chat" }>,
): Promise<CheckedTurn> {
  const via = VIA.chat;
  const fileIds = turn.fileIds ?? [];
  const existing = turn.conversationId;
  if (existing !== undefined && !isUuid(existing)) {
    if (!(await findVisiblePersona(tx, caller.workspaceId, turn.personaId))) throw personaNotFound();
    throw conversationNotFound();
  }
  const cid = existing?.toLowerCase();
  const [persona, conversation, parent, files] = await Promise.all([
    findVisiblePersona(tx, caller.workspaceId, turn.personaId),
    cid ? lockChatConversation(tx, caller, cid) : null,
    cid ? chatParent(tx, caller, cid, turn.parentId?.toLowerCase()) : null,
    cid && fileIds.length ? settle(assertReadyFiles(tx, caller.workspaceId, cid, fileIds)) : null,
  ]);
  if (!persona) throw personaNotFound();
  if (cid) checkConversation(conversation, caller, persona.id);
  if (!cid && turn.parentId) throw invalidParent();
  if (parent && !parent.found) throw invalidParent();
  if (fileIds.length && !cid) {
    throw new ApiError("FILE_NOT_READY", "Files can only be attached in an existing conversation.");
  }
  if (files && !files.ok) throw files.error;
  const fileRows = files?.ok ? files.value : [];
  const conversationId = cid ?? newId();
  const attachments = await toRelayAttachments(deps.config, fileRows);
  return {
    persona,
    conversationId,
    history: parent?.history ?? [],
    attachments,
    via,
    statements: (tx) =>
      newTurnStatements(deps, tx, caller, {
        conversationId,
        newConversation: !cid,
        personaId: persona.id,
        parentId: parent?.parentId ?? null,
        content: turn.message,
        fileIds: fileRows.map((f) => f.id),
        audits: [
          ...(cid
            ? []
            : [
                {
                  type: "CONVERSATION_CREATED" as const,
                  workspaceId: caller.workspaceId,
                  actorUserId: caller.userId,
                  targetType: "conversation",
                  targetId: conversationId,
                  data: { via, personaId: persona.id },
                },
              ]),
          messageAudit("CHAT_MESSAGE_SENT", caller, { via, conversationId, personaId: persona.id }),
        ],
      }),
  };
}

async function checkEditOrRetry(
  deps: Deps,
  tx: Transaction,
  caller: Caller,
  turn: Extract<Turn, { kind: "edit" | "retry" }>,
): Promise<CheckedTurn> {
  const via = VIA[turn.kind];
  if (!isUuid(turn.messageId)) throw messageNotFound();
  const messageId = turn.messageId.toLowerCase();
  const [target, persona, attachments] = await Promise.all([
    lockTurnTarget(tx, caller, messageId),
    findVisiblePersona(tx, caller.workspaceId, personaIdOfMessage(caller.workspaceId, messageId)),
    relayAttachmentsOf(deps, tx, caller.workspaceId, messageId),
  ]);
  if (!target) throw messageNotFound();
  if (turn.kind === "edit") {
    if (target.role !== "USER") {
      throw new ApiError("NOT_EDITABLE", "Replies cannot be edited; edit your own message instead.");
    }
    if (target.authorId !== caller.userId) {
      throw new ApiError("FORBIDDEN", "Only the author can edit this message.");
    }
    const windowMs = deps.config.EDIT_WINDOW_MINUTES * 60_000;
    if (new Date(target.createdAt).getTime() + windowMs <= Date.now()) {
      throw new ApiError(
        "EDIT_WINDOW_EXPIRED",
        `Messages can be edited for ${deps.config.EDIT_WINDOW_MINUTES} minutes after they are sent.`,
      );
    }
  } else if (target.role !== "USER" || target.authorId !== caller.userId || target.status !== "FAILED") {
    throw notRetryable();
  }
  if (!persona) throw personaNotFound();
  checkConversation(target, caller, persona.id);
  // The edit carries the original's attachments: every one must still be a READY file.
  if (turn.kind === "edit" && attachments.length !== target.fileIds.length) throw filesNotReady();
  const base = { persona, conversationId: target.conversationId, history: target.history, attachments, via };
  if (turn.kind === "retry") {
    return {
      ...base,
      statements: (tx) => ({
        ...retryStatements(deps, tx, caller, {
          messageId,
          conversationId: target.conversationId,
          personaId: persona.id,
          audit: {
            ...messageAudit("MESSAGE_RETRIED", caller, {
              via,
              conversationId: target.conversationId,
              personaId: persona.id,
            }),
            targetId: messageId,
          },
        }),
        messageAt: 0,
      }),
    };
  }
  return {
    ...base,
    statements: (tx) =>
      newTurnStatements(deps, tx, caller, {
        conversationId: target.conversationId,
        newConversation: false,
        personaId: persona.id,
        parentId: target.parentId,
        content: turn.message,
        fileIds: attachments.map((a) => a.fileId),
        audits: [
          messageAudit("MESSAGE_EDITED", caller, {
            via,
            conversationId: target.conversationId,
            personaId: persona.id,
            editedMessageId: messageId,
          }),
        ],
      }),
  };
}
