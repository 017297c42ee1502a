/** Shared OpenAPI pieces: the problem+json schema and the error responses every route spreads in. */
import { z } from "@hono/zod-openapi";
import { ERROR_CATALOGUE, ERROR_CODES, type ErrorCode } from "./errors";

export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: "/docs/errors#NOT_FOUND" }),
    title: z.string().openapi({ example: "Not found" }),
    status: z.number().int().openapi({ example: 404 }),
    detail: z.string().openapi({ example: "Not found." }),
    code: z.enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]]).openapi({ example: "NOT_FOUND" }),
    traceId: z.string().openapi({ example: "8f14e45fceea167a5a36dedd4bea2543" }),
    errors: z
      .array(z.object({ path: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "Field errors (VALIDATION_FAILED only)" }),
  })
  .catchall(z.unknown())
  .openapi("Problem", { description: "RFC 9457 problem details" });

/** Every 423 (login lock), 429 (rate limits, persona window) and 503 answer carries Retry-After. */
const RETRY_AFTER_STATUSES: ReadonlySet<number> = new Set([423, 429, 503]);
// A fresh object per response: a shared one would come out of the YAML document as anchors and aliases.
const retryAfterHeader = () => ({
  description: "Seconds to wait before retrying",
  schema: { type: "integer", minimum: 0, maximum: 86400, format: "int32" },
});

/**
 * Documented error responses for the given codes, grouped by HTTP status, each with an example body.
 * Usage in createRoute: `responses: { 200: …, ...errorResponses("VALIDATION_FAILED", "NOT_FOUND") }`.
 */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set([...codes, "INTERNAL" as const])) {
    const status = ERROR_CATALOGUE[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<
    number,
    { description: string; headers?: Record<string, unknown>; content: Record<string, unknown> }
  > = {};
  for (const [status, list] of byStatus) {
    responses[status] = {
      description: list.map((code) => `${code}: ${ERROR_CATALOGUE[code].description}`).join(" · "),
      ...(RETRY_AFTER_STATUSES.has(status) ? { headers: { "Retry-After": retryAfterHeader() } } : {}),
      content: {
        "application/problem+json": {
          schema: ProblemSchema,
          examples: Object.fromEntries(
            list.map((code) => [
              code,
              {
                value: {
                  type: `/docs/errors#${code}`,
                  title: ERROR_CATALOGUE[code].title,
                  status,
                  detail: ERROR_CATALOGUE[code].description,
                  code,
                  traceId: "8f14e45fceea167a5a36dedd4bea2543",
                },
              },
            ]),
          ),
        },
      },
    };
  }
  return responses;
}

/** Every authenticated route can answer these. */
export const AUTHENTICATED_ERRORS = ["UNAUTHENTICATED", "RATE_LIMITED", "DATABASE_UNAVAILABLE"] as const;

export const bearerSecurity = [{ bearerAuth: [] }];

/**
 * The OpenAPI extension naming the role an operation requires beyond a valid bearer token. The generated
 * role-matrix suite (test/isolation/role-matrix.test.ts) reads it from /docs/openapi.json and checks that
 * every such operation answers 401 without a token and 403 FORBIDDEN to a caller below the role — so a route
 * is covered by declaring it, next to the middleware that enforces it:
 *
 * @example
 * createRoute({ method: "get", path: "/api/admin/stats", ...adminOnly,
 *   middleware: [requireAuth, requireAdmin] as const, … })
 */
export const REQUIRED_ROLE_EXTENSION = "x-required-role";
export type RequiredRole = "admin" | "platform-admin";

/** Spread into createRoute for routes only an ADMIN of the caller's workspace may call (`requireAdmin`). */
export const adminOnly = { [REQUIRED_ROLE_EXTENSION]: "admin" } as { "x-required-role": "admin" };

/** Spread into createRoute for routes only platform admins may call (`requirePlatformAdmin`). */
export const platformAdminOnly = { [REQUIRED_ROLE_EXTENSION]: "platform-admin" } as {
  "x-required-role": "platform-admin";
};
