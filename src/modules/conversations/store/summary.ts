/** The conversation store: a conversation's summary (its DTO's parts) read inside one statement. */
import { and, eq, isNull, or, type SQL, sql } from "drizzle-orm";
import type { DbOrTx } from "../../../db/client";
import { rowDate } from "../../../db/raw";
import { type Conversation, conversations, messages, personas, users } from "../../../db/schema";
import { PREVIEW_CHARS } from "../conversations.schemas";

type Viewer = { userId: string; workspaceId: string };

/** What a conversation's DTO is made of (`toConversationDto`). */
export type SummaryRow = {
  conversation: Pick<
    Conversation,
    | "id"
    | "title"
    | "visibility"
    | "archivedAt"
    | "ownerId"
    | "currentLeafId"
    | "messageCount"
    | "lastMessageAt"
    | "createdAt"
    | "updatedAt"
  >;
  persona: { id: string; name: string; roleTitle: string | null; avatarUrl: string | null };
  ownerName: string | null;
  preview: string | null;
};

/** `summaryJson` as the driver hands it over: timestamps as text. */
export type SummaryJson = Omit<SummaryRow, "conversation"> & {
  conversation: Omit<
    SummaryRow["conversation"],
    "archivedAt" | "lastMessageAt" | "createdAt" | "updatedAt"
  > & {
    archivedAt: string | null;
    lastMessageAt: string;
    createdAt: string;
    updatedAt: string;
  };
};

/** The summary of the row `c` (any relation with conversations' columns: a CTE's RETURNING), as JSON. */
export const summaryJson = (c: SQL) => sql`json_build_object(
    'conversation', json_build_object('id', ${c}.id, 'title', ${c}.title, 'visibility', ${c}.visibility,
      'archivedAt', ${c}.archived_at, 'ownerId', ${c}.owner_id, 'currentLeafId', ${c}.current_leaf_id,
      'messageCount', ${c}.message_count, 'lastMessageAt', ${c}.last_message_at, 'createdAt', ${c}.created_at,
      'updatedAt', ${c}.updated_at),
    'persona', (SELECT json_build_object('id', p.id, 'name', p.name, 'roleTitle', p.role_title,
                                         'avatarUrl', p.avatar_url) FROM personas p WHERE p.id = ${c}.persona_id),
    'ownerName', (SELECT u.name FROM users u WHERE u.workspace_id = ${c}.workspace_id AND u.id = ${c}.owner_id),
    'preview', (SELECT left(m.content, ${PREVIEW_CHARS}) FROM messages m
                 WHERE m.conversation_id = ${c}.id AND m.id = ${c}.current_leaf_id))`;

export function summaryFromJson(json: SummaryJson): SummaryRow {
  const c = json.conversation;
  return {
    ...json,
    conversation: {
      ...c,
      archivedAt: c.archivedAt === null ? null : rowDate(c.archivedAt),
      lastMessageAt: rowDate(c.lastMessageAt),
      createdAt: rowDate(c.createdAt),
      updatedAt: rowDate(c.updatedAt),
    },
  };
}

/** The conversation with its persona summary, owner name and preview, when the caller can see it. */
export function summaryQuery<Extra extends Record<string, SQL>>(
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
