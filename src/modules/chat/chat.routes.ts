import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuthForWrite } from "../../middleware/auth";
import { PersonaIdParam } from "../personas/personas.schemas";
import { ChatBody, ChatResponseSchema } from "./chat.schemas";

export const chatWithPersona = createRoute({
  method: "post",
  path: "/api/personas/{id}/chat",
  tags: ["Personas"],
  operationId: "chatWithPersona",
  summary: "Send a message to a persona",
  description:
    "Without `conversationId` a PRIVATE conversation is created; with one, only its owner may chat (403 for " +
    "a SHARED conversation of someone else, 409 PERSONA_MISMATCH for another persona's, 409 " +
    "CONVERSATION_ARCHIVED for an archived one). `parentId` " +
    "defaults to the conversation's current leaf. Limits answer before anything is stored: 30 chats per " +
    "minute per user and 60 per persona (429), an open circuit breaker 503 PERSONA_UNAVAILABLE — both with " +
    "Retry-After. The message is then stored and relayed to the persona's webhook (signed; one deadline " +
    "including retries); the reply moves the conversation's leaf. 502 PERSONA_RELAY_FAILED and 504 " +
    "PERSONA_TIMEOUT keep the user message and carry `conversationId` and `userMessageId`.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite] as const,
  request: {
    params: PersonaIdParam,
    body: { required: true, content: { "application/json": { schema: ChatBody } } },
  },
  responses: {
    200: {
      description: "The stored message and the reply",
      content: { "application/json": { schema: ChatResponseSchema } },
    },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "FORBIDDEN",
      "NOT_FOUND",
      "PERSONA_MISMATCH",
      "CONVERSATION_ARCHIVED",
      "WORKSPACE_PENDING_DELETION",
      "PERSONA_RELAY_FAILED",
      "PERSONA_UNAVAILABLE",
      "PERSONA_TIMEOUT",
    ),
  },
});
