import { createRouter } from "../../core/router";
import * as handlers from "./admin.handlers";
import * as routes from "./admin.routes";

/** /api/admin: user lifecycle and statistics for admins of the caller's workspace. */
export const adminRouter = createRouter()
  .openapi(routes.listUsers, handlers.listUsers)
  .openapi(routes.getStats, handlers.getStats)
  .openapi(routes.getUser, handlers.getUser)
  .openapi(routes.activateUser, handlers.activateUser)
  .openapi(routes.deactivateUser, handlers.deactivateUser)
  .openapi(routes.promoteUser, handlers.promoteUser)
  .openapi(routes.demoteUser, handlers.demoteUser);
