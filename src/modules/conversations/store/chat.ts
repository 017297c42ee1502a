/**
 * The conversation store: what the chat relay reads and writes (chat, edit → branch, retry). The relay makes
 * two round trips before the webhook is called: these reads, pipelined in the transaction that the session
 * check's flight opened (`requireAuthForWrite`), then the turn's statements with COMMIT (`lastStatements`).
 * After the webhook's answer, `outcomeStatement` records everything in one statement.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { newId } from "../../../core/ids";
import type { DbOrTx, Transaction } from "../../../db/client";
import { rawRows } from "../../../db/raw";
import {
  chatRuns,
  conversations,
  type MessageStatus,
  messageFiles,
  messages,
  type Visibility,
} from "../../../db/schema";
import { type AuditDeps, type AuditInput, auditInsertFrom, recordAudit } from "../../audit/audit.service";
import { visibleConversation } from "./access";
import { branchPath } from "./branch";

/** The branch's last messages sent as `history`. */
export const HISTORY_LENGTH = 20;

export type HistoryItem = { role: "user" | "assistant"; content: string };

type Caller = { userId: string; workspaceId: string };

/** A conversation as the relay checks it: visibility, ownership and persona are its rules. */
export type ChatConversation = {
  id: string;
  ownerId: string;
  personaId: string;
  visibility: Visibility;
  currentLeafId: string | null;
  archivedAt: Date | string | null;
};

const chatConversationColumns = {
  id: conversations.id,
  ownerId: conversations.ownerId,
  personaId: conversations.personaId,
  visibility: conversations.visibility,
  currentLeafId: conversations.currentLeafId,
  archivedAt: conversations.archivedAt,
};

/**
 * The conversation of a chat when the caller can see it, locked FOR NO KEY UPDATE: appends and leaf moves on
 * it are serialised until the turn commits. Someone else's SHARED one is returned (the relay answers 403).
 */
export async function lockChatConversation(
  tx: Transaction,
  caller: Caller,
  conversationId: string,
): Promise<ChatConversation | null> {
  const [row] = await tx
    .select(chatConversationColumns)
    .from(conversations)
    .where(and(eq(conversations.id, conversationId), visibleConversation('"conversations"', caller)))
    .for("no key update");
  return row ?? null;
}

/** The history sent with a turn: the last HISTORY_LENGTH messages of the branch ending at `start`. */
const historyJson = (conversationId: SQL, start: SQL) => sql`(
    ${branchPath(conversationId, start, false, HISTORY_LENGTH)}
    SELECT coalesce(json_agg(json_build_object(
             'role', CASE m.role WHEN 'USER' THEN 'user' ELSE 'assistant' END, 'content', m.content)
           ORDER BY path.depth), '[]'::json)
      FROM path JOIN messages m ON m.conversation_id = ${conversationId} AND m.id = path.id)`;

/**
 * The parent of a new message and the history up to it, in one statement. `parentId` undefined: the
 * conversation's current leaf (read after the lock: the statements of a transaction run in order); null: a
 * new root. `found` is false when an explicit parent is not a message of the conversation.
 */
export async function chatParent(
  tx: DbOrTx,
  caller: Caller,
  conversationId: string,
  parentId: string | null | undefined,
): Promise<{ parentId: string | null; found: boolean; history: HistoryItem[] }> {
  const ws = sql`${caller.workspaceId}::uuid`;
  const cid = sql`${conversationId}::uuid`;
  // Scoped to the caller's workspace: a foreign conversation id finds no start, hence no history.
  const start =
    parentId === undefined
      ? sql`(SELECT c.current_leaf_id FROM conversations c WHERE c.workspace_id = ${ws} AND c.id = ${cid})`
      : parentId === null
        ? sql`NULL::uuid`
        : sql`(SELECT x.id FROM messages x
                WHERE x.workspace_id = ${ws} AND x.conversation_id = ${cid} AND x.id = ${parentId}::uuid)`;
  const [row] = await rawRows<{ parentId: string | null; found: boolean; history: HistoryItem[] }>(
    tx,
    sql`SELECT ${start} AS "parentId", (${typeof parentId !== "string"} OR ${start} IS NOT NULL) AS found,
               ${historyJson(cid, start)} AS history`,
  );
  return row ?? { parentId: null, found: false, history: [] };
}

/** The message a turn edits or retries, with its conversation's rules and its attachments' file ids. */
export type TurnTarget = {
  id: string;
  conversationId: string;
  parentId: string | null;
  role: "USER" | "ASSISTANT";
  status: MessageStatus;
  authorId: string | null;
  content: string;
  createdAt: string;
  ownerId: string;
  visibility: Visibility;
  personaId: string;
  archivedAt: string | null;
  fileIds: string[];
  history: HistoryItem[];
};

