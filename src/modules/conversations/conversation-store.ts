/**
 * The conversation store (issue 15): the one place that writes SQL against the conversation aggregate
 * (conversations, messages, reactions, message attachments, share links). It starts with the branch view:
 * one statement, so that with the session check beside it (requireAuthForRead) a view is one round trip.
 *
 * The branch rule, everywhere: the root → start path (the start is the conversation's current leaf, or a
 * message the caller chose), continued down through the newest child, by (created_at, id), to a leaf.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { rowDate } from "../../db/raw";
import {
  type Conversation,
  conversations,
  type MessageRole,
  type MessageStatus,
  type ReactionType,
} from "../../db/schema";
import type { TokenCaller } from "../../middleware/auth";
import type { GuardedStatement } from "../../middleware/guarded-write";
import { auditInsertFrom } from "../audit/audit.service";
import { type AttachmentDto, type ConversationMessageDto, PREVIEW_CHARS } from "./conversations.schemas";

/** The URL an attachment is fetched from with the bearer token (the files routes serve it). */
export const attachmentUrl = (deps: Pick<Deps, "config">, fileId: string) =>
  new URL(`/api/files/${fileId}`, deps.config.APP_BASE_URL).toString();

/** A message of the branch as the view's statement returns it (JSON: timestamps as text). */
export type BranchMessageRow = {
  id: string;
  parentId: string | null;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  authorId: string | null;
  personaVersion: number | null;
  createdAt: string;
  siblings: string[];
  likes: number;
  dislikes: number;
  mine: ReactionType | null;
  attachments: Omit<AttachmentDto, "url">[];
};

/**
 * `WITH RECURSIVE … path(id, depth)`: the root → `start` path of the conversation (depth ≤ 0, the start at
 * 0) and, with `down`, its continuation through the newest child to a leaf (depth > 0). The query that
 * follows joins `path` to `messages`.
 */
function branchPath(conversationId: SQL, start: SQL, down: boolean): SQL {
  const continuation = down
    ? sql`, down(id, depth) AS (
        SELECT m.id, 0 FROM messages m WHERE m.conversation_id = ${conversationId} AND m.id = ${start}
        UNION ALL
        SELECT child.id, down.depth + 1 FROM down
         CROSS JOIN LATERAL (
           SELECT c.id FROM messages c
            WHERE c.conversation_id = ${conversationId} AND c.parent_id = down.id
            ORDER BY c.created_at DESC, c.id DESC LIMIT 1
         ) child
         WHERE down.depth < 100000
      )`
    : sql``;
  return sql`WITH RECURSIVE up(id, parent_id, depth) AS (
        SELECT m.id, m.parent_id, 0 FROM messages m
         WHERE m.conversation_id = ${conversationId} AND m.id = ${start}
        UNION ALL
        SELECT p.id, p.parent_id, up.depth - 1 FROM up
          JOIN messages p ON p.conversation_id = ${conversationId} AND p.id = up.parent_id
         WHERE up.depth > -100000
      )${continuation}, path(id, depth) AS (
        SELECT id, depth FROM up${down ? sql` UNION ALL SELECT id, depth FROM down WHERE depth > 0` : sql``}
      )`;
}

/**
 * The branch of the conversation in the enclosing query's `conversations` row, root first, as one JSON array
 * with each message's siblings (its parent's children, oldest first), reaction counts, the viewer's own
 * reaction and its attachments. A correlated subquery, so it joins the summary in one statement. `startId`:
 * the message to go through instead of the current leaf (the caller checks it belongs, see `hasMessage`).
 *
 * Every table is aliased: the enclosing query joins `messages` itself (the preview).
 */
