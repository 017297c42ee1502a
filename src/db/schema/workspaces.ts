import { sql } from "drizzle-orm";
import { type AnyPgColumn, check, index, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { joinPolicy, workspaceKind, workspaceStatus } from "./enums";
import { users } from "./users";

/** The tenant. Every tenant-owned row references it and goes with it when it is purged (ON DELETE CASCADE). */
export const workspaces = pgTable(
  "workspaces",
  {
    id: id(),
    name: text("name").notNull(),
    /** Lower-case email domain of a CORPORATE workspace; NULL for PERSONAL ones (gmail users never share). */
    domain: text("domain"),
    kind: workspaceKind("kind").notNull(),
    joinPolicy: joinPolicy("join_policy").notNull().default("AUTO"),
    timezone: text("timezone").notNull().default("UTC"),
    locale: text("locale").notNull().default("en"),
    status: workspaceStatus("status").notNull().default("ACTIVE"),
    deletionRequestedAt: timestamptz("deletion_requested_at"),
    // Plain FK: the requester may be purged before the workspace; the request itself stays recorded.
    deletionRequestedBy: uuid("deletion_requested_by").references((): AnyPgColumn => users.id, {
      onDelete: "set null",
    }),
    deletionReason: text("deletion_reason"),
    purgeAfter: timestamptz("purge_after"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // NULLs stay distinct: any number of PERSONAL workspaces, one CORPORATE workspace per domain.
    unique("workspaces_domain_key").on(t.domain),
    check("workspaces_domain_lower_ck", sql`${t.domain} = lower(${t.domain})`),
    check("workspaces_domain_kind_ck", sql`(${t.domain} IS NULL) = (${t.kind} = 'PERSONAL')`),
    check("workspaces_purge_after_ck", sql`${t.status} <> 'PENDING_DELETION' OR ${t.purgeAfter} IS NOT NULL`),
    // workspace-purge job
    index("workspaces_purge_idx").on(t.purgeAfter).where(sql`${t.status} = 'PENDING_DELETION'`),
    // keeps the SET NULL of a user purge from scanning every workspace
    index("workspaces_deletion_requested_by_idx")
      .on(t.deletionRequestedBy)
      .where(sql`${t.deletionRequestedBy} IS NOT NULL`),
  ],
);

export type Workspace = typeof workspaces.$inferSelect;
export type NewWorkspace = typeof workspaces.$inferInsert;
