/**
 * Conversations: create, the workspace list (own + SHARED, keyset by last activity), the branch view with
 * siblings, reactions and attachments, title / leaf changes, visibility, archive and soft delete.
 * Access rules live in ./conversation-access.ts.
 */
import { and, eq, inArray, isNull, or, type SQL, sql } from "drizzle-orm";
import { type Cursor, decodeCursor, pageOf } from "../../core/cursor";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { type DbOrTx, lastStatements } from "../../db/client";
import { escapeLike } from "../../db/order";
import { rawRows, rowDate } from "../../db/raw";
import { conversations, messages, personas, shareLinks, users } from "../../db/schema";
import type { GuardedWrite } from "../../middleware/guarded-write";
import { recordAudit } from "../audit/audit.service";
import {
  type ConversationCaller,
  conversationNotFound,
  notTheOwner,
  requireConversation,
} from "./store/access";
import {
  type ConversationDetailDto,
  type ConversationDto,
  type CreateConversationInput,
  type ListConversationsInput,
  PREVIEW_CHARS,
  type UpdateConversationInput,
} from "./conversations.schemas";
import { branchJson, hasMessage, toConversationMessageDto } from "./store/branch";
import {
  archiveStatement,
  type ChangeOutcome,
  type TitleOutcome,
  titleStatement,
  visibilityStatement,
} from "./store/changes";
import { type SummaryRow, summaryFromJson } from "./store/summary";

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

