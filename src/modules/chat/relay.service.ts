/**
 * The chat relay (API.md "Outbound relay", status table): admit → store → call the persona webhook → record.
 *
 * 1. Read-only checks: persona visible and active (404), conversation owned by the caller (404/403), same
 *    persona (409 PERSONA_MISMATCH), parent a message of the conversation (400).
 * 2. Limits, before anything is stored: CHAT_USER (RateLimiter), then the persona's PersonaGate (CHAT_PERSONA
 *    window and circuit breaker) → 429 / 503 with Retry-After.
 * 3. One short transaction stores the USER message (PENDING), a PENDING chat_runs row and moves the
 *    conversation's leaf to it, with the conversation row locked so parallel chats append consistently. It
 *    commits before the call: no transaction is ever open while the webhook works.
 * 4. The webhook call and the bookkeeping (assistant message, user message status, leaf, chat run, audits,
 *    breaker report and its mirror) run as one task handed to `waitUntil`, so they finish even if the client
 *    goes away; the request awaits the same task for its answer.
 *
 * `relayChat` and `retryChat` are what the message routes (edit, retry) reuse with their own branch.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import { decrypt } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { errorFields } from "../../core/logger";
import { enforceRateLimit } from "../../core/rate-limit";
import type { DbOrTx, Transaction } from "../../db/client";
import { rawRows, rowDate } from "../../db/raw";
import { chatRuns, conversations, type Message, messages, type Persona } from "../../db/schema";
import type { AuthContext } from "../../middleware/auth";
import { type AuditEventType, auditInsertFrom, recordAudit } from "../audit/audit.service";
import { relayAttachmentsOf } from "../files/files.service";
import { findVisiblePersona, outboundPolicy } from "../personas/personas.service";
import { decodeWebhookSecret } from "../webhooks/standard-webhooks";
import type { ChatMessageDto, ChatResponseDto } from "./chat.schemas";
import { type DeliveryOutcome, deliverWebhook } from "./webhook-client";

/** The branch's last messages sent as `history`. */
export const HISTORY_LENGTH = 20;
/** A probe lease outlives the relay's deadline plus the bookkeeping's waitUntil allowance. */
const PROBE_LEASE_MARGIN_SECONDS = 30;

type Caller = Pick<AuthContext, "userId" | "workspaceId">;

/** An attachment as the webhook receives it (built by the files routes: READY files, signed 10-minute URLs). */
export type RelayAttachment = { fileId: string; filename: string; contentType: string; url: string };

export type StoredChat = {
  conversationId: string;
  conversationCreated: boolean;
  userMessage: Message;
  chatRunId: string;
};

export type RelayChatInput = {
  personaId: string;
  /** Omitted: a new PRIVATE conversation owned by the caller. */
  conversationId?: string;
  message: string;
  /** Omitted: the conversation's current leaf. null: a new root (an edit of the first message). */
  parentId?: string | null;
  /** Audit of the stored message; CHAT_MESSAGE_SENT by default (an edit passes MESSAGE_EDITED). */
  audit?: { type: AuditEventType; data?: Record<string, unknown> };
  /**
   * Runs inside the transaction that stores the user message, after it is inserted (e.g. to link files);
   * whatever it returns is sent as `attachments`. Throwing rolls everything back.
   */
  onStored?: (tx: Transaction, stored: StoredChat) => Promise<RelayAttachment[] | undefined>;
  /**
   * Read-only checks of the caller's own (e.g. attached files), run after the persona and conversation
   * checks and before any limit or breaker, so a refused chat uses no quota and stores nothing.
   */
  beforeLimits?: () => Promise<void>;
  /** `data.via` of the audits. */
  via?: string;
};

const personaNotFound = () => new ApiError("NOT_FOUND", "No such persona.");
const conversationNotFound = () => new ApiError("NOT_FOUND", "No such conversation.");

// --- entry points -------------------------------------------------------------------------------------------