export function branchJson(
  viewer: { userId: string; workspaceId: string },
  startId?: string,
): SQL<BranchMessageRow[]> {
  const ws = viewer.workspaceId;
  const start = startId ? sql`${startId}::uuid` : sql`${conversations.currentLeafId}`;
  const conversationId = sql`${conversations.id}`;
  return sql<BranchMessageRow[]>`(
    ${branchPath(conversationId, start, true)}
    SELECT coalesce(json_agg(json_build_object(
             'id', m.id, 'parentId', m.parent_id, 'role', m.role, 'content', m.content, 'status', m.status,
             'authorId', m.author_id, 'personaVersion', m.persona_version, 'createdAt', m.created_at,
             'siblings', (
               SELECT json_agg(s.id ORDER BY s.created_at, s.id) FROM messages s
                WHERE s.conversation_id = m.conversation_id
                  AND (s.parent_id = m.parent_id OR (m.parent_id IS NULL AND s.parent_id IS NULL))
             ),
             'likes', r.likes, 'dislikes', r.dislikes, 'mine', r.mine,
             'attachments', coalesce((
               SELECT json_agg(json_build_object('id', f.id, 'filename', f.filename,
                                                 'contentType', f.content_type, 'sizeBytes', f.size_bytes)
                               ORDER BY f.created_at, f.id)
                 FROM message_files mf
                 JOIN files f ON f.workspace_id = mf.workspace_id AND f.id = mf.file_id
                WHERE mf.workspace_id = ${ws} AND mf.message_id = m.id
             ), '[]'::json)
           ) ORDER BY path.depth), '[]'::json)
      FROM path
      JOIN messages m ON m.conversation_id = ${conversationId} AND m.id = path.id
     CROSS JOIN LATERAL (
       SELECT count(*) FILTER (WHERE x.type = 'LIKE')::int AS likes,
              count(*) FILTER (WHERE x.type = 'DISLIKE')::int AS dislikes,
              max(x.type::text) FILTER (WHERE x.user_id = ${viewer.userId}) AS mine
         FROM reactions x WHERE x.workspace_id = ${ws} AND x.message_id = m.id
     ) r
  )`;
}

/** True when `messageId` is a message of the enclosing query's conversation (a chosen start must be). */
export const hasMessage = (messageId: string): SQL<boolean> =>
  sql<boolean>`EXISTS (SELECT 1 FROM messages h WHERE h.conversation_id = ${conversations.id} AND h.id = ${messageId}::uuid)`;

/** The one message DTO of a conversation view. */
export function toConversationMessageDto(
  deps: Pick<Deps, "config">,
  m: BranchMessageRow,
): ConversationMessageDto {
  const siblings = m.siblings ?? [m.id];
  return {
    id: m.id,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    status: m.status,
    authorId: m.authorId,
    personaVersion: m.personaVersion,
    createdAt: rowDate(m.createdAt).toISOString(),
    siblings: { index: siblings.indexOf(m.id), count: siblings.length, ids: siblings },
    reactions: { LIKE: m.likes, DISLIKE: m.dislikes },
    myReaction: m.mine,
    attachments: m.attachments.map((file) => ({ ...file, url: attachmentUrl(deps, file.id) })),
  };
}

