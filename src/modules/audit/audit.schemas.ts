import { z } from "@hono/zod-openapi";
import { ACTOR_TYPES } from "../../db/schema";
import { AUDIT_EVENTS } from "./audit.service";

const isoInstant = z.iso.datetime({ offset: true });

/** GET /api/admin/audit-events. Strict: unknown parameters are 400 like unknown body fields. */
export const ListAuditEventsQuery = z
  .strictObject({
    type: z.enum(AUDIT_EVENTS).optional().openapi({ example: "LOGIN_SUCCESS" }),
    actor: z.uuid().optional().openapi({
      description: "Only events whose actor is this user",
      example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10",
    }),
    from: isoInstant.optional().openapi({
      description: "Only events at or after this instant (ISO 8601)",
      example: "2026-01-01T00:00:00Z",
    }),
    to: isoInstant.optional().openapi({
      description: "Only events before this instant (ISO 8601, exclusive)",
      example: "2026-02-01T00:00:00Z",
    }),
    limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
    cursor: z
      .string()
      .max(200)
      .optional()
      .openapi({ description: "`nextCursor` of the previous page (same filters)" }),
    format: z
      .enum(["json", "ndjson"])
      .default("json")
      .openapi({
        description:
          "`ndjson` streams every event matching the filters (newest first) as application/x-ndjson, one " +
          "event per line; `limit` and `cursor` are then ignored",
        example: "json",
      }),
  })
  .refine((q) => !q.from || !q.to || Date.parse(q.from) <= Date.parse(q.to), {
    message: "`from` must not be after `to`",
    path: ["from"],
  })
  .openapi("ListAuditEventsQuery");
export type ListAuditEventsInput = z.infer<typeof ListAuditEventsQuery>;

/** One audit event: exactly the row's recorded fields, nothing joined in. */
export const AuditEventSchema = z
  .object({
    id: z.uuid().openapi({ example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
    workspaceId: z.uuid().nullable(),
    type: z.string().openapi({ example: "LOGIN_SUCCESS" }),
    actorType: z.enum(ACTOR_TYPES).openapi({ example: "USER" }),
    actorUserId: z.uuid().nullable().openapi({ description: "null for anonymous, system or purged actors" }),
    targetType: z.string().nullable().openapi({ example: "user" }),
    targetId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).openapi({
      description: "Event details; never tokens, passwords or message content",
      example: { via: "PUT /api/users/me", fields: ["name"] },
    }),
    ip: z.string().nullable().openapi({ example: "203.0.113.7" }),
    userAgent: z.string().nullable(),
    traceId: z.string().nullable(),
    createdAt: z.iso.datetime().openapi({ example: "2026-01-15T09:30:00.000Z" }),
  })
  .openapi("AuditEvent");
export type AuditEventDto = z.infer<typeof AuditEventSchema>;

export const AuditEventListSchema = z
  .object({
    items: z.array(AuditEventSchema),
    nextCursor: z.string().nullable().openapi({ description: "null on the last page" }),
  })
  .openapi("AuditEventList");
