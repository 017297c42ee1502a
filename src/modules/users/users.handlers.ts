import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf, tokenCallerOf } from "../../middleware/auth";
import * as account from "../auth/account.service";
import * as avatars from "./avatar.service";
import type * as routes from "./users.routes";
import * as users from "./users.service";

export const getMe: RouteHandler<typeof routes.getMe, AppEnv> = async (c) =>
  c.json(await users.getProfile(depsFrom(c), authOf(c)), 200);

export const updateMe: RouteHandler<typeof routes.updateMe, AppEnv> = async (c) =>
  c.json(await users.updateProfile(depsFrom(c), tokenCallerOf(c), c.req.valid("json")), 200);

export const uploadAvatar: RouteHandler<typeof routes.uploadAvatar, AppEnv> = async (c) => {
  const upload = await avatars.readAvatarUpload(c.req.raw);
  return c.json(await avatars.uploadAvatar(depsFrom(c), authOf(c), upload), 200);
};

export const getAvatar: RouteHandler<typeof routes.getAvatar, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const { exp, sig } = c.req.valid("query");
  const ifNoneMatch = c.req.header("If-None-Match");
  return avatars.serveAvatar(depsFrom(c), { userId: id, exp, sig, ifNoneMatch });
};

export const changePassword: RouteHandler<typeof routes.changePassword, AppEnv> = async (c) => {
  await account.changePassword(depsFrom(c), authOf(c), c.req.valid("json"));
  return c.json({ message: "Your password was changed. Other sessions were signed out." }, 200);
};
