import { z } from "@hono/zod-openapi";
import { JOB_RUN_STATUSES } from "../../db/schema";

export const JobRunSchema = z
  .object({
    id: z.uuid(),
    job: z.string().openapi({ example: "tokens" }),
    status: z.enum(JOB_RUN_STATUSES),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    stats: z.record(z.string(), z.number()).openapi({ example: { userTokens: 12, invitations: 1 } }),
    error: z.string().nullable(),
  })
  .openapi("JobRun");

export const JobRunListSchema = z.object({ items: z.array(JobRunSchema) }).openapi("JobRunList");

export const JobNameParam = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "name", in: "path" }, example: "tokens" }),
});
