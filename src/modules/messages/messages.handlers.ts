import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./messages.routes";
import * as reactions from "./reactions.service";

export const toggleReaction: RouteHandler<typeof routes.toggleReaction, AppEnv> = async (c) => {
  const { type } = c.req.valid("json");
  return c.json(await reactions.toggleReaction(depsFrom(c), authOf(c), c.req.valid("param").id, type), 200);
};
