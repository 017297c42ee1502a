import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, adminOnly, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAdmin, requireAuth, requireAuthForRead, requireAuthForWrite } from "../../middleware/auth";
import { ListMembersQuery, MemberListSchema, MemberSchema } from "../workspaces/workspaces.schemas";
import { AdminStatsSchema, AdminUserParam } from "./admin.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

const adminRoute = {
  ...adminOnly,
  tags: ["Admin"],
  security: bearerSecurity,
  middleware: [requireAuth, requireAdmin],
};
const ADMIN_ERRORS = [...AUTHENTICATED_ERRORS, "FORBIDDEN"] as const;
const LIFECYCLE_ERRORS = [...ADMIN_ERRORS, "NOT_FOUND", "WORKSPACE_PENDING_DELETION"] as const;

export const listUsers = createRoute({
  method: "get",
  path: "/api/admin/users",
  operationId: "adminListUsers",
  summary: "List the workspace's users",
  description:
    "Same list as GET /api/workspaces/{id}/members: `search` (name or email), `status`, `role`, `sort`, " +
    "keyset cursor.",
  ...adminRoute,
  middleware: [requireAuthForRead, requireAdmin],
  request: { query: ListMembersQuery },
  responses: {
    200: { description: "One page of users", content: json(MemberListSchema) },
    ...errorResponses(...ADMIN_ERRORS, "VALIDATION_FAILED"),
  },
});

export const getUser = createRoute({
  method: "get",
  path: "/api/admin/users/{id}",
  operationId: "adminGetUser",
  summary: "Get one user of the workspace",
  description: "Any user of the caller's workspace, whatever its status; any other id is 404.",
  ...adminRoute,
  request: { params: AdminUserParam },
  responses: {
    200: { description: "The user", content: json(MemberSchema) },
    ...errorResponses(...ADMIN_ERRORS, "NOT_FOUND"),
  },
});

const lifecycle = (
  action: "activate" | "deactivate" | "promote" | "demote",
  operationId: string,
  summary: string,
  description: string,
  errors: readonly ("LAST_ADMIN" | "CONFLICT")[],
) =>
  createRoute({
    method: "post",
    path: `/api/admin/users/{id}/${action}`,
    operationId,
    summary,
    description: `${description} Same rules and audit events as PATCH /api/workspaces/{id}/members/{uid}.`,
    ...adminRoute,
    // The change's transaction starts beside the session check; nothing commits before it passed.
    middleware: [requireAuthForWrite, requireAdmin],
    request: { params: AdminUserParam },
    responses: {
      200: { description: "The user after the change", content: json(MemberSchema) },
      ...errorResponses(...LIFECYCLE_ERRORS, ...errors),
    },
  });

export const activateUser = lifecycle(
  "activate",
  "adminActivateUser",
  "Reactivate a deactivated user",
  "DEACTIVATED → ACTIVE (REACTIVATE_ACCOUNT); an active user is returned unchanged. An account its owner " +
    "scheduled for deletion is 409 CONFLICT.",
  ["CONFLICT"],
);
export const deactivateUser = lifecycle(
  "deactivate",
  "adminDeactivateUser",
  "Deactivate a user",
  "ACTIVE → DEACTIVATED and every session revoked (DEACTIVATE_ACCOUNT); the LAST_ADMIN rule applies.",
  ["LAST_ADMIN", "CONFLICT"],
);
export const promoteUser = lifecycle(
  "promote",
  "adminPromoteUser",
  "Make a user an admin",
  "Role MEMBER → ADMIN (ROLE_CHANGED); an admin is returned unchanged.",
  [],
);
export const demoteUser = lifecycle(
  "demote",
  "adminDemoteUser",
  "Make an admin a member",
  "Role ADMIN → MEMBER (ROLE_CHANGED); the LAST_ADMIN rule applies.",
  ["LAST_ADMIN"],
);

export const getStats = createRoute({
  method: "get",
  path: "/api/admin/stats",
  operationId: "adminGetStats",
  summary: "Workspace statistics",
  description:
    "Members by status and role, conversations, messages, active personas, and the activity of the last " +
    "30 days (UTC) with a daily series. Two database statements whatever the workspace's size.",
  ...adminRoute,
  middleware: [requireAuthForRead, requireAdmin],
  responses: {
    200: { description: "Statistics", content: json(AdminStatsSchema) },
    ...errorResponses(...ADMIN_ERRORS),
  },
});
