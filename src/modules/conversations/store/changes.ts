/**
 * The conversation store: the self-guarded changes (middleware/guarded-write.ts), one statement each: every
 * change hangs off the `guard` CTE (the session check) and off `target`, the visible conversation, locked.
 */
import { type SQL, sql } from "drizzle-orm";
import type { ReactionType } from "../../../db/schema";
import type { TokenCaller } from "../../../middleware/auth";
import type { GuardedStatement } from "../../../middleware/guarded-write";
import { type AuditDeps, auditInsertFrom } from "../../audit/audit.service";
import { visibleConversation } from "./access";
import { type SummaryJson, summaryJson } from "./summary";

type Caller = TokenCaller;

/** The audit fields of a change the caller made in its workspace. */
const actedBy = (caller: Caller) => ({ workspaceId: caller.workspaceId, actorUserId: caller.userId });

/** The conversation when the caller can see it (own or SHARED), locked, and only under a live session. */
const visibleLocked = (caller: Caller, conversationId: string) => sql`
  SELECT c.* FROM conversations c
   WHERE c.id = ${conversationId}::uuid AND ${visibleConversation("c", caller)} AND EXISTS (SELECT 1 FROM guard)
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
          ...actedBy(caller),
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
          ...actedBy(caller),
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

/**
 * The follow-up of a switch to PRIVATE, written in the same flight right after it: revokes the links that
 * statement could not see. Its snapshot was taken before it waited for the conversation's lock, so a link
 * whose creation held that lock and committed meanwhile stays live there. This statement starts after that
 * commit. A PRIVATE conversation never has live links, so it changes nothing otherwise. Each link it revokes
 * is audited SHARED_LINK_REVOKED (`race: true`). Only the owner's or an ADMIN's request sweeps.
 */
export function sweepLinksOfPrivate(
  deps: AuditDeps,
  caller: Caller,
  conversationId: string,
): GuardedStatement {
  return {
    with: {
      swept: sql`
        UPDATE share_links l SET revoked_at = now()
          FROM conversations c, guard g
         WHERE c.workspace_id = ${caller.workspaceId}::uuid AND c.id = ${conversationId}::uuid
           AND c.visibility = 'PRIVATE' AND (c.owner_id = ${caller.userId}::uuid OR g.role = 'ADMIN')
           AND l.workspace_id = c.workspace_id AND l.conversation_id = c.id AND l.revoked_at IS NULL
        RETURNING l.id, l.conversation_id`,
      audit: auditInsertFrom(
        deps,
        {
          type: "SHARED_LINK_REVOKED",
          ...actedBy(caller),
          targetType: "share_link",
          targetId: sql`swept.id::text`,
          data: sql`jsonb_build_object('via', 'PATCH /api/conversations/{id}/visibility',
                      'conversationId', swept.conversation_id, 'race', true)`,
        },
        sql`swept`,
      ),
    },
    select: sql`SELECT count(*)::int AS swept FROM swept`,
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
          ...actedBy(caller),
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
        ...actedBy(caller),
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
         WHERE m.workspace_id = ${caller.workspaceId}::uuid AND m.id = ${messageId}::uuid
           AND ${visibleConversation("c", caller)} AND EXISTS (SELECT 1 FROM guard)`,
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
