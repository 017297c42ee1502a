/**
 * The conversation store (issue 15): the one place that writes SQL against the conversation aggregate
 * (conversations, messages, reactions, message attachments, share links); every other module calls these
 * files. This one: the branch.
 *
 * The branch rule, everywhere: the root → start path (the start is the conversation's current leaf, or a
 * message the caller chose), continued down through the newest child, by (created_at, id), to a leaf.
 */
import { type SQL, sql } from "drizzle-orm";
import type { Deps } from "../../../core/deps";
import { rowDate } from "../../../db/raw";
import { conversations, type MessageRole, type MessageStatus, type ReactionType } from "../../../db/schema";
import type { AttachmentDto, ConversationMessageDto } from "../conversations.schemas";

/** The URL an attachment is fetched from with the bearer token (the files routes serve it). */
export const attachmentUrl = (deps: Pick<Deps, "config">, fileId: string) =>
  new URL(`/api/files/${fileId}`, deps.config.APP_BASE_URL).toString();

/** A message's own fields, as every answer that shows one carries them (`toMessageDto`). */
type MessageFields = {
  id: string;
  parentId: string | null;
  role: MessageRole;
  content: string;
  status: MessageStatus;
  authorId: string | null;
  personaVersion: number | null;
  createdAt: Date | string;
};

/** A message of the branch as the view's statement returns it (JSON: timestamps as text). */
export type BranchMessageRow = MessageFields & {
  createdAt: string;
  siblings: string[];
  likes: number;
  dislikes: number;
  mine: ReactionType | null;
  attachments: Omit<AttachmentDto, "url">[];
};

/**
 * `WITH RECURSIVE … path(id, depth)`: the root → `start` path of the conversation (depth ≤ 0, the start at
 * 0; with `upMax`, only its last `upMax` messages) and, with `down`, its continuation through the newest
 * child to a leaf (depth > 0). The query that follows joins `path` to `messages`.
 */
export function branchPath(conversationId: SQL, start: SQL, down: boolean, upMax = 100_000): SQL {
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
         WHERE up.depth > ${1 - upMax}::int
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

/** The one message DTO: the fields every answer that shows a message carries (chat replies, the view). */
export function toMessageDto(m: MessageFields) {
  return {
    id: m.id,
    parentId: m.parentId,
    role: m.role,
    content: m.content,
    status: m.status,
    authorId: m.authorId,
    personaVersion: m.personaVersion,
    createdAt: rowDate(m.createdAt).toISOString(),
  };
}

/** A message of the conversation view: the message DTO with its siblings, reactions and attachments. */
export function toConversationMessageDto(
  deps: Pick<Deps, "config">,
  m: BranchMessageRow,
): ConversationMessageDto {
  const siblings = m.siblings ?? [m.id];
  return {
    ...toMessageDto(m),
    siblings: { index: siblings.indexOf(m.id), count: siblings.length, ids: siblings },
    reactions: { LIKE: m.likes, DISLIKE: m.dislikes },
    myReaction: m.mine,
    attachments: m.attachments.map((file) => ({ ...file, url: attachmentUrl(deps, file.id) })),
  };
}
