import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { pendingCallerOf } from "../../middleware/auth";
import { guardedWriteOf } from "../../middleware/guarded-write";
import * as edits from "./edit.service";
import type * as routes from "./messages.routes";
import * as reactions from "./reactions.service";

export const toggleReaction: RouteHandler<typeof routes.toggleReaction, AppEnv> = async (c) => {
  const { type } = c.req.valid("json");
  return c.json(
    await reactions.toggleReaction(depsFrom(c), guardedWriteOf(c), c.req.valid("param").id, type),
    200,
  );
};

export const editMessage: RouteHandler<typeof routes.editMessage, AppEnv> = async (c) => {
  const { content } = c.req.valid("json");
  return c.json(
    await edits.editMessage(depsFrom(c), pendingCallerOf(c), c.req.valid("param").id, content),
    200,
  );
};

export const retryMessage: RouteHandler<typeof routes.retryMessage, AppEnv> = async (c) =>
  c.json(await edits.retryMessage(depsFrom(c), pendingCallerOf(c), c.req.valid("param").id), 200);
