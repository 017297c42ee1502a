import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf, readAfterAuth, tokenCallerOf } from "../../middleware/auth";
import * as members from "../workspaces/members.service";
import type * as routes from "./admin.routes";
import * as admin from "./admin.service";

export const listUsers: RouteHandler<typeof routes.listUsers, AppEnv> = async (c) =>
  c.json(
    await readAfterAuth(c, (caller) =>
      members.listMembers(depsFrom(c), caller.workspaceId, c.req.valid("query")),
    ),
    200,
  );

export const getUser: RouteHandler<typeof routes.getUser, AppEnv> = async (c) =>
  c.json(
    await members.getMember(depsFrom(c), authOf(c).workspaceId, c.req.valid("param").id.toLowerCase()),
    200,
  );

/** The four lifecycle routes: one member change each, `data.via` naming the route. */
const change =
  (change: members.MemberChange, via: string) =>
  async (c: Parameters<RouteHandler<typeof routes.activateUser, AppEnv>>[0]) =>
    c.json(
      await members.updateMember(
        depsFrom(c),
        tokenCallerOf(c),
        c.req.valid("param").id.toLowerCase(),
        change,
        via,
      ),
      200,
    );

export const activateUser: RouteHandler<typeof routes.activateUser, AppEnv> = change(
  { status: "ACTIVE" },
  "adminActivateUser",
);
export const deactivateUser: RouteHandler<typeof routes.deactivateUser, AppEnv> = change(
  { status: "DEACTIVATED" },
  "adminDeactivateUser",
);
export const promoteUser: RouteHandler<typeof routes.promoteUser, AppEnv> = change(
  { role: "ADMIN" },
  "adminPromoteUser",
);
export const demoteUser: RouteHandler<typeof routes.demoteUser, AppEnv> = change(
  { role: "MEMBER" },
  "adminDemoteUser",
);

export const getStats: RouteHandler<typeof routes.getStats, AppEnv> = async (c) =>
  c.json(await readAfterAuth(c, (caller) => admin.workspaceStats(depsFrom(c), caller.workspaceId)), 200);
