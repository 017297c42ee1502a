import { createRouter } from "../../core/router";
import * as handlers from "./sharing.handlers";
import * as routes from "./sharing.routes";

/** Share links of conversations and the public /p/{token} view. */
export const sharingRouter = createRouter()
  .openapi(routes.createShareLink, handlers.createShareLink)
  .openapi(routes.listShareLinks, handlers.listShareLinks)
  .openapi(routes.revokeShareLink, handlers.revokeShareLink)
  .openapi(routes.viewSharedConversation, handlers.viewSharedConversation);
