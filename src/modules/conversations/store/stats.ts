/** The conversation store: the aggregate's counts for the admin statistics (fragments of its two statements). */
import { type SQL, sql } from "drizzle-orm";

/** Live (not deleted) conversations of the workspace. */
export const conversationCount = (workspaceId: string): SQL =>
  sql`(SELECT count(*) FROM conversations c WHERE c.workspace_id = ${workspaceId} AND c.deleted_at IS NULL)`;

/** Messages of the workspace's live conversations. */
export const messageCount = (workspaceId: string): SQL =>
  sql`(SELECT count(*) FROM messages m
        JOIN conversations c ON c.workspace_id = m.workspace_id AND c.id = m.conversation_id
       WHERE m.workspace_id = ${workspaceId} AND c.deleted_at IS NULL)`;

/** `(created_at, author_id)` of the USER messages since `since`, in live conversations: a CTE's body. */
export const userMessagesSince = (workspaceId: string, since: SQL): SQL =>
  sql`SELECT m.created_at, m.author_id
        FROM messages m
        JOIN conversations c ON c.workspace_id = m.workspace_id AND c.id = m.conversation_id
       WHERE m.workspace_id = ${workspaceId} AND m.role = 'USER' AND c.deleted_at IS NULL
         AND m.created_at >= ${since}`;

/** Live conversations created since `since`. */
export const conversationsCreatedSince = (workspaceId: string, since: SQL): SQL =>
  sql`(SELECT count(*)::int FROM conversations c
        WHERE c.workspace_id = ${workspaceId} AND c.deleted_at IS NULL AND c.created_at >= ${since})`;
