import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { pendingCallerOf } from "../../middleware/auth";
import type * as routes from "./chat.routes";
import { relayTurn } from "./relay.service";

export const chatWithPersona: RouteHandler<typeof routes.chatWithPersona, AppEnv> = async (c) => {
  const { message, conversationId, parentId, fileIds } = c.req.valid("json");
  const personaId = c.req.valid("param").id;
  return c.json(
    await relayTurn(depsFrom(c), pendingCallerOf(c), {
      kind: "chat",
      personaId,
      message,
      conversationId,
      parentId,
      fileIds,
    }),
    200,
  );
};
