import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth, requireAuthForWrite } from "../../middleware/auth";
import { requireAuthForGuardedWrite } from "../../middleware/guarded-write";
import { ChatResponseSchema } from "../chat/chat.schemas";
import { EditMessageBody, MessageIdParam, ReactionBody, ReactionStateSchema } from "./messages.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const authed = { tags: ["Messages"], security: bearerSecurity, middleware: [requireAuth] };

export const toggleReaction = createRoute({
  ...authed,
  middleware: [requireAuthForGuardedWrite],
  method: "post",
  path: "/api/messages/{id}/reactions",
  operationId: "toggleMessageReaction",
  summary: "Like / dislike a message (toggle)",
  description:
    "For whoever can see the conversation (its owner, or any member when SHARED). The same type again " +
    "removes the reaction, the other type replaces it. Answers the caller's reaction and the counts. " +
    "Audited REACTION_ADDED / REACTION_REMOVED.",
  request: { params: MessageIdParam, body: { required: true, content: json(ReactionBody) } },
  responses: {
    200: { description: "The caller's reaction and the counts", content: json(ReactionStateSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

const RELAY_ERRORS = [
  ...AUTHENTICATED_ERRORS,
  "NOT_FOUND",
  "FORBIDDEN",
  "PERSONA_MISMATCH",
  "CONVERSATION_ARCHIVED",
  "WORKSPACE_PENDING_DELETION",
  "PERSONA_RELAY_FAILED",
  "PERSONA_UNAVAILABLE",
  "PERSONA_TIMEOUT",
] as const;

export const editMessage = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "patch",
  path: "/api/messages/{id}",
  operationId: "editMessage",
  summary: "Edit a message (new branch)",
  description:
    "The author's USER message only, within EDIT_WINDOW_MINUTES of sending (404 unseen · 403 not the author · " +
    "409 NOT_EDITABLE for a reply · 409 EDIT_WINDOW_EXPIRED). Creates a sibling under the same parent (with " +
    "the original's attachments), relays it with that branch's history exactly like chat (same limits and " +
    "failure codes), stores the reply under it and moves the conversation's pointer there; the old branch " +
    "stays intact and reachable through `siblings`. Audited MESSAGE_EDITED.",
  request: { params: MessageIdParam, body: { required: true, content: json(EditMessageBody) } },
  responses: {
    200: { description: "The new message and its reply", content: json(ChatResponseSchema) },
    ...errorResponses(...RELAY_ERRORS, "VALIDATION_FAILED", "NOT_EDITABLE", "EDIT_WINDOW_EXPIRED"),
  },
});

export const retryMessage = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "post",
  path: "/api/messages/{id}/retry",
  operationId: "retryMessage",
  summary: "Retry a failed message",
  description:
    "Re-relays a FAILED USER message of the caller (same message, same Idempotency-Key, a new chat run); " +
    "anything else is 409 NOT_RETRYABLE. Audited MESSAGE_RETRIED.",
  request: { params: MessageIdParam },
  responses: {
    200: { description: "The message and its reply", content: json(ChatResponseSchema) },
    ...errorResponses(...RELAY_ERRORS, "NOT_RETRYABLE"),
  },
});