/** Sends a new user message to the persona and returns it with the persona's reply. */
export async function relayChat(deps: Deps, caller: Caller, input: RelayChatInput): Promise<ChatResponseDto> {
  const persona = await findVisiblePersona(deps.db, caller.workspaceId, input.personaId);
  if (!persona) throw personaNotFound();
  if (input.conversationId !== undefined) {
    const conversation = await findConversation(deps.db, caller, input.conversationId);
    checkConversation(conversation, caller, persona.id);
    if (input.parentId) await assertMessageOf(deps.db, input.conversationId, input.parentId);
  } else if (input.parentId) {
    throw invalidParent();
  }
  await input.beforeLimits?.();

  const gate = await admit(deps, caller, persona.id);
  const via = input.via ?? "POST /api/personas/{id}/chat";
  const stored = await deps.db.transaction(async (tx) => {
    let conversationId: string;
    let leaf: string | null = null;
    let created = false;
    if (input.conversationId !== undefined) {
      // The lock serialises appends and leaf moves on this conversation; re-checked in case it changed.
      const conversation = await findConversation(tx, caller, input.conversationId, true);
      checkConversation(conversation, caller, persona.id);
      conversationId = input.conversationId;
      leaf = conversation?.currentLeafId ?? null;
    } else {
      conversationId = newId();
      created = true;
      await tx.insert(conversations).values({
        id: conversationId,
        workspaceId: caller.workspaceId,
        ownerId: caller.userId,
        personaId: persona.id,
        visibility: "PRIVATE",
      });
    }
    const parentId = input.parentId === undefined ? leaf : input.parentId;
    const [userMessage] = await tx
      .insert(messages)
      .values({
        id: newId(),
        workspaceId: caller.workspaceId,
        conversationId,
        parentId,
        role: "USER",
        authorId: caller.userId,
        content: input.message,
        status: "PENDING",
      })
      .returning();
    if (!userMessage) throw new Error("message insert returned nothing");
    // The rest needs only the message's existence and ids made here: issued together, postgres.js pipelines
    // them on the transaction's connection — one round trip instead of four or five.
    const chatRunId = newId();
    const [history] = await Promise.all([
      parentId ? branchHistory(tx, conversationId, parentId) : [],
      startRun(
        tx,
        caller,
        { chatRunId, personaId: persona.id, conversationId, userMessageId: userMessage.id },
        true,
      ),
      created
        ? recordAudit(deps, tx, {
            type: "CONVERSATION_CREATED",
            workspaceId: caller.workspaceId,
            actorUserId: caller.userId,
            targetType: "conversation",
            targetId: conversationId,
            data: { via, personaId: persona.id },
          })
        : undefined,
      recordAudit(deps, tx, {
        type: input.audit?.type ?? "CHAT_MESSAGE_SENT",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "message",
        targetId: userMessage.id,
        data: { via, conversationId, personaId: persona.id, ...input.audit?.data },
      }),
    ]);
    const storedChat = { conversationId, conversationCreated: created, userMessage, chatRunId };
    const attachments = (await input.onStored?.(tx, storedChat)) ?? [];
    return { ...storedChat, attachments, history };
  });
  return deliverAndRecord(deps, caller, persona, stored, gate, via);
}

/**
 * Relays a FAILED user message of the caller again (same message, same Idempotency-Key, a new chat run).
 * Anything else is 409 NOT_RETRYABLE; a message the caller cannot see is 404.
 */
