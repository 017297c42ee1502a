/**
 * Conversations: create, the workspace list (own + SHARED, keyset by last activity), the branch view with
 * siblings, reactions and attachments, title / leaf changes, visibility, archive and soft delete.
 * The SQL lives in the conversation store (./store/); the access rules in ./store/access.ts.
 */
import { and, eq, isNull, or, sql } from "drizzle-orm";
import { decodeCursor, pageOf } from "../../core/cursor";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { lastStatements } from "../../db/client";
import { rawRows, rowDate } from "../../db/raw";
import { personas } from "../../db/schema";
import type { GuardedWrite } from "../../middleware/guarded-write";
import { recordAudit } from "../audit/audit.service";
import type {
  ConversationDetailDto,
  ConversationDto,
  CreateConversationInput,
  ListConversationsInput,
  UpdateConversationInput,
} from "./conversations.schemas";
import {
  type ConversationCaller,
  conversationNotFound,
  notTheOwner,
  requireConversation,
} from "./store/access";
import { branchJson, hasMessage, toConversationMessageDto } from "./store/branch";
import {
  archiveStatement,
  type ChangeOutcome,
  sweepLinksOfPrivate,
  type TitleOutcome,
  titleStatement,
  visibilityStatement,
} from "./store/changes";
import { insertConversation, softDeleteConversation } from "./store/lifecycle";
import { type ListRow, listConversationsQuery } from "./store/list";
import { liveShareLinkIds, revokeShareLinks } from "./store/share-links";
import { type SummaryRow, summaryFromJson, summaryQuery } from "./store/summary";

type Caller = ConversationCaller;
/** The token's identity: enough for visibility (the role plays no part in it). */
type Viewer = Pick<Caller, "userId" | "workspaceId">;

// --- DTOs ---------------------------------------------------------------------------------------------------

export function toConversationDto(row: SummaryRow, caller: Pick<Caller, "userId">): ConversationDto {
  const c = row.conversation;
  return {
    id: c.id,
    title: c.title,
    visibility: c.visibility,
    archived: c.archivedAt !== null,
    persona: row.persona,
    owner: { id: c.ownerId, name: row.ownerName },
    isOwner: c.ownerId === caller.userId,
    currentLeafId: c.currentLeafId,
    lastMessagePreview: row.preview,
    messageCount: c.messageCount,
    lastMessageAt: c.lastMessageAt.toISOString(),
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
  };
}

// --- create -------------------------------------------------------------------------------------------------

/**
 * A new, empty PRIVATE conversation with an active persona the workspace can see (global or its own; any
 * other id is 404). Audited CONVERSATION_CREATED.
 */
export async function createConversation(
  deps: Deps,
  caller: Viewer,
  input: CreateConversationInput,
): Promise<ConversationDto> {
  const id = newId();
  // Two round trips behind requireAuthForWrite: the persona check (with the session check), then the insert,
  // its audit and the summary read-back together with COMMIT.
  const outcome = await deps.db.transaction(async (tx) => {
    const [persona] = await tx
      .select({ id: personas.id })
      .from(personas)
      .where(
        and(
          eq(personas.id, input.personaId),
          eq(personas.isActive, true),
          or(isNull(personas.workspaceId), eq(personas.workspaceId, caller.workspaceId)),
        ),
      )
      // Keeps a concurrent deactivation from landing between this check and the insert.
      .for("share");
    if (!persona) throw new ApiError("NOT_FOUND", "No such persona.");
    return lastStatements(tx, [
      insertConversation(tx, { id, ...caller, personaId: persona.id, title: input.title ?? null }),
      recordAudit(deps, tx, {
        type: "CONVERSATION_CREATED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "conversation",
        targetId: id,
        data: { via: "POST /api/conversations", personaId: persona.id },
      }),
      summaryQuery(tx, caller, id),
    ]);
  });
  const [, , [row]] = await outcome.results;
  if (!row) throw new Error("the new conversation's read-back returned nothing");
  return toConversationDto(row, caller);
}

// --- list ---------------------------------------------------------------------------------------------------

/** Own conversations and the workspace's SHARED ones, newest activity first. */
export async function listConversations(
  deps: Pick<Deps, "db">,
  caller: Pick<Caller, "userId" | "workspaceId">,
  input: ListConversationsInput,
): Promise<{ items: ConversationDto[]; nextCursor: string | null }> {
  const cursor = input.cursor ? decodeCursor(input.cursor, { key: "timestamp" }) : null;
  const rows = await rawRows<ListRow>(deps.db, listConversationsQuery(caller, input, cursor));
  const { page, nextCursor } = pageOf(rows, input.limit, (last) => ({ k: last.cursor_time, i: last.id }));
  return {
    items: page.map((r) => ({
      id: r.id,
      title: r.title,
      visibility: r.visibility,
      archived: r.archived_at !== null,
      persona: {
        id: r.persona_id,
        name: r.persona_name,
        roleTitle: r.persona_role_title,
        avatarUrl: r.persona_avatar_url,
      },
      owner: { id: r.owner_id, name: r.owner_name },
      isOwner: r.owner_id === caller.userId,
      currentLeafId: r.current_leaf_id,
      lastMessagePreview: r.preview,
      messageCount: Number(r.message_count),
      lastMessageAt: rowDate(r.last_message_at).toISOString(),
      createdAt: rowDate(r.created_at).toISOString(),
      updatedAt: rowDate(r.updated_at).toISOString(),
    })),
    nextCursor,
  };
}

