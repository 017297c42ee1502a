import { createRouter } from "../../core/router";
import * as handlers from "./users.handlers";
import * as routes from "./users.routes";

/** /api/users: the signed-in user's profile and password. */
export const usersRouter = createRouter().openapi(routes.changePassword, handlers.changePassword);
