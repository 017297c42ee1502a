import { sql } from "drizzle-orm";
import {
  check,
  foreignKey,
  index,
  integer,
  type PgTableExtraConfigValue,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { messageRole, messageStatus, reactionType, visibility } from "./enums";
import { personas } from "./personas";
import { users } from "./users";
import { workspaces } from "./workspaces";

export const conversations = pgTable(
  "conversations",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    ownerId: uuid("owner_id").notNull(),
    // NO ACTION: personas are deactivated, never deleted while conversations use them (a workspace purge
    // removes both in one statement, which NO ACTION allows).
    personaId: uuid("persona_id")
      .notNull()
      .references(() => personas.id, { onDelete: "no action" }),
    /** NULL until the user or the persona's suggested title names it. */
    title: text("title"),
    visibility: visibility("visibility").notNull().default("PRIVATE"),
    archivedAt: timestamptz("archived_at"),
    /** Soft delete: hidden at once, rows and files purged by the conversation-purge job. */
    deletedAt: timestamptz("deleted_at"),
    /** Leaf of the branch shown by default; NULL before the first message. */
    currentLeafId: uuid("current_leaf_id"),
    lastMessageAt: timestamptz("last_message_at").notNull().defaultNow(),
    messageCount: integer("message_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  // Explicit return type: conversations and messages reference each other, which TS cannot infer.
  (t): PgTableExtraConfigValue[] => [
    unique("conversations_workspace_id_id_key").on(t.workspaceId, t.id),
    // NO ACTION: a user purge must first reassign SHARED conversations and delete PRIVATE ones; a purge that
    // forgot them fails loudly instead of silently deleting shared history. (Checked at the end of the
    // statement, so a workspace purge that cascades to both users and conversations passes.)
    // ON UPDATE CASCADE here and on every (workspace_id, …) key below it: a user who moves out of a personal
    // workspace (accepting an invitation) takes their conversations along, and through them the messages,
    // reactions, share links, attachments and chat runs — one UPDATE of users.workspace_id moves the tree.
    foreignKey({
      name: "conversations_owner_fk",
      columns: [t.workspaceId, t.ownerId],
      foreignColumns: [users.workspaceId, users.id],
    })
      .onDelete("no action")
      .onUpdate("cascade"),
    // Keyed on (id, current_leaf_id) → messages(conversation_id, id): the leaf must be a message of THIS
    // conversation (hence of its workspace). SET NULL would null `id` too, so NO ACTION: move the pointer
    // before deleting its message (messages are otherwise only deleted with their conversation).
    foreignKey({
      name: "conversations_current_leaf_fk",
      columns: [t.id, t.currentLeafId],
      foreignColumns: [messages.conversationId, messages.id],
    }).onDelete("no action"),
    check("conversations_message_count_ck", sql`${t.messageCount} >= 0`),
    index("conversations_workspace_visibility_idx")
      .on(t.workspaceId, t.visibility, t.lastMessageAt.desc(), t.id.desc())
      .where(sql`${t.deletedAt} IS NULL`),
    // Not partial: it also serves the owner FK check when a user is deleted.
    index("conversations_owner_idx").on(t.ownerId, t.archivedAt, t.lastMessageAt.desc(), t.id.desc()),
    // `personaId` filter, and the FK check when a persona is deleted
    index("conversations_persona_idx").on(t.personaId),
    // conversation-purge job
    index("conversations_deleted_idx").on(t.deletedAt).where(sql`${t.deletedAt} IS NOT NULL`),
  ],
);

/** A tree per conversation: edits add a sibling, the branch shown is the path to a leaf. */
export const messages = pgTable(
  "messages",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull(),
    /** NULL for a root message. */
    parentId: uuid("parent_id"),
    role: messageRole("role").notNull(),
    // Plain FK with SET NULL: the message stays in a SHARED conversation after its author is purged. A
    // composite (workspace_id, author_id) FK cannot null only author_id, so the service (author = caller)
    // is what keeps it inside the workspace.
    authorId: uuid("author_id").references(() => users.id, { onDelete: "set null" }),
    content: text("content").notNull(),
    status: messageStatus("status").notNull().default("COMPLETE"),
    /** Version of the persona that answered (ASSISTANT messages). */
    personaVersion: integer("persona_version"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("messages_workspace_id_id_key").on(t.workspaceId, t.id),
    // Target of the FKs that must stay inside one conversation (parent, current leaf, share leaf, chat run).
    unique("messages_conversation_id_id_key").on(t.conversationId, t.id),
    foreignKey({
      name: "messages_conversation_fk",
      columns: [t.workspaceId, t.conversationId],
      foreignColumns: [conversations.workspaceId, conversations.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    // The parent is a message of the same conversation (which implies the same workspace).
    foreignKey({
      name: "messages_parent_fk",
      columns: [t.conversationId, t.parentId],
      foreignColumns: [t.conversationId, t.id],
    }).onDelete("cascade"),
    check("messages_content_length_ck", sql`char_length(${t.content}) <= 100000`),
    // A USER message may lose its author to a purge (SET NULL); an ASSISTANT message never has one.
    check("messages_author_role_ck", sql`${t.role} = 'USER' OR ${t.authorId} IS NULL`),
    check("messages_assistant_parent_ck", sql`${t.role} = 'USER' OR ${t.parentId} IS NOT NULL`),
    index("messages_conversation_parent_idx").on(t.conversationId, t.parentId),
    index("messages_conversation_created_idx").on(t.conversationId, t.createdAt),
    // the SET NULL of a user purge
    index("messages_author_idx").on(t.authorId).where(sql`${t.authorId} IS NOT NULL`),
  ],
);

export const reactions = pgTable(
  "reactions",
  {
    messageId: uuid("message_id").notNull(),
    userId: uuid("user_id").notNull(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    type: reactionType("type").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "reactions_pkey", columns: [t.messageId, t.userId] }),
    foreignKey({
      name: "reactions_message_fk",
      columns: [t.workspaceId, t.messageId],
      foreignColumns: [messages.workspaceId, messages.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    foreignKey({
      name: "reactions_user_fk",
      columns: [t.workspaceId, t.userId],
      foreignColumns: [users.workspaceId, users.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    index("reactions_message_type_idx").on(t.messageId, t.type),
    // the cascade when a user is deleted
    index("reactions_workspace_user_idx").on(t.workspaceId, t.userId),
  ],
);

/** Public read-only link to a SHARED conversation's branch, frozen at creation. */
export const shareLinks = pgTable(
  "share_links",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull(),
    leafMessageId: uuid("leaf_message_id").notNull(),
    /** SHA-256 of the link token. */
    tokenHash: text("token_hash").notNull(),
    // Plain FK with SET NULL: a link made by an admin or a former owner survives that user's purge.
    createdBy: uuid("created_by").references(() => users.id, { onDelete: "set null" }),
    expiresAt: timestamptz("expires_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
    viewCount: integer("view_count").notNull().default(0),
    lastViewedAt: timestamptz("last_viewed_at"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("share_links_token_hash_key").on(t.tokenHash),
    foreignKey({
      name: "share_links_conversation_fk",
      columns: [t.workspaceId, t.conversationId],
      foreignColumns: [conversations.workspaceId, conversations.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    // The leaf is a message of the shared conversation.
    foreignKey({
      name: "share_links_leaf_message_fk",
      columns: [t.conversationId, t.leafMessageId],
      foreignColumns: [messages.conversationId, messages.id],
    }).onDelete("cascade"),
    check("share_links_expiry_ck", sql`${t.expiresAt} > ${t.createdAt}`),
    check("share_links_view_count_ck", sql`${t.viewCount} >= 0`),
    index("share_links_conversation_idx").on(t.conversationId),
    // shares job
    index("share_links_expires_idx").on(t.expiresAt),
    // the SET NULL of a user purge
    index("share_links_created_by_idx").on(t.createdBy).where(sql`${t.createdBy} IS NOT NULL`),
  ],
);

export type Conversation = typeof conversations.$inferSelect;
export type NewConversation = typeof conversations.$inferInsert;
export type Message = typeof messages.$inferSelect;
export type NewMessage = typeof messages.$inferInsert;
export type Reaction = typeof reactions.$inferSelect;
export type NewReaction = typeof reactions.$inferInsert;
export type ShareLink = typeof shareLinks.$inferSelect;
export type NewShareLink = typeof shareLinks.$inferInsert;
