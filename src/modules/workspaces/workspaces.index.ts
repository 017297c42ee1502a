import { createRouter } from "../../core/router";
import * as invitationHandlers from "./invitations.handlers";
import * as invitationRoutes from "./invitations.routes";
import * as handlers from "./workspaces.handlers";
import * as routes from "./workspaces.routes";

/**
 * /api/workspaces (the caller's own workspace only), POST /api/auth/accept-invitation and the invitee's side
 * of invitations under /api/users/me/invitations.
 */
export const workspacesRouter = createRouter()
  .openapi(routes.getWorkspace, handlers.getWorkspace)
  .openapi(routes.updateWorkspace, handlers.updateWorkspace)
  .openapi(routes.listMembers, handlers.listMembers)
  .openapi(invitationRoutes.inviteMember, invitationHandlers.inviteMember)
  .openapi(routes.updateMember, handlers.updateMember)
  .openapi(routes.removeMember, handlers.removeMember)
  .openapi(invitationRoutes.listInvitations, invitationHandlers.listInvitations)
  .openapi(invitationRoutes.revokeInvitation, invitationHandlers.revokeInvitation)
  .openapi(routes.requestDeletion, handlers.requestDeletion)
  .openapi(routes.cancelDeletion, handlers.cancelDeletion)
  .openapi(invitationRoutes.acceptInvitation, invitationHandlers.acceptInvitation)
  .openapi(invitationRoutes.listMyInvitations, invitationHandlers.listMyInvitations)
  .openapi(invitationRoutes.acceptMyInvitation, invitationHandlers.acceptMyInvitation)
  .openapi(invitationRoutes.declineMyInvitation, invitationHandlers.declineMyInvitation);
