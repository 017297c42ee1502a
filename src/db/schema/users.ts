import { sql } from "drizzle-orm";
import {
  type AnyPgColumn,
  check,
  foreignKey,
  index,
  inet,
  integer,
  pgTable,
  primaryKey,
  text,
  unique,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { sessionMethod, tokenPurpose, userRole, userStatus } from "./enums";
import { workspaces } from "./workspaces";

export const users = pgTable(
  "users",
  {
    id: id(),
    /** NULL until the email is verified (the workspace is chosen at verification). */
    workspaceId: uuid("workspace_id").references((): AnyPgColumn => workspaces.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    name: text("name"),
    /** NULL for Google-only accounts. argon2id, or a legacy bcrypt hash upgraded at the next login. */
    passwordHash: text("password_hash"),
    status: userStatus("status").notNull().default("PENDING_VERIFY"),
    role: userRole("role").notNull().default("MEMBER"),
    emailVerifiedAt: timestamptz("email_verified_at"),
    lastLoginAt: timestamptz("last_login_at"),
    avatarKey: text("avatar_key"),
    timezone: text("timezone").notNull().default("UTC"),
    locale: text("locale").notNull().default("en"),
    deletionRequestedAt: timestamptz("deletion_requested_at"),
    purgeAfter: timestamptz("purge_after"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    unique("users_email_key").on(t.email),
    // Target of the composite FKs that keep every user reference inside one workspace.
    unique("users_workspace_id_id_key").on(t.workspaceId, t.id),
    check("users_email_lower_ck", sql`${t.email} = lower(${t.email})`),
    // A workspace is assigned exactly when the mailbox is proven (verification, invitation or Google).
    check("users_workspace_verified_ck", sql`${t.workspaceId} IS NULL OR ${t.emailVerifiedAt} IS NOT NULL`),
    check("users_workspace_status_ck", sql`${t.status} = 'PENDING_VERIFY' OR ${t.workspaceId} IS NOT NULL`),
    check("users_purge_after_ck", sql`${t.status} <> 'PENDING_DELETION' OR ${t.purgeAfter} IS NOT NULL`),
    index("users_workspace_status_role_idx").on(t.workspaceId, t.status, t.role),
    index("users_workspace_created_idx").on(t.workspaceId, t.createdAt, t.id),
    // unverified-accounts job
    index("users_pending_verify_idx").on(t.createdAt).where(sql`${t.status} = 'PENDING_VERIFY'`),
    // account-purge job
    index("users_purge_idx").on(t.purgeAfter).where(sql`${t.status} = 'PENDING_DELETION'`),
  ],
);

export const oauthAccounts = pgTable(
  "oauth_accounts",
  {
    provider: text("provider").notNull(),
    /** The provider's stable subject (`sub`), never the email. */
    providerSubject: text("provider_subject").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    email: text("email").notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ name: "oauth_accounts_pkey", columns: [t.provider, t.providerSubject] }),
    check("oauth_accounts_email_lower_ck", sql`${t.email} = lower(${t.email})`),
    index("oauth_accounts_user_idx").on(t.userId),
  ],
);

/** One refresh-token family (DESIGN.md "Secrets and tokens": the counter design). */
export const sessions = pgTable(
  "sessions",
  {
    id: id(),
    // A session exists only for a verified user, who always has a workspace.
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: uuid("user_id").notNull(),
    refreshSalt: text("refresh_salt").notNull(),
    counter: integer("counter").notNull().default(0),
    rotatedAt: timestamptz("rotated_at"),
    authTime: timestamptz("auth_time").notNull(),
    method: sessionMethod("method").notNull(),
    userAgent: text("user_agent"),
    ip: inet("ip").notNull(),
    deviceLabel: text("device_label"),
    createdAt: createdAt(),
    lastUsedAt: timestamptz("last_used_at").notNull().defaultNow(),
    idleExpiresAt: timestamptz("idle_expires_at").notNull(),
    absoluteExpiresAt: timestamptz("absolute_expires_at").notNull(),
    revokedAt: timestamptz("revoked_at"),
    revokeReason: text("revoke_reason"),
  },
  (t) => [
    // ON UPDATE CASCADE: a user moving into an inviting workspace (accept-invitation) keeps its sessions,
    // which follow it into the new workspace; the user's other rows must be cleared out before the move.
    foreignKey({
      name: "sessions_user_fk",
      columns: [t.workspaceId, t.userId],
      foreignColumns: [users.workspaceId, users.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    check("sessions_counter_ck", sql`${t.counter} >= 0`),
    index("sessions_user_idx").on(t.userId),
    // sessions job
    index("sessions_absolute_expires_idx").on(t.absoluteExpiresAt),
  ],
);

/** Single-use tokens; only the SHA-256 of the token is stored. */
export const userTokens = pgTable(
  "user_tokens",
  {
    id: id(),
    purpose: tokenPurpose("purpose").notNull(),
    tokenHash: text("token_hash").notNull(),
    userId: uuid("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    expiresAt: timestamptz("expires_at").notNull(),
    usedAt: timestamptz("used_at"),
    createdAt: createdAt(),
  },
  (t) => [
    unique("user_tokens_token_hash_key").on(t.tokenHash),
    index("user_tokens_user_purpose_idx").on(t.userId, t.purpose),
    // tokens job
    index("user_tokens_expires_idx").on(t.expiresAt),
  ],
);

export type User = typeof users.$inferSelect;
export type NewUser = typeof users.$inferInsert;
export type OauthAccount = typeof oauthAccounts.$inferSelect;
export type NewOauthAccount = typeof oauthAccounts.$inferInsert;
export type Session = typeof sessions.$inferSelect;
export type NewSession = typeof sessions.$inferInsert;
export type UserToken = typeof userTokens.$inferSelect;
export type NewUserToken = typeof userTokens.$inferInsert;
