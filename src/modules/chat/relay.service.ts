/**
 * The chat relay (API.md "Outbound relay", status table): check → admit → store → call the persona webhook →
 * record. Round trips to Postgres (README "Round trips"): two before the webhook is called, one after.
 *
 * 1. The turn's reads (turns.ts), issued together in a transaction that the session check's flight opens
 *    (requireAuthForWrite): persona, conversation (locked, so parallel chats append in order), parent and
 *    history, files. Checked in the documented order; a refusal stores nothing and spends no limit.
 * 2. Once the session check passed: CHAT_USER, then the persona's PersonaGate (relay-gate.ts) → 429 / 503 with
 *    Retry-After. Durable Object calls, not database round trips; the transaction stays open meanwhile.
 * 3. The USER message (PENDING), the PENDING run, the leaf move, attachments and audits travel with COMMIT:
 *    the second round trip. No transaction is open while the webhook works.
 * 4. The webhook call (relay-webhook.ts) and the bookkeeping (one statement, conversations/store/chat.ts; the
 *    gate's report) run as one task handed to `waitUntil`, so they finish even if the client goes away; the
 *    request awaits the same task for its answer.
 */
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { newId } from "../../core/ids";
import { errorFields } from "../../core/logger";
import { lastStatements } from "../../db/client";
import { rowDate } from "../../db/raw";
import type { Message, Persona } from "../../db/schema";
import type { PendingCaller } from "../../middleware/auth";
import { toMessageDto } from "../conversations/store/branch";
import { recordTurnOutcome } from "../conversations/store/chat";
import type { ChatMessageDto, ChatResponseDto } from "./chat.schemas";
import { admit, type Gate, releaseGate, reportToGate } from "./relay-gate";
import { callWebhook, type RelayPayload } from "./relay-webhook";
import { type CheckedTurn, checkTurn, type Turn } from "./turns";
import type { DeliveryOutcome } from "./webhook-client";

export type { Turn } from "./turns";

/** Relays a turn (chat, edit or retry) and answers with the stored message and the persona's reply. */
export async function relayTurn(deps: Deps, caller: PendingCaller, turn: Turn): Promise<ChatResponseDto> {
  let admitted: { persona: Persona; gate: Gate } | undefined;
  let stored: { checked: CheckedTurn; gate: Gate; chatRunId: string; userMessage: Message };
  try {
    const pending = await deps.db.transaction(async (tx) => {
      const checked = await checkTurn(deps, tx, caller, turn);
      // Nothing outside the database before the session check has passed (it answered in the same flight).
      const auth = await caller.authorized();
      const gate = await admit(deps, auth, checked.persona);
      admitted = { persona: checked.persona, gate };
      const { chatRunId, statements, messageAt } = checked.statements(tx);
      return { checked, gate, chatRunId, messageAt, last: lastStatements(tx, statements) };
    });
    const results = await pending.last.results;
    const [userMessage] = results[pending.messageAt] as Message[];
    // A retry whose message was no longer FAILED (it is locked from the first read on: cannot happen).
    if (!userMessage) throw new ApiError("NOT_RETRYABLE", "Only your own FAILED messages can be retried.");
    stored = { ...pending, userMessage };
  } catch (error) {
    // Admitted but not stored: the chat will not be relayed, so its place in the windows (and a probe's
    // lease and shared slot) go back now rather than when they expire.
    if (admitted) await releaseGate(deps, admitted.persona, admitted.gate);
    throw error;
  }
  const { userMessage } = stored;
  return deliverAndRecord(deps, caller, stored.checked, stored.gate, {
    chatRunId: stored.chatRunId,
    conversationId: stored.checked.conversationId,
    userMessage,
    userId: caller.userId,
    workspaceId: caller.workspaceId,
    history: stored.checked.history,
    attachments: stored.checked.attachments,
  });
}

type Stored = RelayPayload & { userMessage: Message };

/**
 * Calls the webhook and records the outcome as one `waitUntil` task; answers with the reply or the 502/504
 * of the status table (the user message is kept and named in the body).
 */
async function deliverAndRecord(
  deps: Deps,
  caller: PendingCaller,
  turn: CheckedTurn,
  gate: Awaited<ReturnType<typeof admit>>,
  stored: Stored,
): Promise<ChatResponseDto> {
  const { persona } = turn;
  const task = (async () => {
    const outcome = await callWebhook(deps, persona, stored);
    const [recorded] = await Promise.all([
      recordOutcome(deps, caller, persona, stored, outcome, turn.via),
      reportToGate(deps, persona, caller.workspaceId, outcome, gate),
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
      userMessage: toChatMessageDto({ ...stored.userMessage, status: "COMPLETE" }),
      assistantMessage: toChatMessageDto(assistant),
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

/** Stores the outcome (one statement); the stored assistant message, or null on failure or when too late. */
async function recordOutcome(
  deps: Deps,
  caller: PendingCaller,
  persona: Persona,
  stored: Stored,
  outcome: DeliveryOutcome,
  via: string,
): Promise<Message | null> {
  const userMessageId = stored.userMessage.id;
  const reply = outcome.ok ? { id: newId(), content: outcome.reply, title: outcome.title ?? null } : null;
  const row = await recordTurnOutcome(deps, deps.db, caller, {
    chatRunId: stored.chatRunId,
    conversationId: stored.conversationId,
    userMessageId,
    personaVersion: persona.version,
    runStatus: outcome.ok ? "SUCCEEDED" : outcome.status,
    attempts: outcome.attempts,
    latencyMs: outcome.latencyMs,
    errorClass: outcome.ok ? null : outcome.errorClass,
    reply,
    audit: {
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
  });
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

/** A chat answer's message: the store's message DTO with its conversation. */
const toChatMessageDto = (message: Message): ChatMessageDto => ({
  ...toMessageDto(message),
  conversationId: message.conversationId,
});
