import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { pendingCallerOf } from "../../middleware/auth";
import { JWKS_CACHE_CONTROL, type jwks, type rootJwks, type rotateKeys } from "./keys.routes";
import { getJwks, rotateSigningKeys } from "./signing-keys.service";

export const getJwksDocument: RouteHandler<typeof jwks | typeof rootJwks, AppEnv> = async (c) => {
  c.header("Cache-Control", JWKS_CACHE_CONTROL);
  return c.json(await getJwks(depsFrom(c)), 200);
};

export const postRotateKeys: RouteHandler<typeof rotateKeys, AppEnv> = async (c) => {
  const result = await rotateSigningKeys(depsFrom(c), pendingCallerOf(c));
  return c.json(result, 200);
};
