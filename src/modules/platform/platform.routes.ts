import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses, platformAdminOnly } from "../../core/openapi";
import { requireAuth, requirePlatformAdmin } from "../../middleware/auth";
import { JobNameParam, JobRunListSchema, JobRunSchema } from "./platform.schemas";

export const listJobRuns = createRoute({
  method: "get",
  path: "/api/platform/jobs",
  tags: ["Platform"],
  operationId: "listJobRuns",
  summary: "Recent maintenance job runs",
  description: "The 50 most recent runs of every job (cron or manual), newest first, with their counts.",
  security: bearerSecurity,
  middleware: [requireAuth, requirePlatformAdmin] as const,
  ...platformAdminOnly,
  responses: {
    200: { description: "Recent runs", content: { "application/json": { schema: JobRunListSchema } } },
    ...errorResponses(...AUTHENTICATED_ERRORS, "FORBIDDEN"),
  },
});

export const runJobNow = createRoute({
  method: "post",
  path: "/api/platform/jobs/{name}/run",
  tags: ["Platform"],
  operationId: "runJob",
  summary: "Run one maintenance job now",
  description:
    "Starts the job in the background and answers 202 with its RUNNING row; poll GET /api/platform/jobs for " +
    "the outcome. Names: tokens, files, sessions, shares, chat-runs, emails, unverified-accounts, " +
    "account-purge, workspace-purge, conversation-purge, key-rotation, retention, orphan-objects.",
  security: bearerSecurity,
  middleware: [requireAuth, requirePlatformAdmin] as const,
  ...platformAdminOnly,
  request: { params: JobNameParam },
  responses: {
    202: { description: "Started", content: { "application/json": { schema: JobRunSchema } } },
    ...errorResponses(...AUTHENTICATED_ERRORS, "FORBIDDEN", "NOT_FOUND"),
  },
});
