import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth } from "../../middleware/auth";
import { ChangePasswordBody, MessageSchema } from "../auth/auth.schemas";

export const changePassword = createRoute({
  method: "put",
  path: "/api/users/me/password",
  tags: ["Users"],
  operationId: "changeMyPassword",
  summary: "Change my password",
  description:
    "Needs the current password (Google-only accounts setting a first password: a sign-in at most 5 minutes " +
    "old). Wrong current passwords count towards the login lockout. Every other session is revoked and a " +
    "notice is mailed.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: { "application/json": { schema: ChangePasswordBody } } } },
  responses: {
    200: { description: "Changed", content: { "application/json": { schema: MessageSchema } } },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "REAUTH_REQUIRED",
      "INVALID_CREDENTIALS",
      "ACCOUNT_LOCKED",
      "WEAK_PASSWORD",
      "BREACHED_PASSWORD",
    ),
  },
});