/**
 * The message (when the caller can see its conversation: own or SHARED; else null), locked with its
 * conversation, and the history up to its parent — one statement (aliases tm/tc: the branch walk uses m/c).
 * Both rows FOR NO KEY UPDATE, as the old two-step code locked them: two turns on the conversation
 * serialise, and a concurrent reply's foreign-key check (KEY SHARE) on the message is not blocked, so
 * no deadlock with a chat that answers it.
 */
export async function lockTurnTarget(
  tx: Transaction,
  caller: Caller,
  messageId: string,
): Promise<TurnTarget | null> {
  const [row] = await rawRows<TurnTarget>(
    tx,
    sql`SELECT tm.id, tm.conversation_id AS "conversationId", tm.parent_id AS "parentId", tm.role, tm.status,
               tm.author_id AS "authorId", tm.content, tm.created_at AS "createdAt", tc.owner_id AS "ownerId",
               tc.visibility, tc.persona_id AS "personaId", tc.archived_at AS "archivedAt",
               coalesce((SELECT json_agg(mf.file_id) FROM message_files mf
                          WHERE mf.workspace_id = tm.workspace_id AND mf.message_id = tm.id), '[]'::json) AS "fileIds",
               CASE WHEN tm.parent_id IS NULL THEN '[]'::json
                    ELSE ${historyJson(sql`tm.conversation_id`, sql`tm.parent_id`)} END AS history
          FROM messages tm
          JOIN conversations tc ON tc.workspace_id = tm.workspace_id AND tc.id = tm.conversation_id
         WHERE tm.workspace_id = ${caller.workspaceId}::uuid AND tm.id = ${messageId}::uuid
           AND ${visibleConversation("tc", caller)}
           FOR NO KEY UPDATE OF tm, tc`,
  );
  return row ?? null;
}

/** The persona id of a message's conversation, as SQL: the persona read travels with `lockTurnTarget`. */
export const personaIdOfMessage = (workspaceId: string, messageId: string): SQL =>
  sql`(SELECT c.persona_id FROM messages m
         JOIN conversations c ON c.workspace_id = m.workspace_id AND c.id = m.conversation_id
        WHERE m.workspace_id = ${workspaceId}::uuid AND m.id = ${messageId}::uuid)`;

// --- the turn's statements (written with COMMIT) ------------------------------------------------------------

export type NewTurn = {
  conversationId: string;
  /** The conversation is created by this turn (PRIVATE, owned by the caller). */
  newConversation: boolean;
  personaId: string;
  parentId: string | null;
  content: string;
  /** Attachments to link (already checked READY files of this conversation). */
  fileIds: readonly string[];
  audits: AuditInput[];
};

/**
 * A new USER message (PENDING), its PENDING run and the leaf moved to it, as the statements of the turn's
 * last flight (`lastStatements`): issued together, in order, with COMMIT (a new conversation first: the
 * message refers to it). `messageAt`: the index of the message's result (its row, RETURNING *).
 */
export function newTurnStatements(deps: AuditDeps, tx: Transaction, caller: Caller, turn: NewTurn) {
  const messageId = newId();
  const chatRunId = newId();
  const conversation = turn.newConversation
    ? [
        tx.insert(conversations).values({
          id: turn.conversationId,
          workspaceId: caller.workspaceId,
          ownerId: caller.userId,
          personaId: turn.personaId,
          visibility: "PRIVATE",
        }),
      ]
    : [];
  const statements = [
    ...conversation,
    tx
      .insert(messages)
      .values({
        id: messageId,
        workspaceId: caller.workspaceId,
        conversationId: turn.conversationId,
        parentId: turn.parentId,
        role: "USER",
        authorId: caller.userId,
        content: turn.content,
        status: "PENDING",
      })
      .returning(),
    ...runStatements(tx, caller, { ...turn, chatRunId, userMessageId: messageId }, true),
    ...(turn.fileIds.length
      ? [
          tx
            .insert(messageFiles)
            .values(turn.fileIds.map((fileId) => ({ messageId, fileId, workspaceId: caller.workspaceId })))
            .onConflictDoNothing(),
        ]
      : []),
    ...turn.audits.map((audit) => recordAudit(deps, tx, { ...audit, targetId: audit.targetId ?? messageId })),
  ];
  return { messageId, chatRunId, statements, messageAt: conversation.length };
}

/**
 * The PENDING run and the leaf moved to the user message (counted when new). The run refers to the message
 * and the conversation: written after both.
 */
