import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth, requireAuthForWrite } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { ChangePasswordBody, MessageSchema } from "../auth/auth.schemas";
import {
  AvatarUploadedSchema,
  AvatarUrlQuery,
  UpdateProfileBody,
  UserIdParam,
  UserSchema,
} from "./users.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const binary = { type: "string", format: "binary" } as const;

export const getMe = createRoute({
  method: "get",
  path: "/api/users/me",
  tags: ["Users"],
  operationId: "getMyProfile",
  summary: "My profile",
  description: "The signed-in user, with a signed avatar URL (valid 7 days) when an avatar is set.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: "The signed-in user", content: json(UserSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS),
  },
});

export const updateMe = createRoute({
  method: "put",
  path: "/api/users/me",
  tags: ["Users"],
  operationId: "updateMyProfile",
  summary: "Update my profile",
  description:
    "Only `name`, `timezone` (IANA) and `locale` (BCP 47) can change here. Any other field — role, email, " +
    "workspaceId, status, id… — is refused with 400 and nothing changes. Audited as PROFILE_UPDATED with the " +
    "names of the fields that changed.",
  security: bearerSecurity,
  middleware: [requireAuthForWrite] as const,
  request: { body: { required: true, content: json(UpdateProfileBody) } },
  responses: {
    200: { description: "The updated user", content: json(UserSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED", "WORKSPACE_PENDING_DELETION"),
  },
});

export const uploadAvatar = createRoute({
  method: "post",
  path: "/api/users/me/avatar",
  tags: ["Users"],
  operationId: "uploadMyAvatar",
  summary: "Upload my avatar",
  description:
    "Send the image as the multipart file field `avatar`, or as the raw request body. PNG, JPEG, WebP or GIF, " +
    "recognised by their magic bytes (the declared type does not matter), at most 2 MB. Replaces (and deletes) " +
    "the previous avatar; earlier avatar URLs stop working. At most 60 uploads per hour.",
  security: bearerSecurity,
  middleware: [requireAuth, rateLimit("UPLOAD_USER", (c) => c.var.userId ?? "")] as const,
  // Plain OpenAPI schemas, not zod: the route reads the body itself (capped while reading), so no validator
  // may buffer it first.
  request: {
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: { type: "object", properties: { avatar: binary }, required: ["avatar"] },
        },
        "image/png": { schema: binary },
        "image/jpeg": { schema: binary },
        "image/webp": { schema: binary },
        "image/gif": { schema: binary },
        "application/octet-stream": { schema: binary },
      },
    },
  },
  responses: {
    200: { description: "Stored", content: json(AvatarUploadedSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "PAYLOAD_TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

export const getAvatar = createRoute({
  method: "get",
  path: "/api/users/{id}/avatar",
  tags: ["Users"],
  operationId: "getUserAvatar",
  summary: "Avatar image (signed URL)",
  description:
    "No bearer token: the `exp` and `sig` of a URL from `avatarUrl` authorise it. A bad or expired signature, " +
    "or one for an avatar that has since been replaced, is 404. Cached privately for a day; answers 304 to a " +
    "matching `If-None-Match`.",
  request: { params: UserIdParam, query: AvatarUrlQuery },
  responses: {
    200: {
      description: "The image",
      headers: {
        ETag: { schema: { type: "string" } },
        "Cache-Control": { schema: { type: "string", example: "private, max-age=86400" } },
      },
      content: {
        "image/png": { schema: binary },
        "image/jpeg": { schema: binary },
        "image/webp": { schema: binary },
        "image/gif": { schema: binary },
      },
    },
    304: { description: "Not modified (If-None-Match matched the ETag)" },
    ...errorResponses("NOT_FOUND", "DATABASE_UNAVAILABLE"),
  },
});

export const changePassword = createRoute({
  method: "put",
  path: "/api/users/me/password",
  tags: ["Users"],
  operationId: "changeMyPassword",
  summary: "Change my password",
  description:
    "Needs the current password (Google-only accounts setting a first password: a sign-in at most 5 minutes " +
    "old). Wrong current passwords count towards the login lockout. Every other session is revoked and a " +
    "notice is mailed.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: { "application/json": { schema: ChangePasswordBody } } } },
  responses: {
    200: { description: "Changed", content: { "application/json": { schema: MessageSchema } } },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "REAUTH_REQUIRED",
      "INVALID_CREDENTIALS",
      "ACCOUNT_LOCKED",
      "WEAK_PASSWORD",
      "BREACHED_PASSWORD",
    ),
  },
});
