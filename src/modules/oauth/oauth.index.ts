import { createRouter } from "../../core/router";
import * as handlers from "./oauth.handlers";
import * as routes from "./oauth.routes";

/** /api/auth/google*, /api/auth/oauth/exchange: Google sign-in and account linking. */
export const oauthRouter = createRouter()
  .openapi(routes.googleStart, handlers.googleStart)
  .openapi(routes.googleCallback, handlers.googleCallback)
  .openapi(routes.googleLink, handlers.googleLink)
  .openapi(routes.oauthExchange, handlers.oauthExchange);
