import { sql } from "drizzle-orm";
import { check, foreignKey, index, pgTable, text, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz } from "./columns";
import { userRole } from "./enums";
import { users } from "./users";
import { workspaces } from "./workspaces";

export const invitations = pgTable(
  "invitations",
  {
    id: id(),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    role: userRole("role").notNull().default("MEMBER"),
    /** SHA-256 of the invitation token; the token itself is only mailed. */
    tokenHash: text("token_hash").notNull(),
    invitedBy: uuid("invited_by").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
    acceptedAt: timestamptz("accepted_at"),
    revokedAt: timestamptz("revoked_at"),
    createdAt: createdAt(),
  },
  (t) => [
    // CASCADE: invitations are not history (audit_events is); a purged inviter's invitations are void.
    foreignKey({
      name: "invitations_invited_by_fk",
      columns: [t.workspaceId, t.invitedBy],
      foreignColumns: [users.workspaceId, users.id],
    }).onDelete("cascade"),
    unique("invitations_token_hash_key").on(t.tokenHash),
    // One open invitation per address and workspace. An expired one still counts until it is revoked or the
    // tokens job deletes it, so re-inviting revokes (or refreshes) the old row first.
    uniqueIndex("invitations_pending_email_key")
      .on(t.workspaceId, t.email)
      .where(sql`${t.acceptedAt} IS NULL AND ${t.revokedAt} IS NULL`),
    check("invitations_email_lower_ck", sql`${t.email} = lower(${t.email})`),
    check("invitations_closed_once_ck", sql`${t.acceptedAt} IS NULL OR ${t.revokedAt} IS NULL`),
    index("invitations_workspace_created_idx").on(t.workspaceId, t.createdAt),
    // tokens job
    index("invitations_expires_idx").on(t.expiresAt),
  ],
);

export type Invitation = typeof invitations.$inferSelect;
export type NewInvitation = typeof invitations.$inferInsert;