export async function retryChat(
  deps: Deps,
  caller: Caller,
  input: { userMessageId: string; via?: string },
): Promise<ChatResponseDto> {
  const target = await findMessageForRetry(deps.db, caller, input.userMessageId);
  const persona = await findVisiblePersona(deps.db, caller.workspaceId, target.personaId);
  if (!persona) throw personaNotFound();
  const gate = await admit(deps, caller, persona.id);
  const via = input.via ?? "POST /api/messages/{id}/retry";
  const stored = await deps.db.transaction(async (tx) => {
    const conversation = await findConversation(tx, caller, target.conversationId, true);
    checkConversation(conversation, caller, persona.id);
    const [userMessage] = await tx
      .update(messages)
      .set({ status: "PENDING" })
      .where(
        and(
          eq(messages.id, target.id),
          eq(messages.workspaceId, caller.workspaceId),
          eq(messages.role, "USER"),
          eq(messages.authorId, caller.userId),
          eq(messages.status, "FAILED"),
        ),
      )
      .returning();
    if (!userMessage) throw notRetryable();
    const chatRunId = newId();
    const [history, attachments] = await Promise.all([
      userMessage.parentId ? branchHistory(tx, target.conversationId, userMessage.parentId) : [],
      // The same files as the first attempt, with fresh 10-minute URLs.
      relayAttachmentsOf(deps, tx, caller.workspaceId, userMessage.id),
      startRun(
        tx,
        caller,
        {
          chatRunId,
          personaId: persona.id,
          conversationId: target.conversationId,
          userMessageId: userMessage.id,
        },
        false,
      ),
      recordAudit(deps, tx, {
        type: "MESSAGE_RETRIED",
        workspaceId: caller.workspaceId,
        actorUserId: caller.userId,
        targetType: "message",
        targetId: userMessage.id,
        data: { via, conversationId: target.conversationId, personaId: persona.id },
      }),
    ]);
    return {
      conversationId: target.conversationId,
      conversationCreated: false,
      userMessage,
      chatRunId,
      attachments,
      history,
    };
  });
  return deliverAndRecord(deps, caller, persona, stored, gate, via);
}

// --- checks -------------------------------------------------------------------------------------------------

type ConversationRow = {
  id: string;
  ownerId: string;
  personaId: string;
  visibility: "PRIVATE" | "SHARED";
  currentLeafId: string | null;
};

async function findConversation(
  db: DbOrTx,
  caller: Caller,
  conversationId: string,
  lock = false,
): Promise<ConversationRow | null> {
  if (!isUuid(conversationId)) return null;
  const query = db
    .select({
      id: conversations.id,
      ownerId: conversations.ownerId,
      personaId: conversations.personaId,
      visibility: conversations.visibility,
      currentLeafId: conversations.currentLeafId,
    })
    .from(conversations)
    .where(
      and(
        eq(conversations.id, conversationId),
        eq(conversations.workspaceId, caller.workspaceId),
        isNull(conversations.deletedAt),
      ),
    );
  const [row] = await (lock ? query.for("no key update") : query);
  return row ?? null;
}

/** 404 unless visible (own, or SHARED in the workspace); 403 for a visible one the caller does not own. */
function checkConversation(conversation: ConversationRow | null, caller: Caller, personaId: string) {
  if (!conversation) throw conversationNotFound();
  if (conversation.ownerId !== caller.userId) {
    if (conversation.visibility === "SHARED") {
      throw new ApiError("FORBIDDEN", "Only the conversation's owner can chat in it.");
    }
    throw conversationNotFound();
  }
  if (conversation.personaId !== personaId) {
    throw new ApiError("PERSONA_MISMATCH", "This conversation belongs to another persona.");
  }
}

const invalidParent = () =>
  new ApiError("VALIDATION_FAILED", "The request is invalid.", {
    errors: [{ path: "parentId", message: "Not a message of this conversation." }],
  });

async function assertMessageOf(db: DbOrTx, conversationId: string, messageId: string) {
  const [row] = await db
    .select({ id: messages.id })
    .from(messages)
    .where(and(eq(messages.conversationId, conversationId), eq(messages.id, messageId)))
    .limit(1);
  if (!row) throw invalidParent();
}

const notRetryable = () => new ApiError("NOT_RETRYABLE", "Only your own FAILED messages can be retried.");

async function findMessageForRetry(db: DbOrTx, caller: Caller, messageId: string) {
  if (!isUuid(messageId)) throw new ApiError("NOT_FOUND", "No such message.");
  const [row] = await db
    .select({
      id: messages.id,
      conversationId: messages.conversationId,
      role: messages.role,
      status: messages.status,
      authorId: messages.authorId,
      ownerId: conversations.ownerId,
      visibility: conversations.visibility,
      personaId: conversations.personaId,
    })
    .from(messages)
    .innerJoin(
      conversations,
      and(eq(conversations.id, messages.conversationId), eq(conversations.workspaceId, messages.workspaceId)),
    )
    .where(
      and(
        eq(messages.id, messageId),
        eq(messages.workspaceId, caller.workspaceId),
        isNull(conversations.deletedAt),
      ),
    )
    .limit(1);
  if (!row || (row.ownerId !== caller.userId && row.visibility !== "SHARED")) {
    throw new ApiError("NOT_FOUND", "No such message.");
  }
  if (row.role !== "USER" || row.authorId !== caller.userId || row.status !== "FAILED") throw notRetryable();
  return row;
}

