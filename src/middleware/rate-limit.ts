import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../core/app-env";
import { enforceRateLimit, rateLimitHeaders } from "../core/rate-limit";
import type { RateLimitScope } from "../env";

/**
 * Counts the request against `scope` before the handler runs (so a refused request stores nothing) and adds
 * RateLimit-Limit/-Remaining/-Reset to the response. A refused request ends here as 429 RATE_LIMITED with
 * Retry-After, rendered by onError. Needs `requestContext` first (config, log).
 *
 * @example rateLimit("REGISTER_IP", (c) => c.var.clientIp)
 */
export function rateLimit(
  scope: RateLimitScope,
  subjectOf: (c: Context<AppEnv>) => string | Promise<string>,
) {
  return createMiddleware<AppEnv>(async (c, next) => {
    const deps = { env: c.env, config: c.var.config, log: c.var.log };
    const decision = await enforceRateLimit(deps, scope, await subjectOf(c));
    await next();
    // After next(): c.header then lands on whatever response the handler (or onError) produced.
    for (const [name, value] of Object.entries(rateLimitHeaders(decision))) c.header(name, value);
  });
}
