/**
 * Built-in pages for the links the API mails and redirects to (DESIGN.md "Built-in pages"). Served from the
 * static assets only when FRONTEND_URL is not set — with a real frontend these paths belong to it, and the
 * Worker answers 404 like any unknown path.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./app-env";
import { serveAsset } from "./docs";
import { ApiError } from "./errors";

/** Page path → its file under static/pages/. Issues that mail further links add their pages here. */
export const BUILT_IN_PAGES: Record<string, string> = {
  "/verify-email": "/pages/verify-email.html",
  "/reset-password": "/pages/reset-password.html",
  "/cancel-deletion": "/pages/cancel-deletion.html",
  "/accept-invite": "/pages/accept-invite.html",
  "/oauth/callback": "/pages/oauth-callback.html",
};

export function mountPages(app: OpenAPIHono<AppEnv>) {
  for (const [path, file] of Object.entries(BUILT_IN_PAGES)) {
    app.get(path, async (c) => {
      if (!c.var.config.builtInPages) throw new ApiError("NOT_FOUND", "No route matches this path.");
      const res = await serveAsset(c, file);
      // The URL carries a single-use token: keep it out of caches and Referer headers.
      res.headers.set("Cache-Control", "no-store");
      res.headers.set("Referrer-Policy", "no-referrer");
      return res;
    });
  }
  app.get("/pages/*", (c) => serveAsset(c, c.req.path));
}
