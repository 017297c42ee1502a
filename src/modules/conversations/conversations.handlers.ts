import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { readAfterAuth, tokenCallerOf } from "../../middleware/auth";
import { guardedWriteOf } from "../../middleware/guarded-write";
import type * as routes from "./conversations.routes";
import * as service from "./conversations.service";

export const createConversation: RouteHandler<typeof routes.createConversation, AppEnv> = async (c) =>
  c.json(await service.createConversation(depsFrom(c), tokenCallerOf(c), c.req.valid("json")), 201);

export const listConversations: RouteHandler<typeof routes.listConversations, AppEnv> = async (c) =>
  c.json(
    await readAfterAuth(c, (caller) => service.listConversations(depsFrom(c), caller, c.req.valid("query"))),
    200,
  );

export const getConversation: RouteHandler<typeof routes.getConversation, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { leafId } = c.req.valid("query");
  return c.json(
    await readAfterAuth(c, (viewer) => service.getConversation(depsFrom(c), viewer, id, leafId)),
    200,
  );
};

export const updateConversation: RouteHandler<typeof routes.updateConversation, AppEnv> = async (c) =>
  c.json(
    await service.updateConversation(
      depsFrom(c),
      guardedWriteOf(c),
      c.req.valid("param").id,
      c.req.valid("json"),
    ),
    200,
  );

export const setVisibility: RouteHandler<typeof routes.setVisibility, AppEnv> = async (c) => {
  const { visibility } = c.req.valid("json");
  return c.json(
    await service.setVisibility(depsFrom(c), guardedWriteOf(c), c.req.valid("param").id, visibility),
    200,
  );
};

export const setArchived: RouteHandler<typeof routes.setArchived, AppEnv> = async (c) => {
  const { archived } = c.req.valid("json");
  return c.json(
    await service.setArchived(depsFrom(c), guardedWriteOf(c), c.req.valid("param").id, archived),
    200,
  );
};

export const deleteConversation: RouteHandler<typeof routes.deleteConversation, AppEnv> = async (c) => {
  await service.deleteConversation(depsFrom(c), tokenCallerOf(c), c.req.valid("param").id);
  return c.body(null, 204);
};
