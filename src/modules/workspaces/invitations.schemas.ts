import { z } from "@hono/zod-openapi";
import { USER_ROLES, WORKSPACE_KINDS } from "../../db/schema";
import { EmailField, TokenField } from "../auth/auth.schemas";
import { UserSchema } from "../users/users.schemas";
import { pathId, WorkspaceSummarySchema } from "./workspaces.schemas";

/** An open invitation; the token exists only in the mail, never in a response. */
export const InvitationSchema = z
  .object({
    id: z.uuid().openapi({ example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
    email: z.email().openapi({ example: "grace@example.com" }),
    role: z.enum(USER_ROLES).openapi({ example: "MEMBER" }),
    invitedBy: z.uuid().openapi({ description: "The admin who sent (or last re-sent) it" }),
    expiresAt: z.iso.datetime().openapi({ description: "7 days after it was (re-)sent" }),
    createdAt: z.iso.datetime(),
  })
  .openapi("Invitation");
export type InvitationDto = z.infer<typeof InvitationSchema>;

export const InvitationListSchema = z.object({ items: z.array(InvitationSchema) }).openapi("InvitationList");

export const InviteMemberBody = z
  .strictObject({
    email: EmailField,
    role: z.enum(USER_ROLES).openapi({ example: "MEMBER" }),
  })
  .openapi("InviteMemberRequest", { example: { email: "grace@example.com", role: "MEMBER" } });
export type InviteMemberInput = z.infer<typeof InviteMemberBody>;

export const AcceptInvitationBody = z
  .strictObject({ token: TokenField.openapi({ description: "The token of the invitation link" }) })
  .openapi("AcceptInvitationRequest", { example: { token: "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw" } });

export const AcceptInvitationResponse = z
  .object({
    message: z.string().openapi({ example: "Welcome to Acme Inc." }),
    user: UserSchema,
    workspace: WorkspaceSummarySchema,
    accessToken: z.string().openapi({
      description:
        "A new access token for the same session in the new workspace (the previous one stops working; " +
        "the refresh token keeps working)",
    }),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ example: 900 }),
  })
  .openapi("AcceptInvitationResponse");

/** An invitation as its invitee sees it: who sent it, into what, and whether that workspace proved a domain. */
export const MyInvitationSchema = z
  .object({
    id: z.uuid().openapi({ example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
    role: z.enum(USER_ROLES).openapi({ example: "MEMBER" }),
    workspace: z.object({
      id: z.uuid(),
      name: z.string().openapi({ example: "Acme Inc." }),
      kind: z.enum(WORKSPACE_KINDS).openapi({ example: "CORPORATE" }),
      verifiedDomain: z.string().nullable().openapi({
        description:
          "A domain the workspace has proven by DNS; null when it has proven none (its name proves nothing)",
        example: null,
      }),
    }),
    invitedBy: z.object({
      email: z.email().openapi({ example: "admin@acme.example" }),
      name: z.string().nullable().openapi({ example: "Ada Admin" }),
    }),
    expiresAt: z.iso.datetime(),
    createdAt: z.iso.datetime(),
  })
  .openapi("MyInvitation");

export const MyInvitationListSchema = z
  .object({ items: z.array(MyInvitationSchema) })
  .openapi("MyInvitationList");

export const MyInvitationParams = z.object({ invitationId: pathId("invitationId") });
