/**
 * The conversation store: how the files module reaches the aggregate. Files stay with their module; these
 * predicates over its `files` rows are the joins to conversations and message attachments (semi-joins, so
 * the files module's own queries keep their shape).
 */
import { type SQL, sql } from "drizzle-orm";
import { files } from "../../../db/schema";
import { visibleConversation } from "./access";

/** The file's conversation exists and is not deleted. */
export const fileInLiveConversation = (): SQL =>
  sql`EXISTS (SELECT 1 FROM conversations c WHERE c.workspace_id = ${files.workspaceId}
                 AND c.id = ${files.conversationId} AND c.deleted_at IS NULL)`;

/** The file's conversation is live and visible to the caller (own, or SHARED in the workspace). */
export const fileVisibleTo = (caller: { userId: string; workspaceId: string }): SQL =>
  sql`${files.workspaceId} = ${caller.workspaceId}
      AND EXISTS (SELECT 1 FROM conversations c WHERE c.workspace_id = ${files.workspaceId}
                     AND c.id = ${files.conversationId} AND ${visibleConversation("c", caller)})`;

/** The file is attached to the message. */
export const fileAttachedTo = (messageId: string): SQL =>
  sql`EXISTS (SELECT 1 FROM message_files mf WHERE mf.workspace_id = ${files.workspaceId}
                 AND mf.file_id = ${files.id} AND mf.message_id = ${messageId})`;
