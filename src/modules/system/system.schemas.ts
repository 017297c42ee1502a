import { z } from "@hono/zod-openapi";

export const LivenessSchema = z.object({ status: z.literal("ok") }).openapi("Liveness");

export const ReadinessSchema = z
  .object({
    status: z.literal("ok"),
    db: z.literal("ok"),
    version: z.string().openapi({ example: "0.1.0" }),
  })
  .openapi("Readiness");
