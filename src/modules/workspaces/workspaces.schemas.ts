import { z } from "@hono/zod-openapi";
import { JOIN_POLICIES, WORKSPACE_KINDS, WORKSPACE_STATUSES } from "../../db/schema";

/** The caller's workspace as the login response carries it. */
export const WorkspaceSummarySchema = z
  .object({
    id: z.uuid(),
    name: z.string().openapi({ example: "acme.example" }),
    kind: z.enum(WORKSPACE_KINDS),
    domain: z.string().nullable().openapi({ example: "acme.example" }),
    joinPolicy: z.enum(JOIN_POLICIES),
    status: z.enum(WORKSPACE_STATUSES),
    timezone: z.string().openapi({ example: "UTC" }),
    locale: z.string().openapi({ example: "en" }),
  })
  .openapi("WorkspaceSummary");
export type WorkspaceSummaryDto = z.infer<typeof WorkspaceSummarySchema>;
