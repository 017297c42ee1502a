import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../core/app-env";
import { createLogger } from "../core/logger";
import { createDb } from "../db/client";
import { loadConfig } from "../env";

const newTraceId = () => crypto.randomUUID().replaceAll("-", "");

/**
 * First middleware: trace id (from `cf-ray`, else generated) echoed as X-Request-Id, the parsed config
 * (a bad variable throws ConfigError → 500 CONFIG_INVALID), the request's database client (ended through
 * waitUntil), the client IP, Server-Timing (db time and round trips; not on /api/auth's credential routes), and one JSON log line per request.
 */
export const requestContext = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  const traceId = c.req.header("cf-ray")?.split("-")[0] || newTraceId();
  c.set("traceId", traceId);
  c.set("clientIp", c.req.header("CF-Connecting-IP") ?? "0.0.0.0");
  let log = createLogger("info", { traceId });
  c.set("log", log);
  const { db, stats, close, holdCommitsUntil, selfGuarded } = createDb(c.env.HYPERDRIVE.connectionString);
  c.set("db", db);
  c.set("selfGuardedDb", selfGuarded);
  c.set("dbStats", stats);
  c.set("holdCommitsUntil", holdCommitsUntil);
  try {
    // Inside the try: a ConfigError becomes 500 CONFIG_INVALID through onError and is still logged below.
    const config = loadConfig(c.env);
    log = createLogger(config.LOG_LEVEL, { traceId });
    c.set("config", config);
    c.set("log", log);
    await next();
  } finally {
    // Set after next(): onError has already produced c.res when the handler threw.
    c.header("X-Request-Id", traceId);
    if (stats.count > 0) c.executionCtx.waitUntil(close().catch(() => {}));
    const duration = performance.now() - started;
    // Timing on the credential routes would help an attacker tell accounts apart (DESIGN.md "Enumeration");
    // an /api/auth call whose session check passed (sessions, logout…) is already its account and learns
    // nothing. Merely sending an Authorization header to login does not count. A refused authenticated
    // request gets none either: its first-flight read ran with the token's identity (an admin search timed by
    // a member would hint at what it found).
    const authenticated = c.get("auth") !== undefined;
    const refused = c.get("authPending") !== undefined && !authenticated;
    if (!refused && (!c.req.path.startsWith("/api/auth") || authenticated)) {
      c.header(
        "Server-Timing",
        `db;dur=${stats.ms.toFixed(1)};desc="${stats.roundTrips} round trips", app;dur=${duration.toFixed(1)}`,
      );
    }
    log.info("request", {
      method: c.req.method,
      route: c.req.routePath,
      status: c.res.status,
      durationMs: Math.round(duration * 10) / 10,
      dbQueries: stats.count,
      dbRoundTrips: stats.roundTrips,
      dbMs: Math.round(stats.ms * 10) / 10,
      userId: c.var.userId,
      workspaceId: c.var.workspaceId,
    });
  }
});
