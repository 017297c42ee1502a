import { createRoute } from "@hono/zod-openapi";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../core/app-env";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { ConversationIdParam } from "../conversations/conversations.schemas";
import {
  ATTACHMENT_TYPES,
  CreateUploadBody,
  DownloadQuery,
  FileIdParam,
  FileSchema,
  UploadTicketSchema,
  UploadTokenParam,
} from "./files.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const binary = { type: "string", format: "binary" } as const;
const binaryTypes = Object.fromEntries(ATTACHMENT_TYPES.map((t) => [t, { schema: binary }]));

/** A signed URL (`sig` in the query) stands instead of the bearer token; without one, `requireAuth` runs. */
const bearerUnlessSigned = createMiddleware<AppEnv>(async (c, next) => {
  if (c.req.query("sig") !== undefined) return next();
  return requireAuth(c, next);
});

export const createUpload = createRoute({
  tags: ["Files"],
  method: "post",
  path: "/api/conversations/{id}/files",
  operationId: "createFileUpload",
  summary: "Get an upload URL for an attachment",
  description:
    `Owner only. Declares the file (${ATTACHMENT_TYPES.join(", ")}; at most 10 MB — 413 / 415 otherwise) and ` +
    "answers a PENDING file id with a signed, single-use upload URL valid 15 minutes, bound to that id, size " +
    "and type. 60 per hour per user.",
  security: bearerSecurity,
  middleware: [requireAuth, rateLimit("UPLOAD_USER", (c) => c.var.userId ?? "")],
  request: { params: ConversationIdParam, body: { required: true, content: json(CreateUploadBody) } },
  responses: {
    201: { description: "Upload ticket", content: json(UploadTicketSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "FORBIDDEN",
      "PAYLOAD_TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

export const uploadFile = createRoute({
  tags: ["Files"],
  method: "put",
  path: "/api/uploads/{token}",
  operationId: "uploadFile",
  summary: "Upload an attachment's bytes (signed URL)",
  description:
    "No bearer token: the signed URL authorises it, once. Send exactly the declared number of bytes; they " +
    "stream into storage with that known length. Bad, expired or used URL → 404; more bytes than declared → " +
    "413; bytes that are not the declared type (magic bytes) → 415; fewer → 400. A refusal leaves nothing " +
    "stored. Audited FILE_UPLOADED.",
  // Plain OpenAPI schemas, not zod: the route streams the body itself, so no validator may buffer it.
  request: {
    params: UploadTokenParam,
    body: { required: true, content: { ...binaryTypes, "application/octet-stream": { schema: binary } } },
  },
  responses: {
    200: { description: "Stored; the file is READY", content: json(FileSchema) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "PAYLOAD_TOO_LARGE",
      "UNSUPPORTED_MEDIA_TYPE",
      "WORKSPACE_PENDING_DELETION",
      "DATABASE_UNAVAILABLE",
    ),
  },
});

export const downloadFile = createRoute({
  tags: ["Files"],
  method: "get",
  path: "/api/files/{id}",
  operationId: "downloadFile",
  summary: "Download an attachment",
  description:
    "With the bearer token: for the conversation's owner, or any member when it is SHARED. Or, instead of " +
    "the token, the `exp` and `sig` of a signed URL (the 10-minute URLs sent to persona webhooks). Always " +
    "`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, private cache. Every refusal is 404.",
  security: [...bearerSecurity, {}],
  middleware: [bearerUnlessSigned],
  request: { params: FileIdParam, query: DownloadQuery },
  responses: {
    200: {
      description: "The file",
      headers: {
        "Content-Disposition": { schema: { type: "string", example: 'attachment; filename="quote.pdf"' } },
        "Cache-Control": { schema: { type: "string", example: "private, max-age=300" } },
      },
      content: binaryTypes,
    },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND"),
  },
});
