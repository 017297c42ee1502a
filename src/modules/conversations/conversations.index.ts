import { createRouter } from "../../core/router";
import * as handlers from "./conversations.handlers";
import * as routes from "./conversations.routes";

/** /api/conversations: create, list, branch view, title/leaf, visibility, archive, delete. */
export const conversationsRouter = createRouter()
  .openapi(routes.createConversation, handlers.createConversation)
  .openapi(routes.listConversations, handlers.listConversations)
  .openapi(routes.getConversation, handlers.getConversation)
  .openapi(routes.updateConversation, handlers.updateConversation)
  .openapi(routes.setVisibility, handlers.setVisibility)
  .openapi(routes.setArchived, handlers.setArchived)
  .openapi(routes.deleteConversation, handlers.deleteConversation);
