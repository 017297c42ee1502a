import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./chat.routes";
import { relayChat } from "./relay.service";

export const chatWithPersona: RouteHandler<typeof routes.chatWithPersona, AppEnv> = async (c) => {
  const { message, conversationId, parentId } = c.req.valid("json");
  const personaId = c.req.valid("param").id;
  return c.json(
    await relayChat(depsFrom(c), authOf(c), { personaId, message, conversationId, parentId }),
    200,
  );
};
