import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
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

export const acceptInvitation: RouteHandler<typeof routes.acceptInvitation, AppEnv> = async (c) =>
  c.json(await invitations.acceptInvitation(depsFrom(c), authOf(c), c.req.valid("json").token), 200);
