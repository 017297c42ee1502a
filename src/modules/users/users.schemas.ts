import { z } from "@hono/zod-openapi";
import { USER_ROLES, USER_STATUSES } from "../../db/schema";

/** The signed-in user as every route returns it (GET /api/users/me, login, verify-email). */
export const UserSchema = z
  .object({
    id: z.uuid().openapi({ example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
    email: z.email().openapi({ example: "ada@acme.example" }),
    name: z.string().nullable().openapi({ example: "Ada Lovelace" }),
    avatarUrl: z
      .string()
      .nullable()
      .openapi({ description: "Signed URL, valid 7 days; null without an avatar" }),
    timezone: z.string().openapi({ example: "Europe/London" }),
    locale: z.string().openapi({ example: "en-GB" }),
    role: z.enum(USER_ROLES).openapi({ example: "MEMBER" }),
    status: z.enum(USER_STATUSES).openapi({ example: "ACTIVE" }),
    workspaceId: z.uuid().nullable().openapi({ description: "null until the email is verified" }),
    emailVerified: z.boolean(),
    lastLoginAt: z.iso.datetime().nullable(),
    createdAt: z.iso.datetime(),
  })
  .openapi("User");
export type UserDto = z.infer<typeof UserSchema>;

/** An IANA time zone name the runtime's ICU knows ("Europe/London", "UTC"). */
export function isIanaTimeZone(value: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: value });
    return true;
  } catch {
    return false;
  }
}

/** A well-formed BCP 47 language tag (`Intl.getCanonicalLocales` accepts exactly one). */
export function isBcp47Locale(value: string): boolean {
  try {
    return Intl.getCanonicalLocales(value).length === 1;
  } catch {
    return false;
  }
}

/**
 * PUT /api/users/me. Strict: role, email, workspaceId, status, id or anything else → 400 and nothing changes.
 * Values are stored in canonical form (time zone as ICU spells it, locale canonicalised).
 */
export const UpdateProfileBody = z
  .strictObject({
    name: z.string().trim().min(1).max(100).optional().openapi({ example: "Ada Lovelace" }),
    timezone: z
      .string()
      .min(1)
      .max(64)
      .refine(isIanaTimeZone, "Must be an IANA time zone, e.g. Europe/London.")
      .optional()
      .openapi({ description: "IANA time zone", example: "Europe/London" }),
    locale: z
      .string()
      .min(2)
      .max(64)
      .refine(isBcp47Locale, "Must be a BCP 47 language tag, e.g. en-GB.")
      .optional()
      .openapi({ description: "BCP 47 language tag", example: "en-GB" }),
  })
  .openapi("UpdateProfileRequest");
export type UpdateProfileInput = z.infer<typeof UpdateProfileBody>;

export const AvatarUploadedSchema = z
  .object({
    avatarUrl: z.string().openapi({
      description: "Signed URL of the new avatar, valid 7 days",
      example:
        "https://api.example.com/api/users/01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10/avatar?exp=1767225600&sig=Zm9v",
    }),
  })
  .openapi("AvatarUploaded");

export const UserIdParam = z.object({
  id: z.string().openapi({
    param: { name: "id", in: "path" },
    example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10",
  }),
});

/** Both optional at the schema level: a missing or malformed signature is the same 404 as a wrong one. */
export const AvatarUrlQuery = z.object({
  exp: z.string().optional().openapi({ description: "Expiry (unix seconds) from the signed URL" }),
  sig: z.string().optional().openapi({ description: "Signature from the signed URL" }),
});
