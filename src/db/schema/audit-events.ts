import { sql } from "drizzle-orm";
import { index, inet, jsonb, pgTable, text, uuid } from "drizzle-orm/pg-core";
import { createdAt, id } from "./columns";
import { actorType } from "./enums";
import { users } from "./users";
import { workspaces } from "./workspaces";

export const auditEvents = pgTable(
  "audit_events",
  {
    id: id(),
    /** NULL for platform events (key rotation, global personas, jobs). A purged workspace takes its trail. */
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    // Plain FK with SET NULL: the trail outlives a purged user (a composite FK could not null one column).
    actorUserId: uuid("actor_user_id").references(() => users.id, { onDelete: "set null" }),
    actorType: actorType("actor_type").notNull(),
    eventType: text("event_type").notNull(),
    targetType: text("target_type"),
    targetId: text("target_id"),
    /** Never tokens, passwords, secrets or message content. */
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    ip: inet("ip"),
    userAgent: text("user_agent"),
    traceId: text("trace_id"),
    createdAt: createdAt(),
  },
  (t) => [
    index("audit_events_workspace_created_idx").on(t.workspaceId, t.createdAt.desc(), t.id.desc()),
    index("audit_events_workspace_type_created_idx").on(t.workspaceId, t.eventType, t.createdAt),
    // `actor` filter, and the SET NULL of a user purge without scanning the whole trail
    index("audit_events_actor_created_idx")
      .on(t.actorUserId, t.createdAt)
      .where(sql`${t.actorUserId} IS NOT NULL`),
    // retention job (platform events have no workspace)
    index("audit_events_created_idx").on(t.createdAt),
  ],
);

export type AuditEvent = typeof auditEvents.$inferSelect;
export type NewAuditEvent = typeof auditEvents.$inferInsert;
