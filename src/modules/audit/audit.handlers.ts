import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../core/app-env";
import { depsFrom } from "../../core/deps";
import { authOf } from "../../middleware/auth";
import type * as routes from "./audit.routes";
import * as auditEvents from "./audit-events.service";

export const listAuditEvents: RouteHandler<typeof routes.listAuditEvents, AppEnv> = async (c) => {
  const input = c.req.valid("query");
  const { workspaceId } = authOf(c);
  if (input.format === "ndjson") {
    const stream = await auditEvents.exportAuditEvents(depsFrom(c), workspaceId, input);
    const day = new Date().toISOString().slice(0, 10);
    // Same status, another media type: zod-openapi types a 200 by its JSON schema only, hence the cast.
    return c.body(stream, 200, {
      "Content-Type": "application/x-ndjson; charset=utf-8",
      "Content-Disposition": `attachment; filename="audit-events-${day}.ndjson"`,
      "Cache-Control": "no-store",
    }) as never;
  }
  return c.json(await auditEvents.listAuditEvents(depsFrom(c), workspaceId, input), 200);
};
