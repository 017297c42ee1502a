import { z } from "@hono/zod-openapi";
import { JOIN_POLICIES, USER_ROLES, WORKSPACE_KINDS, WORKSPACE_STATUSES } from "../../db/schema";
import { UserSchema } from "../users/users.schemas";

/** The caller's workspace as the login response carries it. */
export const WorkspaceSummarySchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: "acme.example" }),
    kind: z.enum(WORKSPACE_KINDS),
    domain: z.string().nullable().openapi({ example: "acme.example" }),
    joinPolicy: z.enum(JOIN_POLICIES),
    status: z.enum(WORKSPACE_STATUSES),
    timezone: z.string().openapi({ example: "UTC" }),
    locale: z.string().openapi({ example: "en" }),
  })
  .openapi("WorkspaceSummary");
export type WorkspaceSummaryDto = z.infer<typeof WorkspaceSummarySchema>;

/** GET /api/workspaces/{id}: the summary plus what its details page shows. */
export const WorkspaceSchema = WorkspaceSummarySchema.extend({
  memberCount: z.number().int().openapi({ example: 12, description: "ACTIVE users of the workspace" }),
  deletionRequestedAt: z.iso.datetime().nullable(),
  purgeAfter: z.iso
    .datetime()
    .nullable()
    .openapi({ description: "When a workspace in PENDING_DELETION is purged; null otherwise" }),
  createdAt: z.iso.datetime(),
}).openapi("Workspace");
export type WorkspaceDto = z.infer<typeof WorkspaceSchema>;

// --- path parameters ---------------------------------------------------------------------------------------
// Plain strings, not z.uuid(): a malformed id is the same 404 as an unknown one (API.md status table), never a
// 400 that would tell ids apart.

export const pathId = (name: string) =>
  z
    .string()
    .max(100)
    .openapi({ param: { name, in: "path" }, example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" });

export const WorkspaceIdParam = z.object({ id: pathId("id") });
export const MemberParams = z.object({ id: pathId("id"), uid: pathId("uid") });
export const InvitationParams = z.object({ id: pathId("id"), invitationId: pathId("invitationId") });

// --- field validators --------------------------------------------------------------------------------------

// Area/Location names (and the legacy single-word ones such as "UTC"); Intl also accepts offsets like
// "+01:00", which are not IANA names.
const IANA_ZONE_SHAPE = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;

/** The canonical IANA name of a time zone Intl knows (e.g. "europe/london" → "Europe/London"), or null. */
export function canonicalTimeZone(value: string): string | null {
  if (!IANA_ZONE_SHAPE.test(value)) return null;
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The canonical BCP 47 form of a locale tag (e.g. "en-gb" → "en-GB"), or null when it is not one. */
export function canonicalLocale(value: string): string | null {
  try {
    return Intl.getCanonicalLocales(value)[0] ?? null;
  } catch {
    return null;
  }
}

export const TimeZoneField = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .transform((value, ctx) => {
    const zone = canonicalTimeZone(value);
    if (!zone) ctx.addIssue({ code: "custom", message: "not an IANA time zone" });
    return zone ?? value;
  })
  .openapi({ example: "Europe/Berlin", description: "IANA time zone name" });

export const LocaleField = z
  .string()
  .trim()
  .min(2)
  .max(35)
  .transform((value, ctx) => {
    const locale = canonicalLocale(value);
    if (!locale) ctx.addIssue({ code: "custom", message: "not a BCP 47 language tag" });
    return locale ?? value;
  })
  .openapi({ example: "de-DE", description: "BCP 47 language tag" });

export const UpdateWorkspaceBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional().openapi({ example: "Acme Inc." }),
    timezone: TimeZoneField.optional(),
    locale: LocaleField.optional(),
    joinPolicy: z.enum(JOIN_POLICIES).optional().openapi({
      description:
        "AUTO: verified addresses of the workspace's domain join as MEMBER; INVITE_ONLY: only invited ones",
    }),
  })
  .refine((body) => Object.keys(body).length > 0, { message: "give at least one field to change" })
  .openapi("UpdateWorkspaceRequest", { example: { name: "Acme Inc.", timezone: "Europe/Berlin" } });
export type UpdateWorkspaceInput = z.infer<typeof UpdateWorkspaceBody>;

// --- members -----------------------------------------------------------------------------------------------

/** A member as admins see it: the same shape as GET /api/users/me. */
export const MemberSchema = UserSchema;

export const MEMBER_SORTS = ["name", "-name", "email", "-email", "createdAt", "-createdAt"] as const;
export type MemberSort = (typeof MEMBER_SORTS)[number];
export const MEMBER_STATUSES = ["ACTIVE", "DEACTIVATED", "PENDING_DELETION"] as const;

export const ListMembersQuery = z
  .strictObject({
    search: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .openapi({ description: "Case-insensitive substring of the name or email", example: "ada" }),
    status: z.enum(MEMBER_STATUSES).optional().openapi({ example: "ACTIVE" }),
    role: z.enum(USER_ROLES).optional().openapi({ example: "ADMIN" }),
    sort: z.enum(MEMBER_SORTS).default("name").openapi({
      description: "Field to sort by; a leading `-` sorts descending. Ties are broken by id.",
      example: "-createdAt",
    }),
    limit: z.coerce.number().int().min(1).max(100).default(20).openapi({ example: 20 }),
    cursor: z
      .string()
      .max(2000)
      .optional()
      .openapi({ description: "`nextCursor` of the previous page (same sort)" }),
  })
  .openapi("ListMembersQuery");
export type ListMembersInput = z.infer<typeof ListMembersQuery>;

export const MemberListSchema = z
  .object({
    items: z.array(MemberSchema),
    nextCursor: z.string().nullable().openapi({ description: "null on the last page" }),
  })
  .openapi("MemberList");

export const UpdateMemberBody = z
  .strictObject({
    role: z.enum(USER_ROLES).optional().openapi({ example: "ADMIN" }),
    status: z
      .enum(["ACTIVE", "DEACTIVATED"])
      .optional()
      .openapi({ description: "DEACTIVATED revokes every session of the member", example: "DEACTIVATED" }),
  })
  .refine((body) => body.role !== undefined || body.status !== undefined, {
    message: "give role or status",
  })
  .openapi("UpdateMemberRequest", { example: { role: "ADMIN" } });
export type UpdateMemberInput = z.infer<typeof UpdateMemberBody>;

// --- deletion ----------------------------------------------------------------------------------------------

export const DeleteWorkspaceBody = z
  .strictObject({
    reason: z.string().trim().min(1).max(500).optional().openapi({ example: "We moved to another tool." }),
  })
  .openapi("DeleteWorkspaceRequest", { example: { reason: "We moved to another tool." } });

export const WorkspaceDeletionSchema = z
  .object({
    purgeAfter: z.iso
      .datetime()
      .openapi({ description: "When the workspace and its data are purged (30 days)" }),
  })
  .openapi("WorkspaceDeletionScheduled");
