import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./core/app-env";
import { mountDocs } from "./core/docs";
import { handleError } from "./core/error-handler";
import { ApiError, problemResponse } from "./core/errors";
import { mountPages } from "./core/pages";
import { requestContext } from "./middleware/request-context";
import { corsFromConfig, limitBody, securityHeaders } from "./middleware/security";
import { adminRouter } from "./modules/admin/admin.index";
import { auditRouter } from "./modules/audit/audit.index";
import { authRouter } from "./modules/auth/auth.index";
import { keysRouter } from "./modules/auth/keys.index";
import { chatRouter } from "./modules/chat/chat.index";
import { conversationsRouter } from "./modules/conversations/conversations.index";
import { filesRouter } from "./modules/files/files.index";
import { messagesRouter } from "./modules/messages/messages.index";
import { oauthRouter } from "./modules/oauth/oauth.index";
import { personasRouter } from "./modules/personas/personas.index";
import { platformRouter } from "./modules/platform/platform.index";
import { sharingRouter } from "./modules/sharing/sharing.index";
import { systemRouter } from "./modules/system/system.index";
import { usersRouter } from "./modules/users/users.index";
import { webhooksRouter } from "./modules/webhooks/webhooks.index";
import { workspacesRouter } from "./modules/workspaces/workspaces.index";

/**
 * The whole HTTP surface. Middleware order matters: request context first (trace id, config, db, log line),
 * then security headers, CORS and the body cap; module routers mount at "/" with full paths.
 */
export function createApp() {
  const app = new OpenAPIHono<AppEnv>();
  app.use("*", requestContext, securityHeaders, corsFromConfig, limitBody);

  app.route("/", systemRouter);
  app.route("/", authRouter);
  app.route("/", keysRouter);
  app.route("/", oauthRouter);
  app.route("/", usersRouter);
  app.route("/", personasRouter);
  app.route("/", chatRouter);
  app.route("/", webhooksRouter);
  app.route("/", conversationsRouter);
  app.route("/", messagesRouter);
  app.route("/", sharingRouter);
  app.route("/", filesRouter);
  app.route("/", auditRouter);
  app.route("/", workspacesRouter);
  app.route("/", adminRouter);
  app.route("/", platformRouter);
  mountDocs(app);
  mountPages(app);

  app.notFound((c) =>
    problemResponse(new ApiError("NOT_FOUND", "No route matches this path."), c.var.traceId),
  );
  app.onError(handleError);
  return app;
}
