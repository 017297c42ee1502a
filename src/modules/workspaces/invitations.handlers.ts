import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { hashToken } from "../../core/crypto";
import { depsFrom } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import { authOf, tokenCallerOf } from "../../middleware/auth";
import type * as routes from "./invitations.routes";
import * as invitations from "./invitations.service";

export const inviteMember: RouteHandler<typeof routes.inviteMember, AppEnv> = async (c) =>
  c.json(await invitations.inviteMember(depsFrom(c), tokenCallerOf(c), c.req.valid("json")), 201);

export const listInvitations: RouteHandler<typeof routes.listInvitations, AppEnv> = async (c) =>
  c.json({ items: await invitations.listInvitations(depsFrom(c), authOf(c).workspaceId) }, 200);

export const revokeInvitation: RouteHandler<typeof routes.revokeInvitation, AppEnv> = async (c) => {
  await invitations.revokeInvitation(
    depsFrom(c),
    tokenCallerOf(c),
    c.req.valid("param").invitationId.toLowerCase(),
  );
  return c.body(null, 204);
};

export const acceptInvitation: RouteHandler<typeof routes.acceptInvitation, AppEnv> = async (c) => {
  const tokenHash = await hashToken(c.req.valid("json").token);
  return c.json(await invitations.acceptInvitation(depsFrom(c), authOf(c), { tokenHash }), 200);
};

export const listMyInvitations: RouteHandler<typeof routes.listMyInvitations, AppEnv> = async (c) =>
  c.json({ items: await invitations.listMyInvitations(depsFrom(c), authOf(c)) }, 200);

export const acceptMyInvitation: RouteHandler<typeof routes.acceptMyInvitation, AppEnv> = async (c) => {
  const invitationId = c.req.valid("param").invitationId.toLowerCase();
  // A malformed id is the same 404 as an unknown one.
  if (!isUuid(invitationId))
    throw new ApiError("NOT_FOUND", "No open invitation with this id for your address.");
  return c.json(await invitations.acceptInvitation(depsFrom(c), authOf(c), { invitationId }), 200);
};

export const declineMyInvitation: RouteHandler<typeof routes.declineMyInvitation, AppEnv> = async (c) => {
  await invitations.declineInvitation(
    depsFrom(c),
    authOf(c),
    c.req.valid("param").invitationId.toLowerCase(),
  );
  return c.body(null, 204);
};
