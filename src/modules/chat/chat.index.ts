import { createRouter } from "../../core/router";
import * as handlers from "./chat.handlers";
import * as routes from "./chat.routes";

/** POST /api/personas/{id}/chat: the relay to persona webhooks (relay.service.ts). */
export const chatRouter = createRouter().openapi(routes.chatWithPersona, handlers.chatWithPersona);
