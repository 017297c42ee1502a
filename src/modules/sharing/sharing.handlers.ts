import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { pendingCallerOf, tokenCallerOf } from "../../middleware/auth";
import type * as routes from "./sharing.routes";
import * as service from "./sharing.service";

export const createShareLink: RouteHandler<typeof routes.createShareLink, AppEnv> = async (c) =>
  c.json(
    await service.createShareLink(
      depsFrom(c),
      tokenCallerOf(c),
      c.req.valid("param").id,
      c.req.valid("json"),
    ),
    201,
  );

export const listShareLinks: RouteHandler<typeof routes.listShareLinks, AppEnv> = async (c) =>
  c.json(await service.listShareLinks(depsFrom(c), pendingCallerOf(c), c.req.valid("param").id), 200);

export const revokeShareLink: RouteHandler<typeof routes.revokeShareLink, AppEnv> = async (c) => {
  const { id, shareId } = c.req.valid("param");
  await service.revokeShareLink(depsFrom(c), pendingCallerOf(c), id, shareId);
  return c.body(null, 204);
};

export const viewSharedConversation: RouteHandler<typeof routes.viewSharedConversation, AppEnv> = async (
  c,
) => {
  const view = await service.viewSharedConversation(depsFrom(c), c.req.valid("param").token);
  return c.json(view, 200, service.PUBLIC_HEADERS);
};
