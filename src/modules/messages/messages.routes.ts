import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth } from "../../middleware/auth";
import { MessageIdParam, ReactionBody, ReactionStateSchema } from "./messages.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const authed = { tags: ["Messages"], security: bearerSecurity, middleware: [requireAuth] };

export const toggleReaction = createRoute({
  ...authed,
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
