import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, adminOnly, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import { AuditEventListSchema, ListAuditEventsQuery } from "./audit.schemas";

export const listAuditEvents = createRoute({
  method: "get",
  path: "/api/admin/audit-events",
  tags: ["Admin"],
  operationId: "listAuditEvents",
  summary: "Audit trail of my workspace",
  description:
    "Events of the caller's workspace only, newest first, filtered by `type`, `actor` (user id) and a time " +
    "range (`from` inclusive, `to` exclusive), paged with an opaque keyset cursor. `format=ndjson` streams " +
    "every matching event instead (application/x-ndjson, one event per line, as an attachment), read in " +
    "batches so exports of any size never sit in memory.",
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuth, requireAdmin] as const,
  request: { query: ListAuditEventsQuery },
  responses: {
    200: {
      description: "A page of events, or the NDJSON export",
      content: {
        "application/json": { schema: AuditEventListSchema },
        "application/x-ndjson": {
          schema: { type: "string", description: "One AuditEvent JSON object per line" },
        },
      },
    },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED", "FORBIDDEN"),
  },
});