// --- admission ----------------------------------------------------------------------------------------------

type Gate = { reachable: boolean; probeLease: string | null };

const personaGate = (deps: Pick<Deps, "env">, personaId: string) =>
  deps.env.PERSONA_GATE.get(deps.env.PERSONA_GATE.idFromName(personaId));

/**
 * CHAT_USER, then the PersonaGate (window + breaker). Refusals throw 429 / 503 with Retry-After before
 * anything is stored. Like the other rate limits (src/core/rate-limit.ts), an unreachable gate fails open
 * with an error log: it bounds load on the customer's webhook, it does not guard data.
 */
async function admit(deps: Deps, caller: Caller, personaId: string): Promise<Gate> {
  await enforceRateLimit(deps, "CHAT_USER", caller.userId);
  const leaseSeconds = Math.ceil(deps.config.WEBHOOK_TIMEOUT_MS / 1000) + PROBE_LEASE_MARGIN_SECONDS;
  let admission: Awaited<ReturnType<ReturnType<typeof personaGate>["admit"]>>;
  try {
    admission = await personaGate(deps, personaId).admit(deps.config.rateLimits.CHAT_PERSONA, leaseSeconds);
  } catch (error) {
    deps.log.error("persona gate unavailable; failing open", { personaId, ...errorFields(error) });
    return { reachable: false, probeLease: null };
  }
  if (admission.allowed) return { reachable: true, probeLease: admission.probeLease };
  const headers = { "Retry-After": String(admission.retryAfterSeconds) };
  if (admission.reason === "RATE_LIMITED") {
    throw new ApiError(
      "RATE_LIMITED",
      `This persona is receiving too many messages. Retry in ${admission.retryAfterSeconds} seconds.`,
      { headers },
    );
  }
  throw new ApiError(
    "PERSONA_UNAVAILABLE",
    `This persona is paused after repeated failures. Retry in ${admission.retryAfterSeconds} seconds.`,
    { headers },
  );
}

// --- store helpers ------------------------------------------------------------------------------------------

/**
 * Inserts the PENDING run and moves the leaf to the user message (counted when new). The two statements are
 * independent, so they are issued together (pipelined on the transaction's connection).
 */
async function startRun(
  tx: Transaction,
  caller: Caller,
  run: { chatRunId: string; personaId: string; conversationId: string; userMessageId: string },
  newMessage: boolean,
): Promise<void> {
  await Promise.all([
    tx.insert(chatRuns).values({
      id: run.chatRunId,
      workspaceId: caller.workspaceId,
      conversationId: run.conversationId,
      personaId: run.personaId,
      userMessageId: run.userMessageId,
      status: "PENDING",
    }),
    // A retry re-sends an existing message: only new messages are counted.
    tx
      .update(conversations)
      .set({
        currentLeafId: run.userMessageId,
        lastMessageAt: sql`now()`,
        ...(newMessage ? { messageCount: sql`${conversations.messageCount} + 1` } : {}),
      })
      .where(eq(conversations.id, run.conversationId)),
  ]);
}

type HistoryItem = { role: "user" | "assistant"; content: string };

/** The last HISTORY_LENGTH messages of the branch ending at `leafId` (inclusive), oldest first. */
async function branchHistory(tx: DbOrTx, conversationId: string, leafId: string): Promise<HistoryItem[]> {
  const rows = await rawRows<{ role: "USER" | "ASSISTANT"; content: string }>(
    tx,
    sql`
    WITH RECURSIVE branch AS (
      SELECT id, parent_id, role, content, 1 AS depth
        FROM ${messages} WHERE conversation_id = ${conversationId} AND id = ${leafId}
      UNION ALL
      SELECT m.id, m.parent_id, m.role, m.content, b.depth + 1
        FROM ${messages} m JOIN branch b ON m.id = b.parent_id AND m.conversation_id = ${conversationId}
       WHERE b.depth < ${HISTORY_LENGTH}
    )
    SELECT role, content FROM branch ORDER BY depth DESC`,
  );
  return rows.map((row) => ({
    role: row.role === "USER" ? "user" : "assistant",
    content: row.content,
  }));
}

