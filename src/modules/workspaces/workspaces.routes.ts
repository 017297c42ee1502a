import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, adminOnly, bearerSecurity, errorResponses } from "../../core/openapi";
import {
  requireAdmin,
  requireAuth,
  requireAuthForRead,
  requireAuthForWrite,
  requireCaller,
} from "../../middleware/auth";
import {
  DeleteWorkspaceBody,
  ListMembersQuery,
  MemberListSchema,
  MemberParams,
  MemberSchema,
  UpdateMemberBody,
  UpdateWorkspaceBody,
  WorkspaceDeletionSchema,
  WorkspaceIdParam,
  WorkspaceSchema,
} from "./workspaces.schemas";
import { notFound } from "./workspaces.service";

const json = <T>(schema: T) => ({ "application/json": { schema } });

/**
 * After `requireAuth`: the `{id}` of the path must be the caller's own workspace. Anything else — another
 * workspace's id, a random or malformed one — is the same 404, decided without a query. It runs before
 * `requireAdmin`, so a member probing another workspace's id learns nothing either (404, not 403).
 */
export const ownWorkspace = requireCaller((auth, c) => {
  if (c.req.param("id")?.toLowerCase() !== auth.workspaceId) throw notFound();
});

const memberRoute = { security: bearerSecurity, middleware: [requireAuth, ownWorkspace] };
const adminRoute = {
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuth, ownWorkspace, requireAdmin],
};
/** An admin route whose handler starts its transaction beside the session check (requireAuthForWrite). */
export const adminWriteRoute = {
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuthForWrite, ownWorkspace, requireAdmin],
};
const MEMBER_ERRORS = [...AUTHENTICATED_ERRORS, "NOT_FOUND"] as const;
const ADMIN_ERRORS = [...MEMBER_ERRORS, "FORBIDDEN"] as const;
const WRITE_ERRORS = [...ADMIN_ERRORS, "VALIDATION_FAILED", "WORKSPACE_PENDING_DELETION"] as const;

export const getWorkspace = createRoute({
  method: "get",
  path: "/api/workspaces/{id}",
  tags: ["Workspaces"],
  operationId: "getWorkspace",
  summary: "Get my workspace",
  description:
    "Any member. The workspace with its number of ACTIVE members and, when scheduled, its purge date.",
  ...memberRoute,
  request: { params: WorkspaceIdParam },
  responses: {
    200: { description: "The workspace", content: json(WorkspaceSchema) },
    ...errorResponses(...MEMBER_ERRORS),
  },
});

export const updateWorkspace = createRoute({
  method: "put",
  path: "/api/workspaces/{id}",
  tags: ["Workspaces"],
  operationId: "updateWorkspace",
  summary: "Change the workspace settings",
  description:
    "Admins. Name, IANA time zone, BCP 47 locale (stored in canonical form) and join policy; give at least " +
    "one. Audited as WORKSPACE_UPDATED with each changed field's old and new value.",
  ...adminWriteRoute,
  request: { params: WorkspaceIdParam, body: { required: true, content: json(UpdateWorkspaceBody) } },
  responses: {
    200: { description: "The updated workspace", content: json(WorkspaceSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const listMembers = createRoute({
  method: "get",
  path: "/api/workspaces/{id}/members",
  tags: ["Workspaces"],
  operationId: "listWorkspaceMembers",
  summary: "List the workspace's members",
  description:
    "Admins. Every user of the workspace (active, deactivated, pending deletion), filtered by `search` " +
    "(name or email), `status` and `role`, sorted by `sort`, paged by an opaque keyset cursor.",
  ...adminRoute,
  middleware: [requireAuthForRead, ownWorkspace, requireAdmin],
  request: { params: WorkspaceIdParam, query: ListMembersQuery },
  responses: {
    200: { description: "One page of members", content: json(MemberListSchema) },
    ...errorResponses(...ADMIN_ERRORS, "VALIDATION_FAILED"),
  },
});

export const updateMember = createRoute({
  method: "patch",
  path: "/api/workspaces/{id}/members/{uid}",
  tags: ["Workspaces"],
  operationId: "updateWorkspaceMember",
  summary: "Change a member's role or status",
  description:
    "Admins. `role` ADMIN|MEMBER, `status` ACTIVE|DEACTIVATED (deactivation revokes every session at once). " +
    "Demoting or deactivating the last active admin while other members remain is 409 LAST_ADMIN. The " +
    "status of an account its owner scheduled for deletion cannot be changed (409 CONFLICT). Audited as " +
    "ROLE_CHANGED, DEACTIVATE_ACCOUNT or REACTIVATE_ACCOUNT.",
  ...adminWriteRoute,
  request: { params: MemberParams, body: { required: true, content: json(UpdateMemberBody) } },
  responses: {
    200: { description: "The member after the change", content: json(MemberSchema) },
    ...errorResponses(...WRITE_ERRORS, "LAST_ADMIN", "CONFLICT"),
  },
});

export const removeMember = createRoute({
  method: "delete",
  path: "/api/workspaces/{id}/members/{uid}",
  tags: ["Workspaces"],
  operationId: "removeWorkspaceMember",
  summary: "Remove a member",
  description:
    "Admins. The member is deactivated and every session revoked (MEMBER_REMOVED); the LAST_ADMIN rule " +
    "applies. Removing an already deactivated member changes nothing.",
  ...adminWriteRoute,
  request: { params: MemberParams },
  responses: {
    204: { description: "Removed" },
    ...errorResponses(...WRITE_ERRORS, "LAST_ADMIN", "CONFLICT"),
  },
});

export const requestDeletion = createRoute({
  method: "post",
  path: "/api/workspaces/{id}/delete",
  tags: ["Workspaces"],
  operationId: "requestWorkspaceDeletion",
  summary: "Schedule the workspace for deletion",
  description:
    "Admins. The workspace becomes PENDING_DELETION: read-only for everyone (writes answer 409 " +
    "WORKSPACE_PENDING_DELETION) and purged with all its data after 30 days unless an admin cancels. Every " +
    "active admin gets a mail.",
  ...adminWriteRoute,
  request: { params: WorkspaceIdParam, body: { required: true, content: json(DeleteWorkspaceBody) } },
  responses: {
    202: { description: "Deletion scheduled", content: json(WorkspaceDeletionSchema) },
    ...errorResponses(...WRITE_ERRORS),
  },
});

export const cancelDeletion = createRoute({
  method: "post",
  path: "/api/workspaces/{id}/cancel-deletion",
  tags: ["Workspaces"],
  operationId: "cancelWorkspaceDeletion",
  summary: "Cancel the workspace's scheduled deletion",
  description: "Admins. The workspace is ACTIVE again; on an active workspace this changes nothing.",
  ...adminWriteRoute,
  request: { params: WorkspaceIdParam },
  responses: {
    200: { description: "The workspace", content: json(WorkspaceSchema) },
    ...errorResponses(...ADMIN_ERRORS),
  },
});
