import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf, readAfterAuth, tokenCallerOf } from "../../middleware/auth";
import * as members from "./members.service";
import type * as routes from "./workspaces.routes";
import * as workspaces from "./workspaces.service";

// `ownWorkspace` (route middleware) matches the path's {id} to the caller's workspace: before the handler, or
// (requireAuthForWrite routes) before anything commits.

export const getWorkspace: RouteHandler<typeof routes.getWorkspace, AppEnv> = async (c) =>
  c.json(await workspaces.getWorkspace(depsFrom(c), authOf(c)), 200);

export const updateWorkspace: RouteHandler<typeof routes.updateWorkspace, AppEnv> = async (c) =>
  c.json(await workspaces.updateWorkspace(depsFrom(c), tokenCallerOf(c), c.req.valid("json")), 200);

export const listMembers: RouteHandler<typeof routes.listMembers, AppEnv> = async (c) =>
  c.json(
    await readAfterAuth(c, (caller) =>
      members.listMembers(depsFrom(c), caller.workspaceId, c.req.valid("query")),
    ),
    200,
  );

export const updateMember: RouteHandler<typeof routes.updateMember, AppEnv> = async (c) => {
  const { uid } = c.req.valid("param");
  const change = c.req.valid("json");
  return c.json(
    await members.updateMember(
      depsFrom(c),
      tokenCallerOf(c),
      uid.toLowerCase(),
      change,
      "updateWorkspaceMember",
    ),
    200,
  );
};

export const removeMember: RouteHandler<typeof routes.removeMember, AppEnv> = async (c) => {
  await members.removeMember(depsFrom(c), tokenCallerOf(c), c.req.valid("param").uid.toLowerCase());
  return c.body(null, 204);
};

export const requestDeletion: RouteHandler<typeof routes.requestDeletion, AppEnv> = async (c) =>
  c.json(
    await workspaces.requestWorkspaceDeletion(depsFrom(c), tokenCallerOf(c), c.req.valid("json").reason),
    202,
  );

export const cancelDeletion: RouteHandler<typeof routes.cancelDeletion, AppEnv> = async (c) =>
  c.json(await workspaces.cancelWorkspaceDeletion(depsFrom(c), tokenCallerOf(c)), 200);
