import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../core/app-env";
import { ApiError } from "../core/errors";

/**
 * Security headers on every response. The CSP allows only same-origin scripts and styles so the self-served
 * Swagger UI and built-in pages work (Swagger UI sets inline style attributes, hence 'unsafe-inline' for
 * styles only); no framing anywhere.
 */
export const securityHeaders = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'self'"],
    scriptSrc: ["'self'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", "data:"],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    baseUri: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
  strictTransportSecurity: "max-age=63072000; includeSubDomains",
  xFrameOptions: "DENY",
  referrerPolicy: "no-referrer",
  crossOriginResourcePolicy: false,
  crossOriginEmbedderPolicy: false,
  xXssProtection: false,
});

/** CORS for the configured origins only. Bearer tokens, not cookies: no credentials mode. */
export const corsFromConfig = createMiddleware<AppEnv>((c, next) =>
  cors({
    origin: (origin) => (c.var.config.CORS_ORIGIN.includes(origin) ? origin : null),
    allowMethods: ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
    allowHeaders: ["Authorization", "Content-Type", "X-Workspace-Id", "Idempotency-Key"],
    exposeHeaders: [
      "X-Request-Id",
      "Retry-After",
      "RateLimit-Limit",
      "RateLimit-Remaining",
      "RateLimit-Reset",
      "WWW-Authenticate",
    ],
    maxAge: 600,
  })(c, next),
);

/** Default request-body cap; routes that accept files apply their own (avatar 2 MB, uploads stream). */
export const DEFAULT_BODY_LIMIT = 256 * 1024;
const OWN_LIMIT_PREFIXES = ["/api/uploads/", "/api/users/me/avatar"];

const defaultLimit = bodyLimit({
  maxSize: DEFAULT_BODY_LIMIT,
  onError: () => {
    throw new ApiError("PAYLOAD_TOO_LARGE", `Request bodies are limited to ${DEFAULT_BODY_LIMIT} bytes.`);
  },
});

export const limitBody: MiddlewareHandler<AppEnv> = (c, next) =>
  OWN_LIMIT_PREFIXES.some((p) => c.req.path.startsWith(p)) ? next() : defaultLimit(c, next);
