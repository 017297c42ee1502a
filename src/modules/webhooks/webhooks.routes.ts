import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../core/app-env";
import { errorResponses } from "../../core/openapi";
import { requireAuth } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { TraitsBody, TraitsHeaders, TraitsUpdatedSchema, WebhooksHealthSchema } from "./webhooks.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

/** Runs `requireAuth` only when an Authorization header is present; otherwise the route checks a signature. */
const optionalBearer = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.header("Authorization") === undefined) await next();
  else await requireAuth(c, next);
});

export const webhooksHealth = createRoute({
  method: "get",
  path: "/api/webhooks/health",
  tags: ["Webhooks"],
  operationId: "getWebhooksHealth",
  summary: "Persona webhook health",
  description:
    "Counts only: how many personas have an open circuit breaker. Public. With a bearer token it is the " +
    "caller's workspace's view: its own personas, and the global personas as its workspace sees them (a " +
    "global persona has one breaker per workspace, so one tenant's failures do not mark it down for all). " +
    "Without one it counts the workspace personas' breakers of every workspace, and no global persona.",
  security: [{} as Record<string, string[]>, { bearerAuth: [] }],
  middleware: [optionalBearer] as const,
  responses: {
    200: { description: "Counts", content: json(WebhooksHealthSchema) },
    ...errorResponses("UNAUTHENTICATED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});

export const updateTraits = createRoute({
  method: "post",
  path: "/api/webhooks/traits",
  tags: ["Webhooks"],
  operationId: "updatePersonaTraits",
  summary: "Update a persona's traits",
  description:
    "Authenticated EITHER by Standard Webhooks headers (`webhook-id`, `webhook-timestamp` within 5 minutes, " +
    "`webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>` keyed with the persona's own " +
    "`whsec_` secret; a webhook-id is accepted once) OR by a bearer token of an ADMIN of the persona's " +
    "workspace (platform admin for a global persona). The persona is named by exactly one of `personaName`, " +
    "`personaId`, `slug`: no editable match → 404, several → 409 AMBIGUOUS_PERSONA. A signed request " +
    "resolves to the persona whose secret verifies it. Bumps the persona's version. At most 60 requests per " +
    "minute and IP (429, before any lookup); failed signatures are audited once per persona and minute.",
  // Bearer, or none (the Standard Webhooks headers below).
  security: [{ bearerAuth: [] }, {} as Record<string, string[]>],
  // Public: 60 per minute and IP before any persona is looked up (a signed attempt decrypts and HMACs up to
  // 50 secrets), bearer or not.
  middleware: [rateLimit("TRAITS_IP", (c) => c.var.clientIp), optionalBearer] as const,
  request: {
    headers: TraitsHeaders,
    body: { required: true, content: json(TraitsBody) },
  },
  responses: {
    200: { description: "Updated", content: json(TraitsUpdatedSchema) },
    ...errorResponses(
      "UNAUTHENTICATED",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
      "VALIDATION_FAILED",
      "FORBIDDEN",
      "NOT_FOUND",
      "AMBIGUOUS_PERSONA",
      "CONFLICT",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});
