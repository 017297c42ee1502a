import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./files.routes";
import * as service from "./files.service";

export const createUpload: RouteHandler<typeof routes.createUpload, AppEnv> = async (c) =>
  c.json(
    await service.createUpload(depsFrom(c), authOf(c), c.req.valid("param").id, c.req.valid("json")),
    201,
  );

export const uploadFile: RouteHandler<typeof routes.uploadFile, AppEnv> = async (c) =>
  c.json(await service.receiveUpload(depsFrom(c), c.req.valid("param").token, c.req.raw), 200);

export const downloadFile: RouteHandler<typeof routes.downloadFile, AppEnv> = async (c) => {
  const { exp, sig } = c.req.valid("query");
  const caller = sig === undefined ? authOf(c) : undefined;
  return service.serveFile(depsFrom(c), { fileId: c.req.valid("param").id, exp, sig, caller });
};
