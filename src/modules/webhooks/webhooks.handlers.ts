import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import * as traits from "./traits.service";
import type * as routes from "./webhooks.routes";
import { webhooksHealth as health } from "./webhooks.service";

export const webhooksHealth: RouteHandler<typeof routes.webhooksHealth, AppEnv> = async (c) => {
  c.header("Cache-Control", "no-store");
  return c.json(await health(depsFrom(c), c.get("auth")?.workspaceId), 200);
};

export const updateTraits: RouteHandler<typeof routes.updateTraits, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const auth = c.get("auth");
  if (auth) return c.json(await traits.updateTraitsAsAdmin(depsFrom(c), auth, input), 200);
  const headers = c.req.valid("header");
  // The validator parsed the cached raw text, so this is byte for byte what was signed.
  const rawBody = await c.req.text();
  const signed = {
    id: headers["webhook-id"],
    timestamp: headers["webhook-timestamp"],
    signature: headers["webhook-signature"],
  };
  return c.json(await traits.updateTraitsSigned(depsFrom(c), input, signed, rawBody), 200);
};
