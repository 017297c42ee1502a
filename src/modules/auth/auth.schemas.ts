import { z } from "@hono/zod-openapi";
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "../../core/password-params";
import { SESSION_METHODS } from "../../db/schema";
import { UserSchema } from "../users/users.schemas";
import { WorkspaceSummarySchema } from "../workspaces/workspaces.schemas";

/** Emails are compared lower-cased and trimmed everywhere (the column has a lower-case CHECK). */
export const EmailField = z
  .string()
  .trim()
  .max(254)
  .pipe(z.email())
  .transform((email) => email.toLowerCase())
  .openapi({ example: "ada@acme.example" });

export const PasswordField = z
  .string()
  .min(PASSWORD_MIN_LENGTH, `at least ${PASSWORD_MIN_LENGTH} characters`)
  .max(PASSWORD_MAX_LENGTH, `at most ${PASSWORD_MAX_LENGTH} characters`)
  .openapi({ example: "correct-horse-battery-staple-42" });

/** A single-use token from a mailed link (43 base64url characters; a little slack for other forms). */
export const TokenField = z
  .string()
  .min(20)
  .max(200)
  .regex(/^[A-Za-z0-9_-]+$/, "not a token")
  .openapi({ example: "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw" });

export const MessageSchema = z
  .object({ message: z.string().openapi({ example: "Check your inbox for the next step." }) })
  .openapi("Message");

export const RegisterBody = z
  .strictObject({
    email: EmailField,
    password: PasswordField,
    name: z.string().trim().min(1).max(100).optional().openapi({ example: "Ada Lovelace" }),
    inviteToken: TokenField.optional().openapi({
      description: "From an invitation mail: proves the mailbox, so the account is active at once",
    }),
  })
  .openapi("RegisterRequest");
export type RegisterInput = z.infer<typeof RegisterBody>;

export const VerifyEmailQuery = z.object({ token: TokenField });

/** Any password up to the argon2 guard: a sign-in must not reveal the policy's limits. */
const GivenPasswordField = z
  .string()
  .min(1)
  .max(PASSWORD_MAX_LENGTH)
  .openapi({ example: "correct-horse-battery-staple-42" });

export const VerifyEmailBody = z
  .strictObject({
    token: TokenField,
    password: GivenPasswordField.openapi({ description: "The password chosen at registration" }),
  })
  .openapi("VerifyEmailRequest");

export const VerificationStatusSchema = z
  .object({
    valid: z.boolean().openapi({ description: "The link can still verify the address" }),
    alreadyVerified: z.boolean().openapi({ description: "The link was used, or the address is verified" }),
    email: z
      .string()
      .nullable()
      .openapi({ example: "a***@acme.example", description: "Masked; null for an unknown or expired link" }),
  })
  .openapi("VerificationStatus");

export const VerifyEmailResponse = z
  .object({ message: z.string().openapi({ example: "Email verified." }), user: UserSchema })
  .openapi("VerifyEmailResponse");

export const EmailOnlyBody = z.strictObject({ email: EmailField }).openapi("EmailRequest");

export const LoginBody = z
  .strictObject({
    email: EmailField,
    password: GivenPasswordField,
    deviceLabel: z.string().trim().min(1).max(100).optional().openapi({ example: "Ada's laptop" }),
  })
  .openapi("LoginRequest");

export const TokenPairSchema = z
  .object({
    accessToken: z.string().openapi({ description: "RS256 JWT, 15 minutes" }),
    refreshToken: z.string().openapi({
      description: "Opaque; rotate it with POST /api/auth/refresh (idle 7 days, absolute 30 days)",
      example: "rt.01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10.0.q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw",
    }),
    tokenType: z.literal("Bearer"),
    expiresIn: z.number().int().openapi({ example: 900, description: "Access-token lifetime in seconds" }),
  })
  .openapi("TokenPair");

export const LoginResponse = TokenPairSchema.extend({
  user: UserSchema,
  workspace: WorkspaceSummarySchema,
}).openapi("LoginResponse");

export const RefreshBody = z
  .strictObject({ refreshToken: z.string().min(1).max(200) })
  .openapi("RefreshRequest");

export const SessionSchema = z
  .object({
    id: z.uuid(),
    deviceLabel: z.string().nullable(),
    userAgent: z.string().nullable(),
    ip: z.string().openapi({ example: "203.0.113.7" }),
    method: z.enum(SESSION_METHODS),
    createdAt: z.iso.datetime(),
    lastUsedAt: z.iso.datetime(),
    expiresAt: z.iso.datetime().openapi({ description: "The earlier of the idle and the absolute expiry" }),
    current: z.boolean().openapi({ description: "The session of the calling access token" }),
  })
  .openapi("Session");

export const SessionListSchema = z.object({ items: z.array(SessionSchema) }).openapi("SessionList");

export const SessionIdParam = z.object({
  sessionId: z
    .string()
    .openapi({ param: { name: "sessionId", in: "path" }, example: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }),
});

export const ResetPasswordBody = z
  .strictObject({ token: TokenField, newPassword: PasswordField })
  .openapi("ResetPasswordRequest");

export const ReauthBody = z
  .strictObject({
    password: z.string().min(1).max(PASSWORD_MAX_LENGTH).optional().openapi({
      description:
        "Required for accounts with a password; Google-only accounts need a sign-in ≤ 5 minutes old",
    }),
  })
  .openapi("ReauthRequest");

export const DeletionScheduledSchema = z
  .object({ purgeAfter: z.iso.datetime().openapi({ description: "When the account is purged (30 days)" }) })
  .openapi("DeletionScheduled");

export const CancelDeletionBody = z
  .union([
    z.strictObject({ token: TokenField }),
    z.strictObject({ email: EmailField, password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }),
  ])
  .openapi("CancelDeletionRequest", {
    description: 'Either the token of the "deletion scheduled" mail, or email and password',
  });

export const UserMessageSchema = z.object({ message: z.string(), user: UserSchema }).openapi("UserMessage");

export const ChangePasswordBody = z
  .strictObject({
    currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH).optional().openapi({
      description:
        "Required for accounts with a password; Google-only accounts need a sign-in ≤ 5 minutes old",
    }),
    newPassword: PasswordField,
  })
  .openapi("ChangePasswordRequest");
