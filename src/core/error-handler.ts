import { DrizzleQueryError } from "drizzle-orm";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { isDatabaseUnavailable } from "../db/client";
import { ConfigError } from "../env";
import type { AppEnv } from "./app-env";
import { ApiError, problemResponse } from "./errors";
import { createLogger, errorFields } from "./logger";

/** Seconds a client should wait before retrying when the database is unreachable. */
const DATABASE_RETRY_AFTER_SECONDS = 5;

/**
 * The one error renderer. Known errors keep their code; anything else is logged with its stack and trace id
 * and answered as a generic 500 INTERNAL — never a stack, SQL text or SQLSTATE.
 */
export function handleError(error: unknown, c: Context<AppEnv>): Response {
  const traceId = c.var.traceId ?? "unknown";
  const log = c.var.log ?? createLogger("info", { traceId });
  return problemResponse(toApiError(error, log), traceId);
}

/**
 * The ApiError a database driver wrapped: drizzle wraps whatever a statement rejects with, and a statement
 * held for the session check (`holdCommitsUntil`) rejects with the check's 401/403/404.
 */
function wrappedApiError(error: unknown): ApiError | undefined {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ApiError) return e;
    if (!(e instanceof DrizzleQueryError)) return undefined; // only unwrap what the driver wrapped
  }
  return undefined;
}

function toApiError(thrown: unknown, log: ReturnType<typeof createLogger>): ApiError {
  const error = wrappedApiError(thrown) ?? thrown;
  if (error instanceof ApiError) {
    if (error.status >= 500) {
      // A persona's webhook failing is the customer's outage, not ours: a warning, not an error.
      const level = error.code.startsWith("PERSONA_") ? "warn" : "error";
      log[level](error.message, { code: error.code, ...(error.cause ? errorFields(error.cause) : {}) });
    }
    return error;
  }
  if (error instanceof ConfigError) {
    log.error("invalid configuration", { problems: error.problems });
    return new ApiError("CONFIG_INVALID", "The server is misconfigured. The operators have been told.");
  }
  if (isDatabaseUnavailable(error)) {
    log.error("database unavailable", errorFields(error));
    return new ApiError("DATABASE_UNAVAILABLE", "The database is unreachable. Please retry shortly.", {
      headers: { "Retry-After": String(DATABASE_RETRY_AFTER_SECONDS) },
    });
  }
  if (error instanceof HTTPException) {
    if (error.status === 413) return new ApiError("PAYLOAD_TOO_LARGE");
    if (error.status === 415) {
      // @hono/zod-openapi's media-type gate: a body that is not the declared type (usually a JSON body sent
      // without `Content-Type: application/json`).
      return new ApiError("UNSUPPORTED_MEDIA_TYPE", "Send the body as application/json.");
    }
    if (error.status === 400) {
      // e.g. malformed JSON, caught by the validator before zod runs.
      return new ApiError("VALIDATION_FAILED", "The request is invalid.", {
        errors: [{ path: "(body)", message: error.message }],
      });
    }
  }
  log.error("unhandled error", errorFields(error));
  return new ApiError("INTERNAL", "Something went wrong. Quote the trace id when reporting it.");
}
