import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { type Deps, depsFrom } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { authOf } from "../../middleware/auth";
import { assertReadyFiles, linkAttachments } from "../files/files.service";
import type * as routes from "./chat.routes";
import { type RelayChatInput, relayChat } from "./relay.service";

/**
 * Chat `fileIds`: checked after the conversation checks and before any limit or breaker (a refused chat uses
 * no quota), then linked to the user message in the relay's own transaction (re-checked there), which returns
 * them with signed download URLs. Files belong to a conversation: a chat that starts one has none to attach.
 */
function attachmentsFor(
  deps: Deps,
  workspaceId: string,
  conversationId: string | undefined,
  fileIds: string[],
): Pick<RelayChatInput, "beforeLimits" | "onStored"> {
  return {
    beforeLimits: async () => {
      if (!conversationId) {
        throw new ApiError("FILE_NOT_READY", "Files can only be attached in an existing conversation.");
      }
      await assertReadyFiles(deps.db, workspaceId, conversationId, fileIds);
    },
    onStored: (tx, stored) =>
      linkAttachments(deps, tx, {
        workspaceId,
        conversationId: stored.conversationId,
        messageId: stored.userMessage.id,
        fileIds,
      }),
  };
}

export const chatWithPersona: RouteHandler<typeof routes.chatWithPersona, AppEnv> = async (c) => {
  const { message, conversationId, parentId, fileIds } = c.req.valid("json");
  const personaId = c.req.valid("param").id;
  const deps = depsFrom(c);
  const caller = authOf(c);
  return c.json(
    await relayChat(deps, caller, {
      personaId,
      message,
      conversationId,
      parentId,
      ...(fileIds ? attachmentsFor(deps, caller.workspaceId, conversationId, fileIds) : {}),
    }),
    200,
  );
};
