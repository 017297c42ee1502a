import { createRouter } from "../../core/router";
import * as handlers from "./messages.handlers";
import * as routes from "./messages.routes";

/** /api/messages: reactions (edit and retry reuse the chat relay). */
export const messagesRouter = createRouter().openapi(routes.toggleReaction, handlers.toggleReaction);
