import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth, requireAuthForRead, requireAuthForWrite } from "../../middleware/auth";
import { requireAuthForGuardedWrite } from "../../middleware/guarded-write";
import {
  ArchiveBody,
  ConversationDetailSchema,
  ConversationIdParam,
  ConversationListSchema,
  ConversationSchema,
  CreateConversationBody,
  GetConversationQuery,
  ListConversationsQuery,
  UpdateConversationBody,
  VisibilityBody,
} from "./conversations.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const authed = { tags: ["Conversations"], security: bearerSecurity, middleware: [requireAuth] };
const READ_ERRORS = [...AUTHENTICATED_ERRORS, "NOT_FOUND"] as const;
const WRITE_ERRORS = [
  ...AUTHENTICATED_ERRORS,
  "VALIDATION_FAILED",
  "NOT_FOUND",
  "FORBIDDEN",
  "WORKSPACE_PENDING_DELETION",
] as const;

export const createConversation = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "post",
  path: "/api/conversations",
  operationId: "createConversation",
  summary: "Start a conversation",
  description:
    "An empty PRIVATE conversation with an active persona of the catalogue (global or the workspace's own; " +
    "any other id is 404), so the first message can already carry files. Audited CONVERSATION_CREATED.",
  request: { body: { required: true, content: json(CreateConversationBody) } },
  responses: {
    201: { description: "Created", content: json(ConversationSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const listConversations = createRoute({
  ...authed,
  middleware: [requireAuthForRead],
  method: "get",
  path: "/api/conversations",
  operationId: "listConversations",
  summary: "List conversations",
  description:
    "The caller's own conversations and the SHARED ones of the workspace, newest activity first (keyset " +
    "cursor). `archived=true` lists only archived ones, otherwise they are left out; `personaId` and `q` " +
    "(case-insensitive title substring) narrow the list.",
  request: { query: ListConversationsQuery },
  responses: {
    200: { description: "A page of conversations", content: json(ConversationListSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED"),
  },
});

export const getConversation = createRoute({
  ...authed,
  middleware: [requireAuthForRead],
  method: "get",
  path: "/api/conversations/{id}",
  operationId: "getConversation",
  summary: "A conversation with one branch",
  description:
    "For the owner, or any member when SHARED (anyone else — admins included — gets 404). Messages of the " +
    "current branch, root first, each with its `siblings` (the edits sharing its parent), reaction counts, " +
    "the caller's own reaction and attachments. `?leafId=` shows the branch through another message " +
    "(continued to its newest leaf) without moving the pointer; a message of another conversation is 400.",
  request: { params: ConversationIdParam, query: GetConversationQuery },
  responses: {
    200: { description: "The conversation", content: json(ConversationDetailSchema) },
    ...errorResponses(...READ_ERRORS, "VALIDATION_FAILED"),
  },
});

export const updateConversation = createRoute({
  ...authed,
  middleware: [requireAuthForGuardedWrite],
  method: "patch",
  path: "/api/conversations/{id}",
  operationId: "updateConversation",
  summary: "Rename, or switch the current branch",
  description:
    "Owner only (403 for other members of a SHARED conversation). `currentLeafId` must be a leaf message " +
    "of this conversation (else 400). A title change is audited CONVERSATION_TITLE_UPDATED.",
  request: { params: ConversationIdParam, body: { required: true, content: json(UpdateConversationBody) } },
  responses: {
    200: { description: "Updated", content: json(ConversationSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const setVisibility = createRoute({
  ...authed,
  middleware: [requireAuthForGuardedWrite],
  method: "patch",
  path: "/api/conversations/{id}/visibility",
  operationId: "setConversationVisibility",
  summary: "Share with the workspace, or make private",
  description:
    "The owner may switch either way; a workspace ADMIN may only make a SHARED conversation PRIVATE (403 " +
    "otherwise) and can never see — nor share — someone's PRIVATE one (404). Going PRIVATE revokes every " +
    "share link. Audited CONVERSATION_VISIBILITY_CHANGED.",
  request: { params: ConversationIdParam, body: { required: true, content: json(VisibilityBody) } },
  responses: {
    200: { description: "Updated", content: json(ConversationSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const setArchived = createRoute({
  ...authed,
  middleware: [requireAuthForGuardedWrite],
  method: "patch",
  path: "/api/conversations/{id}/archive",
  operationId: "setConversationArchived",
  summary: "Archive or unarchive",
  description: "Owner only. Audited CONVERSATION_ARCHIVED with `archived`.",
  request: { params: ConversationIdParam, body: { required: true, content: json(ArchiveBody) } },
  responses: {
    200: { description: "Updated", content: json(ConversationSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const deleteConversation = createRoute({
  ...authed,
  middleware: [requireAuthForWrite],
  method: "delete",
  path: "/api/conversations/{id}",
  operationId: "deleteConversation",
  summary: "Delete a conversation",
  description:
    "Owner only. Hidden from every route at once and its share links revoked; rows and files are purged by " +
    "the daily conversation-purge job. Audited CONVERSATION_DELETED.",
  request: { params: ConversationIdParam },
  responses: {
    204: { description: "Deleted" },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND", "FORBIDDEN", "WORKSPACE_PENDING_DELETION"),
  },
});
