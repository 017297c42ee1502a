import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth, requireAuthForWrite } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import {
  CancelDeletionBody,
  DeletionScheduledSchema,
  EmailOnlyBody,
  LoginBody,
  LoginResponse,
  MessageSchema,
  ReauthBody,
  RefreshBody,
  RegisterBody,
  ResetPasswordBody,
  SessionIdParam,
  SessionListSchema,
  TokenPairSchema,
  UserMessageSchema,
  VerificationStatusSchema,
  VerifyEmailBody,
  VerifyEmailQuery,
  VerifyEmailResponse,
} from "./auth.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const byIp = (c: { var: { clientIp: string } }) => c.var.clientIp;

export const register = createRoute({
  method: "post",
  path: "/api/auth/register",
  tags: ["Auth"],
  operationId: "register",
  summary: "Register with email and password",
  description:
    "Always 202 with the same body, whether or not the email exists (no account oracle). A new address gets " +
    "a verification link (24 h); a PENDING_VERIFY address takes the new password and a fresh link (older links " +
    "stop working); an existing account is told by mail that someone tried to register. A valid `inviteToken` " +
    "for this email activates the account in the inviting workspace at once. The password must score ≥ 3 in " +
    "zxcvbn and not appear in known breaches. At most 5 registrations and verification mails per address and " +
    "hour (429, known address or not).",
  middleware: [rateLimit("REGISTER_IP", byIp)] as const,
  request: { body: { required: true, content: json(RegisterBody) } },
  responses: {
    202: { description: "Accepted; next steps were mailed", content: json(MessageSchema) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "WEAK_PASSWORD",
      "BREACHED_PASSWORD",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});

export const verificationStatus = createRoute({
  method: "get",
  path: "/api/auth/verify-email",
  tags: ["Auth"],
  operationId: "getVerificationStatus",
  summary: "Check a verification link",
  description:
    "Tells the verification page whether the link is live and for which address (masked). Changes nothing: " +
    "verifying takes the registration's password too (`POST /api/auth/verify-email`). **Changed** from the " +
    "original, whose GET verified.",
  middleware: [rateLimit("VERIFY_IP", byIp)] as const,
  request: { query: VerifyEmailQuery },
  responses: {
    200: { description: "The link's state", content: json(VerificationStatusSchema) },
    ...errorResponses("VALIDATION_FAILED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});

export const verifyEmail = createRoute({
  method: "post",
  path: "/api/auth/verify-email",
  tags: ["Auth"],
  operationId: "verifyEmail",
  summary: "Verify the email address",
  description:
    "Activates the account when the mailed link and the registration's password both match: the link proves " +
    "the mailbox, the password that its owner chose it (a stranger who registered the address first cannot " +
    "have the owner's click activate an account the stranger can sign in to). A wrong password is 401, counted " +
    "by the login lockout (423 after five), and the link stays usable. Then assigns the workspace: a public " +
    "mail domain gets a personal workspace; a company domain gets its workspace (created with the first user " +
    "as ADMIN, joined as MEMBER when its join policy is AUTO; INVITE_ONLY → a personal workspace and a mail " +
    "saying to ask for an invitation). Invitations apply only with their token. Using a link again answers " +
    '200 "already verified".',
  middleware: [rateLimit("VERIFY_IP", byIp)] as const,
  request: { body: { required: true, content: json(VerifyEmailBody) } },
  responses: {
    200: { description: "Verified (or already verified)", content: json(VerifyEmailResponse) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "INVALID_TOKEN",
      "INVALID_CREDENTIALS",
      "ACCOUNT_LOCKED",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});

export const resendVerification = createRoute({
  method: "post",
  path: "/api/auth/resend-verification",
  tags: ["Auth"],
  operationId: "resendVerification",
  summary: "Send a new verification link",
  description:
    "Always 202. Only an address waiting for verification gets a new link (earlier links stop working). " +
    "At most 3 per hour per address (and 5 verification mails per hour, registrations included).",
  request: { body: { required: true, content: json(EmailOnlyBody) } },
  responses: {
    202: { description: "Accepted", content: json(MessageSchema) },
    ...errorResponses("VALIDATION_FAILED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});

export const login = createRoute({
  method: "post",
  path: "/api/auth/login",
  tags: ["Auth"],
  operationId: "login",
  summary: "Sign in with email and password",
  description:
    "Returns an access token (15 min) and a refresh token. A wrong password and an unknown email are the same " +
    "401. Five consecutive failures for an email (existing or not) lock it for 15 minutes (423 + Retry-After). " +
    "Account status (deactivated, pending deletion) is revealed only after a correct password. An address " +
    "waiting for verification answers like a wrong password, counted by the lockout even when the password " +
    "is right (which mails a fresh link instead): a stranger learns nothing from a pending account.",
  middleware: [rateLimit("LOGIN_IP", byIp)] as const,
  request: { body: { required: true, content: json(LoginBody) } },
  responses: {
    200: { description: "Signed in", content: json(LoginResponse) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "INVALID_CREDENTIALS",
      "ACCOUNT_DEACTIVATED",
      "ACCOUNT_PENDING_DELETION",
      "ACCOUNT_LOCKED",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});

export const refresh = createRoute({
  method: "post",
  path: "/api/auth/refresh",
  tags: ["Auth"],
  operationId: "refreshTokens",
  summary: "Rotate the refresh token",
  description:
    "Returns a new token pair; the presented refresh token stops working. Presenting the previous token within " +
    "10 s of a rotation returns the same current pair (safe for several tabs refreshing at once). Any other " +
    "reuse of an old token revokes the session (401).",
  middleware: [rateLimit("REFRESH_IP", byIp)] as const,
  request: { body: { required: true, content: json(RefreshBody) } },
  responses: {
    200: { description: "New token pair", content: json(TokenPairSchema) },
    ...errorResponses("VALIDATION_FAILED", "UNAUTHENTICATED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});

export const logout = createRoute({
  method: "post",
  path: "/api/auth/logout",
  tags: ["Auth"],
  operationId: "logout",
  summary: "Sign out (revoke the current session)",
  description:
    "Revokes the session of the presented access token and its refresh token; the access token stops " +
    "working at once (session check), other sessions stay signed in.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite] as const,
  responses: {
    204: { description: "Signed out" },
    ...errorResponses(...AUTHENTICATED_ERRORS),
  },
});

export const listSessions = createRoute({
  method: "get",
  path: "/api/auth/sessions",
  tags: ["Auth"],
  operationId: "listSessions",
  summary: "List my active sessions",
  description:
    "Every unrevoked, unexpired session of the caller (device, IP, last use), with `current` marking the " +
    "one this token belongs to.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: "Live sessions, most recently used first", content: json(SessionListSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS),
  },
});

export const revokeSession = createRoute({
  method: "delete",
  path: "/api/auth/sessions/{sessionId}",
  tags: ["Auth"],
  operationId: "revokeSession",
  summary: "Revoke one of my sessions",
  description:
    "Signs one of the caller's own sessions out (its tokens stop working). Another user's session id " +
    "answers 404 NOT_FOUND.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite] as const,
  request: { params: SessionIdParam },
  responses: {
    204: { description: "Revoked" },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND"),
  },
});

export const requestPasswordReset = createRoute({
  method: "post",
  path: "/api/auth/request-password-reset",
  tags: ["Auth"],
  operationId: "requestPasswordReset",
  summary: "Mail a password-reset link",
  description:
    "Always 202 with the same body. An active account gets a link valid for 1 hour (older links stop working). " +
    "At most 3 per hour per address and 10 per hour per IP (shared with reset-password).",
  middleware: [rateLimit("RESET_IP", byIp)] as const,
  request: { body: { required: true, content: json(EmailOnlyBody) } },
  responses: {
    202: { description: "Accepted", content: json(MessageSchema) },
    ...errorResponses("VALIDATION_FAILED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});

export const resetPassword = createRoute({
  method: "post",
  path: "/api/auth/reset-password",
  tags: ["Auth"],
  operationId: "resetPassword",
  summary: "Set a new password with a reset link",
  description:
    "Single use. Revokes every session of the account, lifts a login lockout and mails a notice. The new " +
    "password must pass the same policy as at registration.",
  middleware: [rateLimit("RESET_IP", byIp)] as const,
  request: { body: { required: true, content: json(ResetPasswordBody) } },
  responses: {
    200: { description: "Password changed", content: json(MessageSchema) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "INVALID_TOKEN",
      "WEAK_PASSWORD",
      "BREACHED_PASSWORD",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});

const REAUTH_ERRORS = [
  ...AUTHENTICATED_ERRORS,
  "VALIDATION_FAILED",
  "REAUTH_REQUIRED",
  "INVALID_CREDENTIALS",
  "ACCOUNT_LOCKED",
  "LAST_ADMIN",
] as const;

export const deactivate = createRoute({
  method: "post",
  path: "/api/auth/deactivate",
  tags: ["Auth"],
  operationId: "deactivateAccount",
  summary: "Deactivate my account",
  description:
    "Confirm with the password (Google-only accounts: a sign-in at most 5 minutes old). Every session is " +
    "revoked. The last ADMIN of a workspace with other active members must promote someone first (409 " +
    "LAST_ADMIN); a sole member may leave.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: json(ReauthBody) } },
  responses: {
    200: { description: "Deactivated", content: json(MessageSchema) },
    ...errorResponses(...REAUTH_ERRORS),
  },
});

export const deleteAccount = createRoute({
  method: "post",
  path: "/api/auth/delete-account",
  tags: ["Auth"],
  operationId: "deleteAccount",
  summary: "Schedule my account for deletion",
  description:
    "Same confirmation and LAST_ADMIN rule as deactivation. The account is PENDING_DELETION and purged after " +
    "30 days; a mail carries a link to cancel. A sole member's deletion also schedules the workspace's.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: json(ReauthBody) } },
  responses: {
    202: { description: "Deletion scheduled", content: json(DeletionScheduledSchema) },
    ...errorResponses(...REAUTH_ERRORS),
  },
});

export const cancelDeletion = createRoute({
  method: "post",
  path: "/api/auth/cancel-deletion",
  tags: ["Auth"],
  operationId: "cancelAccountDeletion",
  summary: "Cancel my account's scheduled deletion",
  description:
    'With the token of the "deletion scheduled" mail, or with email and password (login\'s rate limit and ' +
    "lockout apply). The account is ACTIVE again, and a workspace whose deletion it had caused comes back too.",
  middleware: [rateLimit("LOGIN_IP", byIp)] as const,
  request: { body: { required: true, content: json(CancelDeletionBody) } },
  responses: {
    200: { description: "Active again", content: json(UserMessageSchema) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "INVALID_TOKEN",
      "INVALID_CREDENTIALS",
      "ACCOUNT_LOCKED",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});
