import type { RouteHandler } from "@hono/zod-openapi";
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./oauth.routes";
import * as oauth from "./oauth.service";
import { FLOW_COOKIE, FLOW_COOKIE_PATH, FLOW_TTL_SECONDS } from "./oauth-flow";

const COOKIE_OPTIONS = { path: FLOW_COOKIE_PATH, httpOnly: true, secure: true, sameSite: "Lax" } as const;

/** A redirect nobody caches; Referrer-Policy no-referrer is already on every response. */
const redirect = (c: Context<AppEnv>, location: string) => {
  c.header("Cache-Control", "no-store");
  return c.redirect(location, 302);
};

export const googleStart: RouteHandler<typeof routes.googleStart, AppEnv> = async (c) => {
  const { location, cookie } = await oauth.startGoogleFlow(depsFrom(c), c.req.valid("query").link);
  if (cookie) setCookie(c, FLOW_COOKIE, cookie, { ...COOKIE_OPTIONS, maxAge: FLOW_TTL_SECONDS });
  return redirect(c, location);
};

export const googleCallback: RouteHandler<typeof routes.googleCallback, AppEnv> = async (c) => {
  const location = await oauth.finishGoogleFlow(depsFrom(c), c.req.valid("query"), getCookie(c, FLOW_COOKIE));
  // One flow per cookie: whatever happened, the browser forgets it.
  deleteCookie(c, FLOW_COOKIE, COOKIE_OPTIONS);
  return redirect(c, location);
};

export const googleLink: RouteHandler<typeof routes.googleLink, AppEnv> = async (c) =>
  c.json(await oauth.createLinkUrl(depsFrom(c), authOf(c)), 200);

export const oauthExchange: RouteHandler<typeof routes.oauthExchange, AppEnv> = async (c) =>
  c.json(await oauth.exchangeOauthCode(depsFrom(c), c.req.valid("json").code), 200);
