import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import * as account from "../auth/account.service";
import type * as routes from "./users.routes";

export const changePassword: RouteHandler<typeof routes.changePassword, AppEnv> = async (c) => {
  await account.changePassword(depsFrom(c), authOf(c), c.req.valid("json"));
  return c.json({ message: "Your password was changed. Other sessions were signed out." }, 200);
};