// --- delivery and bookkeeping -------------------------------------------------------------------------------

type Stored = StoredChat & { attachments: RelayAttachment[]; history: HistoryItem[] };

/**
 * Calls the webhook and records the outcome as one `waitUntil` task; answers with the reply or the 502/504
 * of the status table (the user message is kept and named in the body).
 */
async function deliverAndRecord(
  deps: Deps,
  caller: Caller,
  persona: Persona,
  stored: Stored,
  gate: Gate,
  via: string,
): Promise<ChatResponseDto> {
  const task = (async () => {
    const outcome = await callWebhook(deps, caller, persona, stored);
    const [recorded] = await Promise.all([
      recordOutcome(deps, caller, persona, stored, outcome, via),
      reportToGate(deps, persona, outcome.ok, gate),
    ]);
    return { outcome, assistant: recorded };
  })();
  deps.waitUntil(
    task.catch((error) =>
      deps.log.error("relay bookkeeping failed", { personaId: persona.id, ...errorFields(error) }),
    ),
  );
  const { outcome, assistant } = await task;
  const ids = { conversationId: stored.conversationId, userMessageId: stored.userMessage.id };
  if (outcome.ok && assistant) {
    return {
      conversationId: stored.conversationId,
      userMessage: toMessageDto({ ...stored.userMessage, status: "COMPLETE" }),
      assistantMessage: toMessageDto(assistant),
    };
  }
  if (!outcome.ok && outcome.status === "FAILED") {
    throw new ApiError(
      "PERSONA_RELAY_FAILED",
      "The persona could not answer. Your message was kept; retry it.",
      {
        extra: ids,
      },
    );
  }
  throw new ApiError(
    "PERSONA_TIMEOUT",
    "The persona did not answer in time. Your message was kept; retry it.",
    {
      extra: ids,
    },
  );
}

async function callWebhook(
  deps: Deps,
  caller: Caller,
  persona: Persona,
  stored: Stored,
): Promise<DeliveryOutcome> {
  const key = deps.config.ENCRYPTION_KEY;
  let url: string;
  let secret: Uint8Array<ArrayBuffer> | null;
  try {
    [url, secret] = await Promise.all([
      decrypt(key, "webhook-url", persona.webhookUrlEncrypted, persona.id),
      decrypt(key, "webhook-secret", persona.webhookSecretEncrypted, persona.id).then(decodeWebhookSecret),
    ]);
  } catch (error) {
    deps.log.error("persona webhook settings cannot be decrypted", {
      personaId: persona.id,
      ...errorFields(error),
    });
    secret = null;
    url = "";
  }
  if (!secret) return { ok: false, status: "FAILED", errorClass: "CONFIG", attempts: 0, latencyMs: 0 };
  const body = JSON.stringify({
    message: stored.userMessage.content,
    conversationId: stored.conversationId,
    messageId: stored.userMessage.id,
    personaId: persona.id,
    userId: caller.userId,
    workspaceId: caller.workspaceId,
    history: stored.history,
    attachments: stored.attachments,
  });
  return deliverWebhook({
    url,
    secret,
    webhookId: `msg_${stored.chatRunId}`,
    idempotencyKey: stored.userMessage.id,
    body,
    deadlineMs: deps.config.WEBHOOK_TIMEOUT_MS,
    policy: outboundPolicy(deps.config),
  });
}

/**
 * Stores the outcome in ONE statement (data-modifying CTEs, atomic without BEGIN/COMMIT — one round trip on the
 * answer's path instead of about eight): the assistant message under the user message, the user message's
 * status, the leaf (moved to the reply only if it still points at the user message — a newer message in a
 * parallel chat keeps its place), counters and title, the run and the WEBHOOK_* audit. Every part hangs off
 * the `run` CTE, which only matches a run still PENDING: a reply later than the chat-runs job's TIMEOUT
 * changes nothing. Returns the stored assistant message (null on failure or when too late).
 */
