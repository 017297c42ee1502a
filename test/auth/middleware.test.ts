/**
 * The auth middleware on a tiny app built like the real one (request context first, the real error handler),
 * so the auth context, query count and authorization helpers can be observed directly.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { type Handler, Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/core/app-env";
import { handleError } from "../../src/core/error-handler";
import { workspaces } from "../../src/db/schema";
import {
  authOf,
  bearerToken,
  requireAdmin,
  requireAuth,
  requirePlatformAdmin,
} from "../../src/middleware/auth";
import { requestContext } from "../../src/middleware/request-context";
import { invalidateSigningKeyCache } from "../../src/modules/auth/signing-keys.service";
import { getMe } from "../../src/modules/users/users.handlers";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";

const app = new Hono<AppEnv>();
app.use("*", requestContext);
app.get("/probe", requireAuth, (c) =>
  c.json({
    auth: authOf(c),
    // Statements run so far in this request: the auth context's share.
    queries: c.var.dbStats.count,
    logged: { userId: c.var.userId, workspaceId: c.var.workspaceId },
  }),
);
// GET /api/users/me's real handler, with the request's statement count added after it ran.
app.get(
  "/me-counted",
  async (c, next) => {
    await next();
    c.header("x-queries", String(c.var.dbStats.count));
  },
  requireAuth,
  getMe as unknown as Handler<AppEnv>,
);
app.get("/admin", requireAuth, requireAdmin, (c) => c.json({ ok: true }));
app.get("/platform", requireAuth, requirePlatformAdmin, (c) => c.json({ ok: true }));
app.get("/unguarded", (c) => c.json(authOf(c)));
app.onError(handleError);

async function call(
  path: string,
  token?: string,
  headers: Record<string, string> = {},
  bindings: Record<string, unknown> = {},
) {
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, "http://127.0.0.1:8787"), {
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const res = await app.fetch(request, { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}
const show = (res: { status: number; text: string }) => `${res.status} ${res.text.slice(0, 600)}`;

describe("requireAuth", () => {
  it("serves GET /api/users/me from the auth context: one query for the whole request", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    await call("/me-counted", accessToken); // warm key cache
    const res = await call("/me-counted", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.headers.get("x-queries")).toBe("1");
    expect(res.body).toMatchObject({ id: member.id, email: member.email, role: "MEMBER" });
  });

  it("sets the auth context from the token and ONE query on a warm key cache", async () => {
    const { workspace, member } = await createTenant();
    const authTime = new Date(Date.now() - 5 * 60_000);
    const { accessToken, sessionId } = await signIn(member, { authTime, method: "GOOGLE" });
    await call("/probe", accessToken); // warms this isolate's key cache if a TTL just ran out
    const res = await call("/probe", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body.queries).toBe(1);
    expect(res.body.auth).toEqual({
      userId: member.id,
      sessionId,
      workspaceId: workspace.id,
      role: "MEMBER",
      email: member.email,
      name: member.name,
      workspaceStatus: "ACTIVE",
      workspaceKind: "CORPORATE",
      authTime: authTime.toISOString(),
      method: "GOOGLE",
      isPlatformAdmin: false,
      profile: expect.objectContaining({
        id: member.id,
        email: member.email,
        role: "MEMBER",
        status: "ACTIVE",
      }),
    });
    // The profile is the row minus secrets: no password hash travels with every request.
    expect(Object.keys(res.body.auth.profile)).not.toContain("passwordHash");
    expect(res.body.logged).toEqual({ userId: member.id, workspaceId: workspace.id });
  });

  it("marks platform admins (email listed in PLATFORM_ADMIN_EMAILS)", async () => {
    const admin = await platformAdmin();
    const { accessToken } = await signIn(admin);
    const res = await call("/probe", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body.auth.isPlatformAdmin).toBe(true);
  });

  it("still authenticates members of a workspace pending deletion (reads stay allowed)", async () => {
    const { workspace, admin } = await createTenant();
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: sql`now() + interval '30 days'` })
        .where(eq(workspaces.id, workspace.id)),
    );
    const { accessToken } = await signIn(admin);
    const res = await call("/probe", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body.auth.workspaceStatus).toBe("PENDING_DELETION");
  });

  it("accepts an x-workspace-id header naming the caller's workspace, any case", async () => {
    const { workspace, member } = await createTenant();
    const { accessToken } = await signIn(member);
    for (const value of [workspace.id, workspace.id.toUpperCase()]) {
      const res = await call("/probe", accessToken, { "x-workspace-id": value });
      expect(res.status, show(res)).toBe(200);
    }
  });

  it("answers 404 NOT_FOUND when x-workspace-id names another workspace (or nothing valid)", async () => {
    const [a, b] = await Promise.all([createTenant(), createTenant()]);
    const { accessToken } = await signIn(a.member);
    for (const value of [b.workspace.id, "not-a-uuid", ""]) {
      const res = await call("/probe", accessToken, { "x-workspace-id": value });
      expect(res.status, show(res)).toBe(404);
      expect(res.body.code).toBe("NOT_FOUND");
    }
  });

  it("answers 401 with WWW-Authenticate: Bearer when the token is missing", async () => {
    const res = await call("/probe");
    expect(res.status, show(res)).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    expect(res.headers.get("Content-Type")).toBe("application/problem+json");
  });

  it("answers 503 (not 401) when the keys cannot be read because the database is down", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    invalidateSigningKeyCache();
    const res = await call(
      "/probe",
      accessToken,
      {},
      {
        HYPERDRIVE: { connectionString: "postgres://postgres:postgres@127.0.0.1:1/none" },
      },
    );
    expect(res.status, show(res)).toBe(503);
    expect(res.body.code).toBe("DATABASE_UNAVAILABLE");
  });
});

describe("requireAdmin and requirePlatformAdmin", () => {
  it("lets a workspace ADMIN through requireAdmin and refuses a MEMBER with 403", async () => {
    const { admin, member } = await createTenant();
    const [adminSession, memberSession] = await Promise.all([signIn(admin), signIn(member)]);
    expect((await call("/admin", adminSession.accessToken)).status).toBe(200);
    const refused = await call("/admin", memberSession.accessToken);
    expect(refused.status, show(refused)).toBe(403);
    expect(refused.body.code).toBe("FORBIDDEN");
  });

  it("lets only platform admins through requirePlatformAdmin", async () => {
    const [{ admin }, platform] = await Promise.all([createTenant(), platformAdmin()]);
    const [workspaceAdmin, platformSession] = await Promise.all([signIn(admin), signIn(platform)]);
    const refused = await call("/platform", workspaceAdmin.accessToken);
    expect(refused.status, show(refused)).toBe(403);
    expect((await call("/platform", platformSession.accessToken)).status).toBe(200);
  });

  it("authOf throws when requireAuth did not run (a wiring bug answers 500, never a guess)", async () => {
    const res = await call("/unguarded");
    expect(res.status, show(res)).toBe(500);
    expect(res.body.code).toBe("INTERNAL");
  });
});

describe("bearerToken", () => {
  it("parses RFC 6750 bearer credentials only", () => {
    expect(bearerToken("Bearer abc.def.ghi")).toBe("abc.def.ghi");
    expect(bearerToken("bearer   abc.def-_~+/=")).toBe("abc.def-_~+/=");
    expect(bearerToken(undefined)).toBeNull();
    expect(bearerToken("Basic abc")).toBeNull();
    expect(bearerToken("Bearer a b")).toBeNull();
    expect(bearerToken("Bearer ")).toBeNull();
  });
});