// --- branch view --------------------------------------------------------------------------------------------

const invalidMessage = (path: string, message: string) =>
  new ApiError("VALIDATION_FAILED", "The request is invalid.", { errors: [{ path, message }] });

/**
 * The conversation with one branch: the current one, or the one through `leafId` (a message of this
 * conversation, else 400) continued to its newest leaf — the pointer does not move. One statement (the
 * summary, the branch with siblings, reactions and attachments: `branchJson`), which readAfterAuth sends
 * beside the session check: one round trip.
 */
export async function getConversation(
  deps: Pick<Deps, "db" | "config">,
  viewer: Viewer,
  conversationId: string,
  leafId?: string,
): Promise<ConversationDetailDto> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const start = leafId?.toLowerCase();
  const [row] = await summaryQuery(deps.db, viewer, conversationId, true, {
    branch: branchJson(viewer, start),
    startFound: start ? hasMessage(start) : sql<boolean>`true`,
  });
  if (!row) throw conversationNotFound();
  if (!row.startFound) throw invalidMessage("query.leafId", "Not a message of this conversation.");
  const items = row.branch.map((m) => toConversationMessageDto(deps, m));
  return { ...toConversationDto(row, viewer), leafId: items.at(-1)?.id ?? null, messages: items };
}

// --- changes ------------------------------------------------------------------------------------------------

/**
 * Interprets a self-guarded change (store/changes.ts): 404 when the caller cannot see it, 403 when the
 * rule refused it, else the summary after the change (read without the visibility filter: an admin who just
 * made someone's conversation PRIVATE still gets the result of its own change).
 */
function changedDto(outcome: ChangeOutcome | null, caller: Viewer): ConversationDto {
  if (!outcome) throw conversationNotFound();
  if (!outcome.allowed) throw notTheOwner();
  return toConversationDto(summaryFromJson(outcome.summary), caller);
}

/** Title and/or current leaf (a leaf message of this conversation, else 400). Owner only. One statement. */
export async function updateConversation(
  deps: Deps,
  write: GuardedWrite,
  conversationId: string,
  input: UpdateConversationInput,
): Promise<ConversationDto> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const outcome = await write.run<TitleOutcome>(
    titleStatement(deps, write.caller, conversationId.toLowerCase(), input),
  );
  if (outcome?.allowed && input.currentLeafId !== undefined) {
    if (!outcome.leafFound) throw invalidMessage("currentLeafId", "Not a message of this conversation.");
    if (outcome.leafHasReplies)
      throw invalidMessage("currentLeafId", "Not a leaf: this message has replies.");
  }
  return changedDto(outcome, write.caller);
}

/**
 * PRIVATE ↔ SHARED. The owner may do either; an ADMIN who is not the owner may only make a SHARED conversation
 * PRIVATE (anyone else: 403). Going PRIVATE revokes its share links in the same statement.
 */
export async function setVisibility(
  deps: Deps,
  write: GuardedWrite,
  conversationId: string,
  visibility: "PRIVATE" | "SHARED",
): Promise<ConversationDto> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const id = conversationId.toLowerCase();
  const statement = visibilityStatement(deps, write.caller, id, visibility);
  const followUps = visibility === "PRIVATE" ? [sweepLinksOfPrivate(deps, write.caller, id)] : [];
  return changedDto(await write.run<ChangeOutcome>(statement, ...followUps), write.caller);
}

/** Archive or unarchive (owner only); audited CONVERSATION_ARCHIVED with `archived`. One statement. */
export async function setArchived(
  deps: Deps,
  write: GuardedWrite,
  conversationId: string,
  archived: boolean,
): Promise<ConversationDto> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const statement = archiveStatement(deps, write.caller, conversationId.toLowerCase(), archived);
  return changedDto(await write.run<ChangeOutcome>(statement), write.caller);
}

/**
 * Soft delete (owner only): hidden from every route at once, its share links revoked; rows and files are
 * purged by the daily conversation-purge job.
 */
export async function deleteConversation(deps: Deps, caller: Viewer, conversationId: string): Promise<void> {
  if (!isUuid(conversationId)) throw conversationNotFound();
  const id = conversationId.toLowerCase();
  // Two round trips behind requireAuthForWrite: the lock and the live links (read after it, so no link is
  // made or revoked meanwhile: both take the same lock) with the session check; the delete, the revocation
  // and the audit together with COMMIT.
  await deps.db.transaction(async (tx) => {
    const [conversation, linkIds] = await Promise.all([
      requireConversation(tx, caller, id, { owner: true, lock: true }),
      liveShareLinkIds(tx, caller.workspaceId, id),
    ]);
    return lastStatements(tx, [
      softDeleteConversation(tx, caller.workspaceId, conversation.id),
      ...(linkIds.length ? [revokeShareLinks(tx, caller.workspaceId, linkIds)] : []),
      recordAudit(deps, tx, {
        type: "CONVERSATION_DELETED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "conversation",
        targetId: conversation.id,
        data: { via: "DELETE /api/conversations/{id}", revokedLinks: linkIds.length },
      }),
    ]);
  });
}
