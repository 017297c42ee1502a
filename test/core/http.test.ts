import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../src/index";
import { signIn } from "../helpers/auth";
import { createTenant } from "../helpers/factories";
import { api, BASE_URL, describeResponse } from "../helpers/request";

/** Calls the Worker's fetch directly with a modified copy of the bindings. */
async function fetchWith(overrides: Record<string, unknown>, path: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(new URL(path, BASE_URL)), { ...env, ...overrides }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const expectProblem = (body: any, code: string, status: number) => {
  expect(body).toMatchObject({ type: `/docs/errors#${code}`, status, code });
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  expect(body.traceId).toMatch(/^[0-9a-f]{32}$/);
};

describe("problem+json errors", () => {
  it("answers an unknown route with a 404 problem", async () => {
    const res = await api("GET", "/api/nope");
    expect(res.status, describeResponse(res)).toBe(404);
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
    expectProblem(res.body, "NOT_FOUND", 404);
    expect(res.headers.get("X-Request-Id")).toBe(res.body.traceId);
  });

  it("refuses a body over the default limit with 413 before any handler runs", async () => {
    const res = await api("POST", "/api/auth/health", {
      rawBody: "x".repeat(300 * 1024),
      headers: { "Content-Type": "application/json" },
    });
    expect(res.status, describeResponse(res)).toBe(413);
    expectProblem(res.body, "PAYLOAD_TOO_LARGE", 413);
  });

  it("answers 503 DATABASE_UNAVAILABLE with Retry-After when Postgres is unreachable, without internals", async () => {
    const res = await fetchWith(
      { HYPERDRIVE: { connectionString: "postgres://postgres:postgres@127.0.0.1:1/none" } },
      "/api/auth/health",
    );
    const body = (await res.json()) as any;
    expect(res.status, JSON.stringify(body)).toBe(503);
    expectProblem(body, "DATABASE_UNAVAILABLE", 503);
    expect(res.headers.get("Retry-After")).toBe("5");
    expect(JSON.stringify(body)).not.toMatch(/ECONNREFUSED|SQLSTATE|at .*\.ts|postgres:\/\//);
  });

  it("keeps liveness up while the database is down", async () => {
    const res = await fetchWith(
      { HYPERDRIVE: { connectionString: "postgres://postgres:postgres@127.0.0.1:1/none" } },
      "/health",
    );
    expect(res.status).toBe(200);
  });

  it("answers 500 CONFIG_INVALID when a variable is invalid, naming nothing to the client", async () => {
    const res = await fetchWith({ ENCRYPTION_KEY: "too-short" }, "/health");
    const body = (await res.json()) as any;
    expect(res.status).toBe(500);
    expectProblem(body, "CONFIG_INVALID", 500);
    expect(JSON.stringify(body)).not.toContain("ENCRYPTION_KEY");
  });

  it("applies the production guard: private webhooks and log mail are refused in production", async () => {
    const res = await fetchWith(
      { ENVIRONMENT: "production", APP_BASE_URL: "https://api.example.com", EMAIL_TRANSPORT: "log" },
      "/health",
    );
    expect(res.status).toBe(500);
    expect(((await res.json()) as any).code).toBe("CONFIG_INVALID");
  });
});

describe("response headers", () => {
  it("sets security headers, a request id and Server-Timing outside /api/auth", async () => {
    const res = await api("GET", "/health");
    expect(res.headers.get("Content-Security-Policy")).toContain("frame-ancestors 'none'");
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(res.headers.get("Strict-Transport-Security")).toMatch(/max-age=\d+/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
    expect(res.headers.get("X-Request-Id")).toMatch(/^[0-9a-f]{32}$/);
    expect(res.headers.get("Server-Timing")).toMatch(
      /^db;dur=[\d.]+;desc="\d+ round trips", app;dur=[\d.]+$/,
    );
  });

  it("never sends Server-Timing on /api/auth routes called without a bearer token", async () => {
    const res = await api("GET", "/api/auth/health");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.headers.get("Server-Timing")).toBeNull();
    const login = await api("POST", "/api/auth/login", {
      body: { email: "nobody@example.com", password: "x" },
    });
    expect(login.headers.get("Server-Timing")).toBeNull();
  });

  it("sends no Server-Timing on a refused request whose read ran beside the session check", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const refused = await api("GET", "/api/admin/users?search=a", { token: accessToken });
    expect(refused.status, describeResponse(refused)).toBe(403);
    expect(refused.headers.get("Server-Timing")).toBeNull();
  });

  it("sends Server-Timing on /api/auth only once the session check passed, never for a bare header", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const sessions = await api("GET", "/api/auth/sessions", { token: accessToken });
    expect(sessions.status, describeResponse(sessions)).toBe(200);
    expect(sessions.headers.get("Server-Timing")).toMatch(/round trips/);
    // A header alone (any token, or a live one) does not buy timing on the credential routes.
    for (const token of ["not-a-token", accessToken]) {
      const login = await api("POST", "/api/auth/login", {
        token,
        body: { email: member.email, password: "wrong-password-1" },
      });
      expect(login.status, describeResponse(login)).toBe(401);
      expect(login.headers.get("Server-Timing")).toBeNull();
    }
  });

  it("takes the trace id from cf-ray when present", async () => {
    const res = await api("GET", "/health", { headers: { "cf-ray": "8f14e45fceea167a-AMS" } });
    expect(res.headers.get("X-Request-Id")).toBe("8f14e45fceea167a");
  });
});

describe("CORS", () => {
  it("allows the configured frontend origin", async () => {
    const res = await api("OPTIONS", "/api/auth/health", {
      headers: {
        Origin: env.CORS_ORIGIN as string,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get("Access-Control-Allow-Origin")).toBe(env.CORS_ORIGIN);
    expect(res.headers.get("Access-Control-Allow-Headers")?.toLowerCase()).toContain("authorization");
    expect(res.headers.get("Access-Control-Allow-Credentials")).toBeNull();
  });

  it("does not allow other origins", async () => {
    const res = await api("GET", "/health", { headers: { Origin: "https://evil.example" } });
    expect(res.headers.get("Access-Control-Allow-Origin")).toBeNull();
  });
});

describe("GET /health and GET /api/auth/health", () => {
  it("liveness answers ok", async () => {
    const res = await api("GET", "/health");
    expect(res.body).toEqual({ status: "ok" });
  });

  it("readiness checks the database and reports the version", async () => {
    const res = await api("GET", "/api/auth/health");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toEqual({ status: "ok", db: "ok", version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
  });
});

describe("request bodies of the wrong media type", () => {
  it("answers 415 UNSUPPORTED_MEDIA_TYPE, not 500, for a JSON route sent another content type", async () => {
    for (const headers of [{ "Content-Type": "text/plain" }, {}] as Record<string, string>[]) {
      const res = await api("POST", "/api/auth/login", {
        rawBody: JSON.stringify({ email: "a@b.test", password: "x" }),
        headers,
      });
      expect(res.status, describeResponse(res)).toBe(415);
      expect(res.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    }
  });
});
