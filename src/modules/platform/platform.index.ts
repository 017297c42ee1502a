import { createRouter } from "../../core/router";
import * as handlers from "./platform.handlers";
import * as routes from "./platform.routes";

/** /api/platform: operations for platform admins (maintenance jobs). */
export const platformRouter = createRouter()
  .openapi(routes.listJobRuns, handlers.listJobRuns)
  .openapi(routes.runJobNow, handlers.runJobNow);
