import { createRouter } from "../../core/router";
import * as handlers from "./messages.handlers";
import * as routes from "./messages.routes";

/** /api/messages: reactions, edit → branch and retry (both through the chat relay). */
export const messagesRouter = createRouter()
  .openapi(routes.toggleReaction, handlers.toggleReaction)
  .openapi(routes.editMessage, handlers.editMessage)
  .openapi(routes.retryMessage, handlers.retryMessage);
