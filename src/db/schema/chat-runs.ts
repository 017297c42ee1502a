import { sql } from "drizzle-orm";
import { check, foreignKey, index, integer, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { id, timestamptz } from "./columns";
import { conversations, messages } from "./conversations";
import { chatRunStatus } from "./enums";
import { personas } from "./personas";
import { workspaces } from "./workspaces";

/** One relay of a user message to a persona webhook. A chat refused by a limit or an open breaker has no row. */
export const chatRuns = pgTable(
  "chat_runs",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    conversationId: uuid("conversation_id").notNull(),
    // Delivery bookkeeping belongs to its persona (conversations already keep a used persona from deletion).
    personaId: uuid("persona_id")
      .notNull()
      .references(() => personas.id, { onDelete: "cascade" }),
    userMessageId: uuid("user_message_id").notNull(),
    status: chatRunStatus("status").notNull().default("PENDING"),
    attempts: integer("attempts").notNull().default(0),
    latencyMs: integer("latency_ms"),
    /** A short class name (TIMEOUT, HTTP_5XX, …), never a response body. */
    errorClass: text("error_class"),
    startedAt: timestamptz("started_at").notNull().defaultNow(),
    finishedAt: timestamptz("finished_at"),
  },
  (t) => [
    foreignKey({
      name: "chat_runs_conversation_fk",
      columns: [t.workspaceId, t.conversationId],
      foreignColumns: [conversations.workspaceId, conversations.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    // The relayed message is a message of the same conversation.
    foreignKey({
      name: "chat_runs_user_message_fk",
      columns: [t.conversationId, t.userMessageId],
      foreignColumns: [messages.conversationId, messages.id],
    }).onDelete("cascade"),
    check("chat_runs_attempts_ck", sql`${t.attempts} >= 0`),
    check("chat_runs_latency_ck", sql`${t.latencyMs} IS NULL OR ${t.latencyMs} >= 0`),
    // deliveries of a persona, per workspace, newest first (and the FK check when a persona is deleted)
    index("chat_runs_persona_started_idx").on(t.personaId, t.workspaceId, t.startedAt.desc()),
    // the cascades from conversations and messages
    index("chat_runs_conversation_message_idx").on(t.conversationId, t.userMessageId),
    // chat-runs job: stuck relays → TIMEOUT
    index("chat_runs_pending_started_idx").on(t.startedAt).where(sql`${t.status} = 'PENDING'`),
  ],
);

export type ChatRun = typeof chatRuns.$inferSelect;
export type NewChatRun = typeof chatRuns.$inferInsert;
