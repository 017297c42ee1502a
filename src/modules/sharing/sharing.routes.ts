import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuthForRead, requireAuthForWrite } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { ConversationIdParam } from "../conversations/conversations.schemas";
import {
  CreatedShareSchema,
  CreateShareBody,
  PublicConversationSchema,
  ShareLinkListSchema,
  ShareParams,
  ShareTokenParam,
} from "./sharing.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const authed = { tags: ["Sharing"], security: bearerSecurity };

export const createShareLink = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "post",
  path: "/api/conversations/{id}/share",
  operationId: "createShareLink",
  summary: "Create a public share link",
  description:
    "Owner only, SHARED conversations only (409 CONVERSATION_NOT_SHARED). The link shows the branch as it is " +
    "now (the current leaf is frozen) for `expiresInDays` (1–90, default 30). The URL is shown once: only " +
    "the token's hash is stored. Audited SHARED_LINK_CREATED.",
  request: { params: ConversationIdParam, body: { required: true, content: json(CreateShareBody) } },
  responses: {
    201: { description: "Created", content: json(CreatedShareSchema) },
    ...errorResponses(
      ...AUTHENTICATED_ERRORS,
      "VALIDATION_FAILED",
      "NOT_FOUND",
      "FORBIDDEN",
      "CONVERSATION_NOT_SHARED",
      "WORKSPACE_PENDING_DELETION",
    ),
  },
});

export const listShareLinks = createRoute({
  ...authed,
  middleware: [requireAuthForRead],
  method: "get",
  path: "/api/conversations/{id}/shares",
  operationId: "listShareLinks",
  summary: "List a conversation's share links",
  description: "Owner or workspace admin (of a conversation they can see). Never shows tokens or URLs.",
  request: { params: ConversationIdParam },
  responses: {
    200: { description: "The links, newest first", content: json(ShareLinkListSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND", "FORBIDDEN"),
  },
});

export const revokeShareLink = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "delete",
  path: "/api/conversations/{id}/shares/{shareId}",
  operationId: "revokeShareLink",
  summary: "Revoke a share link",
  description: "Owner or workspace admin. The link answers 404 at once. Audited SHARED_LINK_REVOKED.",
  request: { params: ShareParams },
  responses: {
    204: { description: "Revoked" },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND", "FORBIDDEN", "WORKSPACE_PENDING_DELETION"),
  },
});

export const viewSharedConversation = createRoute({
  tags: ["Sharing"],
  method: "get",
  path: "/p/{token}",
  operationId: "viewSharedConversation",
  summary: "Public view of a share link",
  description:
    "No sign-in. The branch frozen when the link was made, while the conversation is still SHARED: persona " +
    "public fields, each message's role, content, time and attachment names — no emails, no user ids. Unknown, " +
    "expired, revoked and no-longer-shared links are the same 404. `Cache-Control: no-store`, " +
    "`Referrer-Policy: no-referrer`; 60 views per minute per IP; each view is counted and audited.",
  middleware: [rateLimit("SHARE_VIEW_IP", (c) => c.var.clientIp)],
  request: { params: ShareTokenParam },
  responses: {
    200: {
      description: "The shared branch",
      headers: {
        "Cache-Control": { schema: { type: "string", example: "no-store" } },
        "Referrer-Policy": { schema: { type: "string", example: "no-referrer" } },
      },
      content: json(PublicConversationSchema),
    },
    ...errorResponses("NOT_FOUND", "RATE_LIMITED", "DATABASE_UNAVAILABLE"),
  },
});