function runStatements(
  tx: Transaction,
  caller: Caller,
  run: { chatRunId: string; personaId: string; conversationId: string; userMessageId: string },
  newMessage: boolean,
) {
  return [
    tx.insert(chatRuns).values({
      id: run.chatRunId,
      workspaceId: caller.workspaceId,
      conversationId: run.conversationId,
      personaId: run.personaId,
      userMessageId: run.userMessageId,
      status: "PENDING",
    }),
    tx
      .update(conversations)
      .set({
        currentLeafId: run.userMessageId,
        lastMessageAt: sql`now()`,
        ...(newMessage ? { messageCount: sql`${conversations.messageCount} + 1` } : {}),
      })
      .where(
        and(eq(conversations.workspaceId, caller.workspaceId), eq(conversations.id, run.conversationId)),
      ),
  ];
}

/** A retry: the FAILED message (locked by `lockTurnTarget`) back to PENDING, a new run, the leaf on it. */
export function retryStatements(
  deps: AuditDeps,
  tx: Transaction,
  caller: Caller,
  retry: { messageId: string; conversationId: string; personaId: string; audit: AuditInput },
) {
  const chatRunId = newId();
  const statements = [
    tx
      .update(messages)
      .set({ status: "PENDING" })
      .where(
        and(
          eq(messages.workspaceId, caller.workspaceId),
          eq(messages.id, retry.messageId),
          eq(messages.status, "FAILED"),
        ),
      )
      .returning(),
    ...runStatements(tx, caller, { ...retry, chatRunId, userMessageId: retry.messageId }, false),
    recordAudit(deps, tx, retry.audit),
  ];
  return { chatRunId, statements };
}

// --- the outcome (after the webhook) ------------------------------------------------------------------------

export type TurnOutcome = {
  chatRunId: string;
  conversationId: string;
  userMessageId: string;
  personaVersion: number;
  runStatus: "SUCCEEDED" | "FAILED" | "TIMEOUT";
  attempts: number;
  latencyMs: number;
  errorClass: string | null;
  reply: { id: string; content: string; title: string | null } | null;
  audit: Parameters<typeof auditInsertFrom>[1];
};

/**
 * Records the outcome in ONE statement (data-modifying CTEs, atomic without BEGIN/COMMIT): the assistant
 * message under the user message, the user message's status, the leaf (moved to the reply only if it still
 * points at the user message — a newer message in a parallel chat keeps its place), counters and title, the
 * run and the audit. Every part hangs off the `run` CTE, which only matches a run still PENDING: a reply
 * later than the chat-runs job's TIMEOUT changes nothing. Answers the reply's creation time (none: no reply).
 */
export async function recordTurnOutcome(
  deps: AuditDeps,
  db: DbOrTx,
  caller: Caller,
  outcome: TurnOutcome,
): Promise<{ created_at: Date | string } | undefined> {
  const { reply, userMessageId } = outcome;
  const audit = auditInsertFrom(deps, outcome.audit, sql`run`);
  const [row] = await rawRows<{ created_at: Date | string }>(
    db,
    sql`
    WITH run AS (
      UPDATE chat_runs
         SET status = ${outcome.runStatus}::chat_run_status,
             attempts = ${outcome.attempts}::int, latency_ms = ${outcome.latencyMs}::int,
             error_class = ${outcome.errorClass}::text, finished_at = now()
       WHERE id = ${outcome.chatRunId}::uuid AND status = 'PENDING'
      RETURNING id
    ), user_message AS (
      UPDATE messages SET status = ${reply ? "COMPLETE" : "FAILED"}::message_status
        FROM run
       WHERE messages.id = ${userMessageId}::uuid AND messages.status = 'PENDING'
    ), reply AS (
      INSERT INTO messages (id, workspace_id, conversation_id, parent_id, role, content, status, persona_version)
      SELECT ${reply?.id ?? null}::uuid, ${caller.workspaceId}::uuid, ${outcome.conversationId}::uuid,
             ${userMessageId}::uuid, 'ASSISTANT', ${reply?.content ?? null}::text, 'COMPLETE',
             ${outcome.personaVersion}::int
        FROM run
       WHERE ${reply !== null}::boolean
      RETURNING id, created_at
    ), conversation AS (
      UPDATE conversations
         SET current_leaf_id = CASE WHEN current_leaf_id = ${userMessageId}::uuid THEN reply.id
                                    ELSE current_leaf_id END,
             last_message_at = now(), message_count = message_count + 1, updated_at = now(),
             title = COALESCE(title, ${reply?.title ?? null}::text)
        FROM reply
       WHERE conversations.id = ${outcome.conversationId}::uuid
    ), audit AS (${audit})
    SELECT created_at FROM reply`,
  );
  return row;
}
