/**
 * The relay's webhook call: the persona's URL and secret decrypted, the payload of API.md "Outbound relay",
 * delivered signed with one deadline including retries (webhook-client.ts).
 */
import { decrypt } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { errorFields } from "../../core/logger";
import type { Persona } from "../../db/schema";
import type { HistoryItem } from "../conversations/store/chat";
import type { RelayAttachment } from "../files/files.service";
import { outboundPolicy } from "../personas/personas.service";
import { decodeWebhookSecret } from "../webhooks/standard-webhooks";
import { type DeliveryOutcome, deliverWebhook } from "./webhook-client";

/** What the webhook is told about the turn. */
export type RelayPayload = {
  chatRunId: string;
  conversationId: string;
  userMessage: { id: string; content: string };
  userId: string;
  workspaceId: string;
  history: HistoryItem[];
  attachments: RelayAttachment[];
};

export async function callWebhook(
  deps: Deps,
  persona: Persona,
  stored: RelayPayload,
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
    userId: stored.userId,
    workspaceId: stored.workspaceId,
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
