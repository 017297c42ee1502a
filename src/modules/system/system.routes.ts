import { createRoute } from "@hono/zod-openapi";
import { errorResponses } from "../../core/openapi";
import { LivenessSchema, ReadinessSchema } from "./system.schemas";

export const liveness = createRoute({
  method: "get",
  path: "/health",
  tags: ["System"],
  operationId: "getLiveness",
  summary: "Liveness",
  description: "Answers while the Worker runs. Touches no database, so it is safe for frequent probes.",
  responses: {
    200: { description: "The Worker is up", content: { "application/json": { schema: LivenessSchema } } },
    ...errorResponses(),
  },
});

export const readiness = createRoute({
  method: "get",
  path: "/api/auth/health",
  tags: ["System"],
  operationId: "getReadiness",
  summary: "Readiness (database check)",
  description: "Runs one `SELECT 1` through Hyperdrive. 503 DATABASE_UNAVAILABLE when the database is down.",
  responses: {
    200: { description: "Ready to serve", content: { "application/json": { schema: ReadinessSchema } } },
    ...errorResponses("DATABASE_UNAVAILABLE"),
  },
});