/** The conversation with its persona summary, owner name and preview, when the caller can see it. */
function summaryQuery<Extra extends Record<string, SQL>>(
  db: DbOrTx,
  caller: Viewer,
  conversationId: string,
  visibleOnly = true,
  extra: Extra = {} as Extra,
) {
  return db
    .select({
      ...extra,
      conversation: conversations,
      persona: {
        id: personas.id,
        name: personas.name,
        roleTitle: personas.roleTitle,
        avatarUrl: personas.avatarUrl,
      },
      ownerName: users.name,
      preview: sql<string | null>`left(${messages.content}, ${PREVIEW_CHARS})`,
    })
    .from(conversations)
    .innerJoin(personas, eq(personas.id, conversations.personaId))
    .innerJoin(
      users,
      and(eq(users.workspaceId, conversations.workspaceId), eq(users.id, conversations.ownerId)),
    )
    .leftJoin(
      messages,
      and(eq(messages.conversationId, conversations.id), eq(messages.id, conversations.currentLeafId)),
    )
    .where(
      and(
        eq(conversations.id, conversationId.toLowerCase()),
        eq(conversations.workspaceId, caller.workspaceId),
        isNull(conversations.deletedAt),
        visibleOnly
          ? or(eq(conversations.ownerId, caller.userId), eq(conversations.visibility, "SHARED"))
          : undefined,
      ),
    )
    .limit(1);
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
      tx.insert(conversations).values({
        id,
        workspaceId: caller.workspaceId,
        ownerId: caller.userId,
        personaId: persona.id,
        title: input.title ?? null,
        visibility: "PRIVATE",
      }),
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

/**
 * The list query. "Own + SHARED of the workspace" is a UNION ALL of two arms, each an ordered, limited index
 * scan — own conversations on `conversations_owner_idx` (owner_id, archived_at, last_message_at DESC, id DESC),
 * others' SHARED ones on the partial `conversations_workspace_visibility_idx` (workspace_id, visibility,
 * last_message_at DESC, id DESC) — merged and cut to the page; an OR of both would defeat either index.
 * The keyset is a row comparison on (last_message_at, id), never OFFSET. Exported for the EXPLAIN test.
 */
export function listConversationsQuery(
  caller: Pick<Caller, "userId" | "workspaceId">,
  input: Pick<ListConversationsInput, "archived" | "personaId" | "q" | "limit">,
  cursor: Cursor | null,
): SQL {
  const filters: SQL[] = [
    sql`c.workspace_id = ${caller.workspaceId}`,
    sql`c.deleted_at IS NULL`,
    input.archived === "true" ? sql`c.archived_at IS NOT NULL` : sql`c.archived_at IS NULL`,
  ];
  if (input.personaId) filters.push(sql`c.persona_id = ${input.personaId}`);
  if (input.q) filters.push(sql`c.title ILIKE ${`%${escapeLike(input.q)}%`}`);
  if (cursor) {
    filters.push(sql`(c.last_message_at, c.id) < (${cursor.k}::timestamptz, ${cursor.i}::uuid)`);
  }
  const where = sql.join(filters, sql` AND `);
  const take = input.limit + 1;
  const columns = sql.raw(`c.id, c.workspace_id, c.title, c.visibility, c.archived_at, c.owner_id,
    c.persona_id, c.current_leaf_id, c.message_count, c.last_message_at, c.created_at, c.updated_at`);
  // `DESC NULLS LAST` spells the indexes' order exactly (plain DESC means NULLS FIRST): without it the planner
  // cannot walk conversations_workspace_visibility_idx and sorts every SHARED row instead — 2.6 ms instead of
  // 0.3 ms at 10k conversations (found by `npm run bench`). The columns are NOT NULL, so the order is the same.
  return sql`
    WITH page AS (
      (SELECT ${columns} FROM conversations c
        WHERE c.owner_id = ${caller.userId} AND ${where}
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC NULLS LAST LIMIT ${take})
      UNION ALL
      (SELECT ${columns} FROM conversations c
        WHERE c.visibility = 'SHARED' AND c.owner_id <> ${caller.userId} AND ${where}
        ORDER BY c.last_message_at DESC NULLS LAST, c.id DESC NULLS LAST LIMIT ${take})
      ORDER BY last_message_at DESC NULLS LAST, id DESC NULLS LAST
      LIMIT ${take}
    )
    SELECT c.id, c.title, c.visibility, c.archived_at, c.owner_id, c.current_leaf_id, c.message_count,
           c.last_message_at, c.created_at, c.updated_at,
           to_char(c.last_message_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_time,
           p.id AS persona_id, p.name AS persona_name, p.role_title AS persona_role_title,
           p.avatar_url AS persona_avatar_url, u.name AS owner_name, left(m.content, ${PREVIEW_CHARS}) AS preview
      FROM page c
      JOIN personas p ON p.id = c.persona_id
      JOIN users u ON u.workspace_id = c.workspace_id AND u.id = c.owner_id
      LEFT JOIN messages m ON m.conversation_id = c.id AND m.id = c.current_leaf_id
     ORDER BY c.last_message_at DESC, c.id DESC`;
}

type ListRow = {
  id: string;
  title: string | null;
  visibility: "PRIVATE" | "SHARED";
  archived_at: Date | string | null;
  owner_id: string;
  current_leaf_id: string | null;
  message_count: number;
  last_message_at: Date | string;
  created_at: Date | string;
  updated_at: Date | string;
  cursor_time: string;
  persona_id: string;
  persona_name: string;
  persona_role_title: string | null;
  persona_avatar_url: string | null;
  owner_name: string | null;
  preview: string | null;
};

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
  const statement = visibilityStatement(deps, write.caller, conversationId.toLowerCase(), visibility);
  return changedDto(await write.run<ChangeOutcome>(statement), write.caller);
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
    const [conversation, live] = await Promise.all([
      requireConversation(tx, caller, id, { owner: true, lock: true }),
      tx
        .select({ id: shareLinks.id })
        .from(shareLinks)
        .where(
          and(
            eq(shareLinks.workspaceId, caller.workspaceId),
            eq(shareLinks.conversationId, id),
            isNull(shareLinks.revokedAt),
          ),
        ),
    ]);
    const linkIds = live.map((link) => link.id);
    return lastStatements(tx, [
      tx.update(conversations).set({ deletedAt: sql`now()` }).where(eq(conversations.id, conversation.id)),
      ...(linkIds.length
        ? [
            tx
              .update(shareLinks)
              .set({ revokedAt: sql`now()` })
              .where(
                and(
                  eq(shareLinks.workspaceId, caller.workspaceId),
                  inArray(shareLinks.id, linkIds),
                  isNull(shareLinks.revokedAt),
                ),
              ),
          ]
        : []),
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
