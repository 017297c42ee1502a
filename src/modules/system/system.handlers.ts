import type { RouteHandler } from "@hono/zod-openapi";
import packageJson from "../../../package.json";
import type { AppEnv } from "../../core/app-env";
import type { liveness, readiness } from "./system.routes";
import { checkDatabase } from "./system.service";

export const getLiveness: RouteHandler<typeof liveness, AppEnv> = (c) =>
  c.json({ status: "ok" as const }, 200);

export const getReadiness: RouteHandler<typeof readiness, AppEnv> = async (c) => {
  await checkDatabase(c.var.db);
  return c.json({ status: "ok" as const, db: "ok" as const, version: packageJson.version }, 200);
};
