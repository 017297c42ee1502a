/** The conversation store: the public view of a share link (GET /p/{token}). */
import { type SQL, sql } from "drizzle-orm";
import type { MessageRole } from "../../../db/schema";
import { type AuditDeps, auditInsertFrom } from "../../audit/audit.service";
import { branchPath } from "./branch";

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
         -- A deactivated (or leaving) owner's links and a workspace awaiting deletion stop serving.
         AND EXISTS (SELECT 1 FROM users o WHERE o.workspace_id = c.workspace_id AND o.id = c.owner_id
                                             AND o.status = 'ACTIVE')
         AND EXISTS (SELECT 1 FROM workspaces w WHERE w.id = c.workspace_id AND w.status = 'ACTIVE')
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
