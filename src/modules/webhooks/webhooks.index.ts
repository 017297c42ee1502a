import { createRouter } from "../../core/router";
import * as handlers from "./webhooks.handlers";
import * as routes from "./webhooks.routes";

/** /api/webhooks: breaker health counts and the traits webhook. */
export const webhooksRouter = createRouter()
  .openapi(routes.webhooksHealth, handlers.webhooksHealth)
  .openapi(routes.updateTraits, handlers.updateTraits);