// --- summaries ----------------------------------------------------------------------------------------------

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
type SummaryJson = Omit<SummaryRow, "conversation"> & {
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
const summaryJson = (c: SQL) => sql`json_build_object(
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

// --- self-guarded changes (one statement each: middleware/guarded-write.ts) ---------------------------------

type Caller = TokenCaller;

/** The conversation when the caller can see it (own or SHARED), locked, and only under a live session. */
const visibleLocked = (caller: Caller, conversationId: string) => sql`
  SELECT c.* FROM conversations c
   WHERE c.workspace_id = ${caller.workspaceId}::uuid AND c.id = ${conversationId}::uuid AND c.deleted_at IS NULL
     AND (c.owner_id = ${caller.userId}::uuid OR c.visibility = 'SHARED') AND EXISTS (SELECT 1 FROM guard)
     FOR UPDATE OF c`;

/** Final SELECT of a change to `target`: its owner, whether the rule allowed it, and the summary after it. */
const changeOutcome = (allowed: SQL) => sql`
  SELECT t.owner_id AS "ownerId", ${allowed} AS allowed,
         EXISTS (SELECT 1 FROM changed) AS changed,
         (SELECT ${summaryJson(sql`x`)}
            FROM (SELECT * FROM changed UNION ALL SELECT * FROM target WHERE NOT EXISTS (SELECT 1 FROM changed)) x
           LIMIT 1) AS summary
    FROM target t, guard g`;

export type ChangeOutcome = { ownerId: string; allowed: boolean; changed: boolean; summary: SummaryJson };
type AuditDeps = Parameters<typeof auditInsertFrom>[0];
const isOwner = (caller: Caller) => sql`t.owner_id = ${caller.userId}::uuid`;

/** Archive or unarchive (the owner only); audited when it changed. */
export function archiveStatement(
  deps: AuditDeps,
  caller: Caller,
  conversationId: string,
  archived: boolean,
): GuardedStatement {
  return {
    with: {
      target: visibleLocked(caller, conversationId),
      changed: sql`
        UPDATE conversations c SET archived_at = CASE WHEN ${archived} THEN now() END, updated_at = now()
          FROM target t
         WHERE c.workspace_id = t.workspace_id AND c.id = t.id AND ${isOwner(caller)}
           AND (t.archived_at IS NOT NULL) <> ${archived}
        RETURNING c.*`,
      audit: auditInsertFrom(
        deps,
        {
          type: "CONVERSATION_ARCHIVED",
          workspaceId: caller.workspaceId,
          actorUserId: caller.userId,
          targetType: "conversation",
          targetId: sql`changed.id::text`,
          data: { via: "PATCH /api/conversations/{id}/archive", archived },
        },
        sql`changed`,
      ),
    },
    select: changeOutcome(isOwner(caller)),
  };
}

/**
 * PRIVATE ↔ SHARED: the owner either way, an ADMIN who is not the owner only to PRIVATE. Going PRIVATE
 * revokes the live share links in the same statement (link creation takes the same row lock).
 */
export function visibilityStatement(
  deps: AuditDeps,
  caller: Caller,
  conversationId: string,
  visibility: "PRIVATE" | "SHARED",
): GuardedStatement {
  const allowed = sql`(${isOwner(caller)} OR (g.role = 'ADMIN' AND ${visibility} = 'PRIVATE'))`;
  return {
    with: {
      target: visibleLocked(caller, conversationId),
      changed: sql`
        UPDATE conversations c SET visibility = ${visibility}::visibility, updated_at = now()
          FROM target t, guard g
         WHERE c.workspace_id = t.workspace_id AND c.id = t.id AND ${allowed} AND t.visibility <> ${visibility}::visibility
        RETURNING c.*`,
      revoked: sql`
        UPDATE share_links l SET revoked_at = now() FROM changed ch
         WHERE l.workspace_id = ch.workspace_id AND l.conversation_id = ch.id AND l.revoked_at IS NULL
           AND ch.visibility = 'PRIVATE'
        RETURNING l.id`,
      audit: auditInsertFrom(
        deps,
        {
          type: "CONVERSATION_VISIBILITY_CHANGED",
          workspaceId: caller.workspaceId,
          actorUserId: caller.userId,
          targetType: "conversation",
          targetId: sql`changed.id::text`,
          data: sql`jsonb_build_object('via', 'PATCH /api/conversations/{id}/visibility',
            'from', ${visibility === "PRIVATE" ? "SHARED" : "PRIVATE"}::text, 'to', ${visibility}::text,
            'byAdmin', changed.owner_id <> ${caller.userId}::uuid, 'revokedLinks', (SELECT count(*) FROM revoked))`,
        },
        sql`changed`,
      ),
    },
    select: changeOutcome(allowed),
  };
}

export type TitleOutcome = ChangeOutcome & { leafFound: boolean; leafHasReplies: boolean };

/**
 * Title and/or current leaf (the owner only). The leaf must be a message of this conversation without
 * replies; otherwise nothing changes. Audited CONVERSATION_TITLE_UPDATED when the title changed.
 */
export function titleStatement(
  deps: AuditDeps,
  caller: Caller,
  conversationId: string,
  input: { title?: string | null; currentLeafId?: string },
): GuardedStatement {
  const setTitle = input.title !== undefined;
  const title = input.title ?? null;
  const leafId = input.currentLeafId?.toLowerCase() ?? null;
  const leafOk = leafId === null ? sql`true` : sql`EXISTS (SELECT 1 FROM leaf WHERE NOT has_replies)`;
  const titleChanged = sql`(${setTitle} AND t.title IS DISTINCT FROM ${title}::text)`;
  return {
    with: {
      target: visibleLocked(caller, conversationId),
      leaf: sql`
        SELECT m.id, EXISTS (SELECT 1 FROM messages k WHERE k.conversation_id = m.conversation_id
                                                       AND k.parent_id = m.id) AS has_replies
          FROM messages m, target t WHERE m.conversation_id = t.id AND m.id = ${leafId}::uuid`,
      changed: sql`
        UPDATE conversations c
           SET title = CASE WHEN ${setTitle} THEN ${title}::text ELSE c.title END,
               current_leaf_id = coalesce(${leafId}::uuid, c.current_leaf_id), updated_at = now()
          FROM target t
         WHERE c.workspace_id = t.workspace_id AND c.id = t.id AND ${isOwner(caller)} AND ${leafOk}
           AND (${leafId}::uuid IS NOT NULL OR ${titleChanged})
        RETURNING c.*`,
      audit: auditInsertFrom(
        deps,
        {
          type: "CONVERSATION_TITLE_UPDATED",
          workspaceId: caller.workspaceId,
          actorUserId: caller.userId,
          targetType: "conversation",
          targetId: sql`changed.id::text`,
          data: { via: "PATCH /api/conversations/{id}", cleared: input.title === null },
        },
        sql`changed JOIN target t ON t.id = changed.id WHERE ${titleChanged}`,
      ),
    },
    select: sql`
      SELECT o.*, EXISTS (SELECT 1 FROM leaf) AS "leafFound", coalesce((SELECT has_replies FROM leaf), false) AS "leafHasReplies"
        FROM (${changeOutcome(isOwner(caller))}) o`,
  };
}

export type ReactionOutcome = {
  conversationId: string;
  removed: boolean;
  previous: ReactionType | null;
  /** Counts as of the statement's snapshot, before its own change. */
  likes: number;
  dislikes: number;
};

/**
 * Toggles the caller's reaction to a message it can see: the same type again removes it, the other type
 * replaces it. Audited REACTION_ADDED / REACTION_REMOVED.
 */
export function reactionStatement(
  deps: AuditDeps,
  caller: Caller,
  messageId: string,
  type: ReactionType,
): GuardedStatement {
  const audit = (event: "REACTION_ADDED" | "REACTION_REMOVED", source: string) =>
    auditInsertFrom(
      deps,
      {
        type: event,
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "message",
        targetId: sql`t.id::text`,
        data: sql`jsonb_build_object('via', 'POST /api/messages/{id}/reactions', 'conversationId', t.conversation_id,
                    'type', ${type}::text)
                  || CASE WHEN ${event === "REACTION_ADDED"} AND e.type IS NOT NULL
                          THEN jsonb_build_object('replaced', e.type) ELSE '{}'::jsonb END`,
      },
      sql`${sql.identifier(source)} JOIN target t ON true LEFT JOIN existing e ON true`,
    );
  return {
    with: {
      target: sql`
        SELECT m.id, m.conversation_id FROM messages m
          JOIN conversations c ON c.workspace_id = m.workspace_id AND c.id = m.conversation_id
         WHERE m.workspace_id = ${caller.workspaceId}::uuid AND m.id = ${messageId}::uuid AND c.deleted_at IS NULL
           AND (c.owner_id = ${caller.userId}::uuid OR c.visibility = 'SHARED') AND EXISTS (SELECT 1 FROM guard)`,
      existing: sql`
        SELECT r.type FROM reactions r JOIN target t ON r.message_id = t.id
         WHERE r.user_id = ${caller.userId}::uuid FOR UPDATE OF r`,
      // Through `existing`, so the lock is taken (and `existing` read) before this delete: a row this
      // statement already deleted could not be locked, and `previous` would miss it.
      removed: sql`
        DELETE FROM reactions r USING existing e, target t
         WHERE r.message_id = t.id AND r.user_id = ${caller.userId}::uuid AND e.type = ${type}::reaction_type
        RETURNING r.message_id`,
      added: sql`
        INSERT INTO reactions (message_id, user_id, workspace_id, type)
        SELECT t.id, ${caller.userId}::uuid, ${caller.workspaceId}::uuid, ${type}::reaction_type FROM target t
         WHERE NOT EXISTS (SELECT 1 FROM existing e WHERE e.type = ${type}::reaction_type)
        ON CONFLICT (message_id, user_id) DO UPDATE SET type = excluded.type, created_at = now()
        RETURNING message_id`,
      audit_added: audit("REACTION_ADDED", "added"),
      audit_removed: audit("REACTION_REMOVED", "removed"),
    },
    select: sql`
      SELECT t.conversation_id AS "conversationId", EXISTS (SELECT 1 FROM removed) AS removed,
             (SELECT e.type FROM existing e) AS previous,
             count(*) FILTER (WHERE x.type = 'LIKE')::int AS likes,
             count(*) FILTER (WHERE x.type = 'DISLIKE')::int AS dislikes
        FROM target t
        LEFT JOIN reactions x ON x.workspace_id = ${caller.workspaceId}::uuid AND x.message_id = t.id
       GROUP BY t.id, t.conversation_id`,
  };
}

// --- the public view of a share link --------------------------------------------------------------------------

export type SharedViewRow = {
  title: string | null;
  expiresAt: string;
  persona: {
    name: string;
    personalName: string | null;
    roleTitle: string | null;
    about: string | null;
    avatarUrl: string | null;
  };
  messages: Array<{
    role: MessageRole;
    content: string;
    createdAt: string;
    attachments: Array<{ filename: string }>;
  }>;
};

/**
 * GET /p/{token} as one statement (atomic without a transaction): the link must be live and its conversation
 * still SHARED and not deleted; then the view is counted, SHARED_LINK_ACCESSED audited (anonymous), and the
 * branch frozen at the link's leaf returned — persona public fields, role, content, time and attachment names
 * only. No row when the link does not work.
 */
export function sharedViewStatement(deps: AuditDeps, tokenHash: string): SQL {
  const audit = auditInsertFrom(
    deps,
    {
      type: "SHARED_LINK_ACCESSED",
      workspaceId: sql`link.workspace_id`,
      actorType: "ANONYMOUS",
      targetType: "share_link",
      targetId: sql`link.id::text`,
      data: sql`jsonb_build_object('via', 'GET /p/{token}', 'conversationId', link.conversation_id)`,
    },
    sql`link`,
  );
  return sql`
    WITH link AS (
      UPDATE share_links l SET view_count = l.view_count + 1, last_viewed_at = now()
        FROM conversations c
       WHERE l.token_hash = ${tokenHash} AND l.revoked_at IS NULL AND l.expires_at > now()
         AND c.workspace_id = l.workspace_id AND c.id = l.conversation_id
         AND c.visibility = 'SHARED' AND c.deleted_at IS NULL
      RETURNING l.id, l.workspace_id, l.conversation_id, l.leaf_message_id, l.expires_at, c.title, c.persona_id
    ), audit AS (${audit})
    SELECT link.title, link.expires_at AS "expiresAt",
           json_build_object('name', p.name, 'personalName', p.personal_name, 'roleTitle', p.role_title,
                             'about', p.about, 'avatarUrl', p.avatar_url) AS persona,
           (${branchPath(sql`link.conversation_id`, sql`link.leaf_message_id`, false)}
            SELECT coalesce(json_agg(json_build_object(
                     'role', m.role, 'content', m.content, 'createdAt', m.created_at,
                     'attachments', coalesce((
                       SELECT json_agg(json_build_object('filename', f.filename) ORDER BY f.created_at, f.id)
                         FROM message_files mf
                         JOIN files f ON f.workspace_id = mf.workspace_id AND f.id = mf.file_id
                        WHERE mf.workspace_id = link.workspace_id AND mf.message_id = m.id
                     ), '[]'::json)
                   ) ORDER BY path.depth), '[]'::json)
               FROM path JOIN messages m ON m.conversation_id = link.conversation_id AND m.id = path.id
           ) AS messages
      FROM link JOIN personas p ON p.id = link.persona_id`;
}
