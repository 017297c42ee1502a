import { OpenAPIHono } from "@hono/zod-openapi";
import type { ZodError } from "zod";
import type { AppEnv } from "./app-env";
import { ApiError, type FieldError } from "./errors";

/** zod issues → `errors[]` of a VALIDATION_FAILED problem; paths are prefixed with where the value came from. */
export function fieldErrors(error: ZodError, target?: string): FieldError[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join(".");
    const where = target && target !== "json" ? `${target}${path ? "." : ""}` : "";
    return { path: `${where}${path}` || "(root)", message: issue.message };
  });
}

/** A module router: OpenAPI-aware Hono whose validation failures become 400 VALIDATION_FAILED problems. */
export function createRouter() {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) {
        throw new ApiError("VALIDATION_FAILED", "The request is invalid.", {
          errors: fieldErrors(result.error as ZodError, result.target),
        });
      }
    },
  });
}

export type AppRouter = ReturnType<typeof createRouter>;
