import { createRouter } from "../../core/router";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

/** /api/users: the signed-in user's profile, avatar and password, and signed avatar URLs. */
export const usersRouter = createRouter()
  .openapi(routes.getMe, handlers.getMe)
  .openapi(routes.updateMe, handlers.updateMe)
  .openapi(routes.uploadAvatar, handlers.uploadAvatar)
  .openapi(routes.getAvatar, handlers.getAvatar)
  .openapi(routes.changePassword, handlers.changePassword);