async function recordOutcome(
  deps: Deps,
  caller: Caller,
  persona: Persona,
  stored: Stored,
  outcome: DeliveryOutcome,
  via: string,
): Promise<Message | null> {
  const userMessageId = stored.userMessage.id;
  const reply = outcome.ok ? { id: newId(), content: outcome.reply, title: outcome.title ?? null } : null;
  const audit = auditInsertFrom(
    deps,
    {
      type: outcome.ok ? "WEBHOOK_SUCCESS" : "WEBHOOK_FAILED",
      workspaceId: caller.workspaceId,
      actorUserId: caller.userId,
      targetType: "persona",
      targetId: persona.id,
      data: {
        via,
        chatRunId: stored.chatRunId,
        conversationId: stored.conversationId,
        messageId: userMessageId,
        attempts: outcome.attempts,
        latencyMs: outcome.latencyMs,
        ...(outcome.ok ? {} : { status: outcome.status, errorClass: outcome.errorClass }),
      },
    },
    sql`run`,
  );
  const rows = await rawRows<{ created_at: Date | string }>(
    deps.db,
    sql`
    WITH run AS (
      UPDATE chat_runs
         SET status = ${outcome.ok ? "SUCCEEDED" : outcome.status}::chat_run_status,
             attempts = ${outcome.attempts}::int, latency_ms = ${outcome.latencyMs}::int,
             error_class = ${outcome.ok ? null : outcome.errorClass}::text, finished_at = now()
       WHERE id = ${stored.chatRunId}::uuid AND status = 'PENDING'
      RETURNING id
    ), user_message AS (
      UPDATE messages SET status = ${outcome.ok ? "COMPLETE" : "FAILED"}::message_status
        FROM run
       WHERE messages.id = ${userMessageId}::uuid AND messages.status = 'PENDING'
    ), reply AS (
      INSERT INTO messages (id, workspace_id, conversation_id, parent_id, role, content, status, persona_version)
      SELECT ${reply?.id ?? null}::uuid, ${caller.workspaceId}::uuid, ${stored.conversationId}::uuid,
             ${userMessageId}::uuid, 'ASSISTANT', ${reply?.content ?? null}::text, 'COMPLETE',
             ${persona.version}::int
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
       WHERE conversations.id = ${stored.conversationId}::uuid
    ), audit AS (${audit})
    SELECT created_at FROM reply`,
  );
  const [row] = rows;
  if (!reply || !row) return null;
  return {
    id: reply.id,
    workspaceId: caller.workspaceId,
    conversationId: stored.conversationId,
    parentId: userMessageId,
    role: "ASSISTANT",
    authorId: null,
    content: reply.content,
    status: "COMPLETE",
    personaVersion: persona.version,
    createdAt: rowDate(row.created_at),
  };
}

/**
 * Reports the outcome to the PersonaGate and mirrors its `openUntil` into personas.breaker_open_until (only
 * when it differs from what was read, so the common path writes nothing). Errors are logged, not thrown:
 * a lost report only delays the breaker; a lost probe lease expires by alarm.
 */
async function reportToGate(deps: Deps, persona: Persona, success: boolean, gate: Gate): Promise<void> {
  if (!gate.reachable) return;
  try {
    const status = await personaGate(deps, persona.id).report(
      { success, probeLease: gate.probeLease },
      deps.config.BREAKER_OPEN_SECONDS,
    );
    const openUntil = status.openUntil ? new Date(status.openUntil) : null;
    if ((persona.breakerOpenUntil?.getTime() ?? null) !== (openUntil?.getTime() ?? null)) {
      // Raw SQL on purpose: the mirror is bookkeeping, not an edit (updated_at stays).
      await deps.db.execute(
        sql`UPDATE personas SET breaker_open_until = ${openUntil?.toISOString() ?? null}::timestamptz
            WHERE id = ${persona.id}`,
      );
    }
  } catch (error) {
    deps.log.error("persona gate report failed", { personaId: persona.id, ...errorFields(error) });
  }
}

export function toMessageDto(message: Message): ChatMessageDto {
  return {
    id: message.id,
    conversationId: message.conversationId,
    parentId: message.parentId,
    role: message.role,
    content: message.content,
    status: message.status,
    authorId: message.authorId,
    personaVersion: message.personaVersion,
    createdAt: message.createdAt.toISOString(),
  };
}
