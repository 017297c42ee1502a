import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../core/errors";
import { AUTHENTICATED_ERRORS, adminOnly, bearerSecurity, errorResponses } from "../../core/openapi";
import {
  requireAdmin,
  requireAuth,
  requireAuthForRead,
  requireAuthForWrite,
  requireCaller,
} from "../../middleware/auth";
import {
  CreatePersonaBody,
  DeliveriesQuery,
  DeliveriesSchema,
  FavouriteSchema,
  PersonaIdParam,
  PersonaListQuery,
  PersonaListSchema,
  PersonaSchema,
  PersonaWithSecretSchema,
  UpdatePersonaBody,
} from "./personas.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

/**
 * After `requireAuth` or `requireAuthForWrite`: workspace ADMINs and platform admins may manage personas (the
 * service then checks the scope: global personas need a platform admin). Everyone else is refused with 403,
 * whatever the body, and nothing commits.
 */
export const requirePersonaManager = requireCaller((auth) => {
  if (auth.role !== "ADMIN" && !auth.isPlatformAdmin) {
    throw new ApiError("FORBIDDEN", "Only administrators manage personas.");
  }
});

export const listPersonas = createRoute({
  method: "get",
  path: "/api/personas",
  tags: ["Personas"],
  operationId: "listPersonas",
  summary: "List personas",
  description:
    "Active global personas and the caller's workspace's, by name, each with `isFavourite` and `isAvailable` " +
    "(false while its circuit breaker is open). `favouritesOnly=true` keeps the caller's favourites. Never " +
    "the webhook URL or secret.",
  security: bearerSecurity,
  middleware: [requireAuthForRead] as const,
  request: { query: PersonaListQuery },
  responses: {
    200: { description: "A page of personas", content: json(PersonaListSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED", "NOT_FOUND"),
  },
});

export const getPersona = createRoute({
  method: "get",
  path: "/api/personas/{id}",
  tags: ["Personas"],
  operationId: "getPersona",
  summary: "Persona details",
  description: "A deactivated persona, or one of another workspace, is 404 like an unknown id.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { params: PersonaIdParam },
  responses: {
    200: { description: "The persona", content: json(PersonaSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND"),
  },
});

export const toggleFavourite = createRoute({
  method: "post",
  path: "/api/personas/{id}/favourite",
  tags: ["Personas"],
  operationId: "togglePersonaFavourite",
  summary: "Toggle favourite",
  description:
    "Adds the persona to the caller's favourites, or removes it. Audited as PERSONA_(UN)FAVOURITED.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite] as const,
  request: { params: PersonaIdParam },
  responses: {
    200: { description: "The new state", content: json(FavouriteSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND", "WORKSPACE_PENDING_DELETION"),
  },
});

export const createPersona = createRoute({
  method: "post",
  path: "/api/personas",
  tags: ["Personas"],
  operationId: "createPersona",
  summary: "Create a persona",
  description:
    "`scope: workspace` (workspace ADMIN; at most 50 active personas per workspace) or `scope: global` " +
    "(platform admin). The webhook URL must be https on port 443 with a public DNS name. The secret is " +
    "`whsec_` + base64 of 24–64 bytes; when omitted one is generated and returned in `webhookSecret` — " +
    "this once only. URL and secret are stored encrypted and never returned.",
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuthForWrite, requirePersonaManager] as const,
  request: { body: { required: true, content: json(CreatePersonaBody) } },
  responses: {
    201: { description: "Created", content: json(PersonaWithSecretSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "FORBIDDEN",
      "CONFLICT",
      "PERSONA_LIMIT_REACHED",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

export const updatePersona = createRoute({
  method: "patch",
  path: "/api/personas/{id}",
  tags: ["Personas"],
  operationId: "updatePersona",
  summary: "Update a persona",
  description:
    "Workspace personas: their workspace's ADMIN; global personas: platform admins. Profile or traits " +
    "changes bump `version`. `rotateWebhookSecret: true` generates a new secret, returned once.",
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuthForWrite, requirePersonaManager] as const,
  request: { params: PersonaIdParam, body: { required: true, content: json(UpdatePersonaBody) } },
  responses: {
    200: { description: "The updated persona", content: json(PersonaWithSecretSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "FORBIDDEN",
      "NOT_FOUND",
      "CONFLICT",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

export const deletePersona = createRoute({
  method: "delete",
  path: "/api/personas/{id}",
  tags: ["Personas"],
  operationId: "deactivatePersona",
  summary: "Deactivate a persona",
  description:
    "Deactivates: the persona disappears from the catalogue and answers 404 everywhere; its conversations " +
    "keep their history. Same roles as PATCH.",
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuthForWrite, requirePersonaManager] as const,
  request: { params: PersonaIdParam },
  responses: {
    204: { description: "Deactivated" },
    ...errorResponses(...AUTHENTICATED_ERRORS, "FORBIDDEN", "NOT_FOUND", "WORKSPACE_PENDING_DELETION"),
  },
});

export const listDeliveries = createRoute({
  method: "get",
  path: "/api/personas/{id}/deliveries",
  tags: ["Personas"],
  operationId: "listPersonaDeliveries",
  summary: "Recent relays of a persona",
  description:
    "The caller's workspace's chat runs for this persona, newest first (status, attempts, latency, error " +
    "class — never a body or URL), and the circuit breaker's state.",
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuthForRead, requireAdmin] as const,
  request: { params: PersonaIdParam, query: DeliveriesQuery },
  responses: {
    200: { description: "Runs and breaker", content: json(DeliveriesSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED", "FORBIDDEN", "NOT_FOUND"),
  },
});
