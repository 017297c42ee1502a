import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, adminOnly, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAdmin, requireAuth } from "../../middleware/auth";
import {
  AcceptInvitationBody,
  AcceptInvitationResponse,
  InvitationListSchema,
  InvitationSchema,
  InviteMemberBody,
  MyInvitationListSchema,
  MyInvitationParams,
} from "./invitations.schemas";
import { adminWriteRoute, ownWorkspace } from "./workspaces.routes";
import { InvitationParams, WorkspaceIdParam } from "./workspaces.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });

const adminRoute = {
  ...adminOnly,
  security: bearerSecurity,
  middleware: [requireAuth, ownWorkspace, requireAdmin],
};
const ADMIN_ERRORS = [...AUTHENTICATED_ERRORS, "NOT_FOUND", "FORBIDDEN"] as const;

const MOVE_RULES =
  "move: it joins the inviting workspace with the invited role, taking what it owns along — conversations " +
  "(SHARED ones become PRIVATE and lose their share links), attachments, favourites, and its personas " +
  "(deactivated: their webhooks were never vetted by the new workspace's admins) — and " +
  "the emptied personal workspace is deleted. Anyone else is 409 ALREADY_IN_WORKSPACE. The response carries " +
  "a new access token for the same session (the refresh token keeps working; the previous access token does " +
  "not).";

export const inviteMember = createRoute({
  method: "post",
  path: "/api/workspaces/{id}/members",
  tags: ["Workspaces"],
  operationId: "inviteWorkspaceMember",
  summary: "Invite someone to the workspace (add member)",
  description:
    "Admins. Always 201 with the invitation, whether or not the address has an account elsewhere (no " +
    "oracle); the address gets a link valid for 7 days. A new address registers with the link's token and " +
    "is active at once; an existing account accepts with POST /api/auth/accept-invitation or from its list " +
    "(GET /api/users/me/invitations). An invitation never applies by email alone. Inviting an address again " +
    "replaces its open invitation (new link and expiry; the old link stops working). An address that already " +
    "belongs to this workspace is 409 ALREADY_MEMBER. At most 50 invitations per workspace and day, 10 for a " +
    "personal workspace (429). An invitation lapses when its inviter stops being an active admin.",
  ...adminWriteRoute,
  request: { params: WorkspaceIdParam, body: { required: true, content: json(InviteMemberBody) } },
  responses: {
    201: { description: "Invitation sent", content: json(InvitationSchema) },
    ...errorResponses(
      ...ADMIN_ERRORS,
      "VALIDATION_FAILED",
      "ALREADY_MEMBER",
      "WORKSPACE_PENDING_DELETION",
      "RATE_LIMITED",
    ),
  },
});

export const listInvitations = createRoute({
  method: "get",
  path: "/api/workspaces/{id}/invitations",
  tags: ["Workspaces"],
  operationId: "listWorkspaceInvitations",
  summary: "List open invitations",
  description:
    "Admins. Invitations not yet accepted, revoked or expired, newest first (at most 200); never a token.",
  ...adminRoute,
  request: { params: WorkspaceIdParam },
  responses: {
    200: { description: "Open invitations", content: json(InvitationListSchema) },
    ...errorResponses(...ADMIN_ERRORS),
  },
});

export const revokeInvitation = createRoute({
  method: "delete",
  path: "/api/workspaces/{id}/invitations/{invitationId}",
  tags: ["Workspaces"],
  operationId: "revokeWorkspaceInvitation",
  summary: "Revoke an invitation",
  description: "Admins. Its link stops working at once (INVITATION_REVOKED). A closed or unknown one is 404.",
  ...adminWriteRoute,
  request: { params: InvitationParams },
  responses: {
    204: { description: "Revoked" },
    ...errorResponses(...ADMIN_ERRORS, "WORKSPACE_PENDING_DELETION"),
  },
});

export const acceptInvitation = createRoute({
  method: "post",
  path: "/api/auth/accept-invitation",
  tags: ["Auth"],
  operationId: "acceptInvitation",
  summary: "Accept an invitation with my existing account",
  description:
    "For a signed-in user whose email is the invited one. Only the sole user of a PERSONAL workspace can " +
    MOVE_RULES,
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { body: { required: true, content: json(AcceptInvitationBody) } },
  responses: {
    200: { description: "Moved into the inviting workspace", content: json(AcceptInvitationResponse) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "VALIDATION_FAILED", "INVALID_TOKEN", "ALREADY_IN_WORKSPACE"),
  },
});

export const listMyInvitations = createRoute({
  method: "get",
  path: "/api/users/me/invitations",
  tags: ["Users"],
  operationId: "listMyInvitations",
  summary: "Invitations addressed to me",
  description:
    "Open invitations for the signed-in user's email into other workspaces, newest first (at most 200), with " +
    "the inviter's address, the workspace's name and whether it has proven a domain: a workspace's name " +
    "proves nothing. Nothing applies until the user accepts one.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: "Open invitations", content: json(MyInvitationListSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS),
  },
});

export const acceptMyInvitation = createRoute({
  method: "post",
  path: "/api/users/me/invitations/{invitationId}/accept",
  tags: ["Users"],
  operationId: "acceptMyInvitation",
  summary: "Accept an invitation from my list",
  description:
    "Like POST /api/auth/accept-invitation, by the id from GET /api/users/me/invitations. Only the sole user " +
    `of a PERSONAL workspace can ${MOVE_RULES} An id that is not an open invitation for my address is 404.`,
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { params: MyInvitationParams },
  responses: {
    200: { description: "Moved into the inviting workspace", content: json(AcceptInvitationResponse) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND", "ALREADY_IN_WORKSPACE"),
  },
});

export const declineMyInvitation = createRoute({
  method: "post",
  path: "/api/users/me/invitations/{invitationId}/decline",
  tags: ["Users"],
  operationId: "declineMyInvitation",
  summary: "Decline an invitation",
  description:
    "Closes an open invitation addressed to me (its link stops working; INVITATION_DECLINED is audited in " +
    "the inviting workspace). An id that is not an open invitation for my address is 404.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  request: { params: MyInvitationParams },
  responses: {
    204: { description: "Declined" },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_FOUND"),
  },
});
