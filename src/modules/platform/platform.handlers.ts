import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./platform.routes";
import * as platform from "./platform.service";

export const listJobRuns: RouteHandler<typeof routes.listJobRuns, AppEnv> = async (c) =>
  c.json({ items: await platform.listJobRuns(depsFrom(c)) }, 200);

export const runJobNow: RouteHandler<typeof routes.runJobNow, AppEnv> = async (c) =>
  c.json(
    await platform.triggerJob(c.env, c.executionCtx, depsFrom(c), authOf(c), c.req.valid("param").name),
    202,
  );
