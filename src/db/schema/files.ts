import { sql } from "drizzle-orm";
import {
  check,
  foreignKey,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz } from "./columns";
import { conversations, messages } from "./conversations";
import { fileStatus } from "./enums";
import { users } from "./users";
import { workspaces } from "./workspaces";

/** Attachments, stored in R2 under `attachments/<workspace_id>/<conversation_id>/<file_id>`. */
export const files = pgTable(
  "files",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull(),
    // Plain FK with SET NULL: the file stays in a reassigned SHARED conversation after its uploader's purge.
    uploaderId: uuid("uploader_id").references(() => users.id, { onDelete: "set null" }),
    r2Key: text("r2_key").notNull(),
    filename: text("filename").notNull(),
    contentType: text("content_type").notNull(),
    sizeBytes: integer("size_bytes").notNull(),
    /** PENDING → READY by one conditional update: that is what makes an upload URL single-use. */
    status: fileStatus("status").notNull().default("PENDING"),
    createdAt: createdAt(),
    uploadedAt: timestamptz("uploaded_at"),
  },
  (t) => [
    unique("files_workspace_id_id_key").on(t.workspaceId, t.id),
    unique("files_r2_key_key").on(t.r2Key),
    foreignKey({
      name: "files_conversation_fk",
      columns: [t.workspaceId, t.conversationId],
      foreignColumns: [conversations.workspaceId, conversations.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    check("files_size_ck", sql`${t.sizeBytes} > 0`),
    check("files_ready_uploaded_ck", sql`${t.status} <> 'READY' OR ${t.uploadedAt} IS NOT NULL`),
    index("files_conversation_idx").on(t.conversationId),
    // files job: abandoned uploads
    index("files_pending_created_idx").on(t.createdAt).where(sql`${t.status} = 'PENDING'`),
    // the SET NULL of a user purge
    index("files_uploader_idx").on(t.uploaderId).where(sql`${t.uploaderId} IS NOT NULL`),
  ],
);

export const messageFiles = pgTable(
  "message_files",
  {
    messageId: uuid("message_id").notNull(),
    fileId: uuid("file_id").notNull(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ name: "message_files_pkey", columns: [t.messageId, t.fileId] }),
    foreignKey({
      name: "message_files_message_fk",
      columns: [t.workspaceId, t.messageId],
      foreignColumns: [messages.workspaceId, messages.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    foreignKey({
      name: "message_files_file_fk",
      columns: [t.workspaceId, t.fileId],
      foreignColumns: [files.workspaceId, files.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    // the cascade when a file is deleted
    index("message_files_workspace_file_idx").on(t.workspaceId, t.fileId),
  ],
);

export type FileRow = typeof files.$inferSelect;
export type NewFileRow = typeof files.$inferInsert;
export type MessageFile = typeof messageFiles.$inferSelect;
export type NewMessageFile = typeof messageFiles.$inferInsert;
