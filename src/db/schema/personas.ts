import { sql } from "drizzle-orm";
import {
  boolean,
  check,
  foreignKey,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  uniqueIndex,
  uuid,
} from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz, updatedAt } from "./columns";
import { users } from "./users";
import { workspaces } from "./workspaces";

const stringArray = (name: string) => jsonb(name).$type<string[]>().notNull().default(sql`'[]'::jsonb`);

/**
 * A persona is an n8n-style webhook. workspace_id NULL = the global catalogue; rows referencing personas use a
 * plain FK on persona_id, and queries enforce `workspace_id IS NULL OR = caller's workspace`.
 */
export const personas = pgTable(
  "personas",
  {
    id: id(),
    workspaceId: uuid("workspace_id").references(() => workspaces.id, { onDelete: "cascade" }),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    personalName: text("personal_name"),
    roleTitle: text("role_title"),
    about: text("about"),
    traits: stringArray("traits"),
    painPoints: stringArray("pain_points"),
    coreExpertise: stringArray("core_expertise"),
    keyResponsibilities: stringArray("key_responsibilities"),
    communicationStyle: text("communication_style"),
    avatarUrl: text("avatar_url"),
    /** `v1:`-prefixed AES-GCM ciphertexts; never returned by the API. */
    webhookUrlEncrypted: text("webhook_url_encrypted").notNull(),
    webhookSecretEncrypted: text("webhook_secret_encrypted").notNull(),
    isActive: boolean("is_active").notNull().default(true),
    /** Bumped by every traits update; messages record the version that answered. */
    version: integer("version").notNull().default(1),
    /** Mirror of the PersonaGate breaker for lists and health; the Durable Object stays authoritative. */
    breakerOpenUntil: timestamptz("breaker_open_until"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [
    // slug is unique per scope: once in the global catalogue, once per workspace.
    uniqueIndex("personas_global_slug_key").on(t.slug).where(sql`${t.workspaceId} IS NULL`),
    uniqueIndex("personas_workspace_slug_key")
      .on(t.workspaceId, t.slug)
      .where(sql`${t.workspaceId} IS NOT NULL`),
    check("personas_slug_format_ck", sql`${t.slug} ~ '^[a-z0-9][a-z0-9-]{0,62}$'`),
    check("personas_version_ck", sql`${t.version} >= 1`),
    index("personas_workspace_idx").on(t.workspaceId),
  ],
);

export const personaFavourites = pgTable(
  "persona_favourites",
  {
    userId: uuid("user_id").notNull(),
    personaId: uuid("persona_id")
      .notNull()
      .references(() => personas.id, { onDelete: "cascade" }),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
  },
  (t) => [
    primaryKey({ name: "persona_favourites_pkey", columns: [t.userId, t.personaId] }),
    foreignKey({
      name: "persona_favourites_user_fk",
      columns: [t.workspaceId, t.userId],
      foreignColumns: [users.workspaceId, users.id],
    })
      .onDelete("cascade")
      .onUpdate("cascade"),
    index("persona_favourites_workspace_user_idx").on(t.workspaceId, t.userId),
    // the cascade when a persona is deleted
    index("persona_favourites_persona_idx").on(t.personaId),
  ],
);

/**
 * The breaker mirror of a global persona, per workspace: a global persona has one PersonaGate per workspace
 * (one tenant's failures must not open it for all), so its `personas.breaker_open_until` stays NULL and
 * `isAvailable` reads this row of the caller's workspace instead. A row exists only while open (or until the
 * next report closes it); the PersonaGate stays authoritative.
 */
export const personaBreakers = pgTable(
  "persona_breakers",
  {
    personaId: uuid("persona_id")
      .notNull()
      .references(() => personas.id, { onDelete: "cascade" }),
    workspaceId: uuid("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    openUntil: timestamptz("open_until").notNull(),
  },
  (t) => [
    primaryKey({ name: "persona_breakers_pkey", columns: [t.personaId, t.workspaceId] }),
    // the cascade when a workspace is deleted
    index("persona_breakers_workspace_idx").on(t.workspaceId),
  ],
);

export type Persona = typeof personas.$inferSelect;
export type NewPersona = typeof personas.$inferInsert;
export type PersonaFavourite = typeof personaFavourites.$inferSelect;
export type NewPersonaFavourite = typeof personaFavourites.$inferInsert;
