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
