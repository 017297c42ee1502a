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
import { lastStatements } from "../../src/db/client";
import { sessions, users, workspaces } from "../../src/db/schema";
import {
  authOf,
  authReady,
  bearerToken,
  readAfterAuth,
  requireAdmin,
  requireAuth,
  requireAuthForRead,
  requireAuthForWrite,
  requirePlatformAdmin,
  tokenCallerOf,
} from "../../src/middleware/auth";
import { requestContext } from "../../src/middleware/request-context";
import { invalidateSigningKeyCache } from "../../src/modules/auth/signing-keys.service";
import { getMe } from "../../src/modules/users/users.handlers";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

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
// First-flight reads: the handler's read starts with the token's identity beside the session check.
const firstFlight: Handler<AppEnv> = async (c) => {
  // A bare query builder on purpose: readAfterAuth must run it once (drizzle's builders re-run on each then).
  const names = await readAfterAuth(c, (caller) =>
    c.var.db.select({ email: users.email }).from(users).where(eq(users.workspaceId, caller.workspaceId)),
  );
  return c.json({
    emails: names.map((n) => n.email),
    roundTrips: c.var.dbStats.roundTrips,
    statements: c.var.dbStats.count,
    role: authOf(c).role,
  });
};
app.get("/first-flight", requireAuthForRead, firstFlight);
app.get("/first-flight-admin", requireAuthForRead, requireAdmin, firstFlight);
// Wiring bugs: the context read before the check, and a handler that never waits for it.
app.get("/first-flight-too-early", requireAuthForRead, (c) => c.json(authOf(c)));
app.get("/first-flight-unawaited", requireAuthForRead, (c) => c.json({ answered: "without waiting" }));
app.get("/first-flight-awaited", requireAuthForRead, async (c) =>
  c.json({ role: (await authReady(c)).role }),
);
// Writes behind requireAuthForWrite: the transaction starts beside the session check; nothing commits before it.
const renameInTransaction: Handler<AppEnv> = async (c) => {
  const caller = tokenCallerOf(c);
  const mine = eq(users.id, caller.userId);
  const outcome = await c.var.db.transaction(async (tx) => {
    const [row] = await tx.select({ name: users.name }).from(users).where(mine).for("update");
    return lastStatements(tx, [
      tx
        .update(users)
        .set({ name: `${row?.name}!` })
        .where(mine)
        .returning(),
    ]);
  });
  const [[renamed]] = await outcome.results;
  return c.json({
    name: renamed?.name,
    roundTrips: c.var.dbStats.roundTrips,
    role: authOf(c).role,
  });
};
app.post("/write", requireAuthForWrite, renameInTransaction);
app.post("/write-admin", requireAuthForWrite, requireAdmin, renameInTransaction);
// A single statement outside a transaction would commit on its own: it waits for the check.
app.post("/write-autocommit", requireAuthForWrite, async (c) => {
  const caller = tokenCallerOf(c);
  await c.var.db.update(users).set({ name: "autocommitted" }).where(eq(users.id, caller.userId));
  return c.json({ roundTrips: c.var.dbStats.roundTrips });
});
app.post("/write-nothing", requireAuthForWrite, (c) => c.json({ answered: "without waiting" }));
// A middleware that sends a statement before the caller rule is added: the rule must still hold at COMMIT.
app.post(
  "/write-early-statement",
  requireAuthForWrite,
  async (c, next) => {
    c.var.db.execute(sql`SELECT 1`).then(
      () => {},
      () => {},
    );
    await next();
  },
  requireAdmin,
  renameInTransaction,
);
app.onError(handleError);

async function call(
  path: string,
  token?: string,
  headers: Record<string, string> = {},
  bindings: Record<string, unknown> = {},
) {
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, "http://127.0.0.1:8787"), {
    method: path.startsWith("/write") ? "POST" : "GET",
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

describe("requireAuthForRead (the session check and the handler's read in one flight)", () => {
  const revoke = (sessionId: string) =>
    withDb((db) => db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, sessionId)));

  it("answers a live session's read after one round trip, with the context known", async () => {
    const { member, admin } = await createTenant();
    const { accessToken } = await signIn(member);
    await call("/first-flight", accessToken); // warm key cache
    const res = await call("/first-flight", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body).toMatchObject({ roundTrips: 1, statements: 2, role: "MEMBER" });
    expect(res.body.emails.sort()).toEqual([admin.email, member.email].sort());
  });

  it("drops the read's rows when the session was revoked or the user deactivated: 401, no data", async () => {
    const { member, admin } = await createTenant();
    const [revoked, deactivated] = await Promise.all([signIn(member), signIn(admin)]);
    await revoke(revoked.sessionId);
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, admin.id)));
    for (const { accessToken } of [revoked, deactivated]) {
      const res = await call("/first-flight", accessToken);
      expect(res.status, show(res)).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      expect(res.text).not.toContain(member.email);
      expect(res.text).not.toContain(admin.email);
    }
  });

  it("applies caller rules to the pending check: a MEMBER gets 403 and none of the rows", async () => {
    const { member, admin } = await createTenant();
    const [memberSession, adminSession] = await Promise.all([signIn(member), signIn(admin)]);
    const refused = await call("/first-flight-admin", memberSession.accessToken);
    expect(refused.status, show(refused)).toBe(403);
    expect(refused.body.code).toBe("FORBIDDEN");
    expect(refused.text).not.toContain(admin.email);
    const allowed = await call("/first-flight-admin", adminSession.accessToken);
    expect(allowed.status, show(allowed)).toBe(200);
    expect(allowed.body.role).toBe("ADMIN");
  });

  it("answers 404 for an x-workspace-id of another workspace before any row is shown", async () => {
    const [{ member }, other] = await Promise.all([createTenant(), createTenant()]);
    const { accessToken } = await signIn(member);
    const res = await call("/first-flight", accessToken, { "x-workspace-id": other.workspace.id });
    expect(res.status, show(res)).toBe(404);
    expect(res.text).not.toContain(member.email);
  });

  it("answers 500 when a handler reads the context before the check (a wiring bug), 401 first when refused", async () => {
    const { member } = await createTenant();
    const { accessToken, sessionId } = await signIn(member);
    const early = await call("/first-flight-too-early", accessToken);
    expect(early.status, show(early)).toBe(500);
    expect(early.text).not.toContain(member.email);
    await revoke(sessionId);
    const refused = await call("/first-flight-too-early", accessToken);
    expect(refused.status, show(refused)).toBe(401);
  });

  it("replaces the answer of a handler that never waited with the check's refusal", async () => {
    const { member } = await createTenant();
    const { accessToken, sessionId } = await signIn(member);
    expect((await call("/first-flight-unawaited", accessToken)).status).toBe(200);
    await revoke(sessionId);
    const refused = await call("/first-flight-unawaited", accessToken);
    expect(refused.status, show(refused)).toBe(401);
    expect(refused.text).not.toContain("without waiting");
    expect((await call("/first-flight-awaited", accessToken)).status).toBe(401);
  });

  it("refuses every first-flight route of the API for a revoked session, showing none of its rows", async () => {
    const { workspace, admin } = await createTenant();
    const { accessToken, sessionId } = await signIn(admin);
    const routes = [
      "/api/personas",
      "/api/conversations",
      "/api/admin/users",
      `/api/workspaces/${workspace.id}/members`,
    ];
    for (const path of routes) {
      const res = await api("GET", path, { token: accessToken });
      expect(res.status, `${path}: ${describeResponse(res)}`).toBe(200);
    }
    await revoke(sessionId);
    for (const path of routes) {
      const res = await api("GET", path, { token: accessToken });
      expect(res.status, `${path}: ${describeResponse(res)}`).toBe(401);
      expect(res.body.code).toBe("UNAUTHENTICATED");
      expect(res.text).not.toContain(admin.email);
      expect(res.text).not.toContain("items");
    }
  });

  it("refuses to guard a write route", async () => {
    const guarded = new Hono<AppEnv>();
    guarded.use("*", requestContext);
    guarded.post("/write", requireAuthForRead, (c) => c.json({ wrote: true }));
    guarded.onError(handleError);
    const ctx = createExecutionContext();
    const res = await guarded.fetch(new Request("http://127.0.0.1:8787/write", { method: "POST" }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
  });
});

describe("requireAuthForWrite (the transaction starts beside the session check; nothing commits before it)", () => {
  const revoke = (sessionId: string) =>
    withDb((db) => db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, sessionId)));
  const nameOf = async (userId: string) =>
    (await withDb((db) => db.select({ name: users.name }).from(users).where(eq(users.id, userId))))[0]?.name;

  it("commits a live session's write in two round trips: check + BEGIN + read, then the update with COMMIT", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const before = await nameOf(member.id);
    await call("/write", accessToken); // warm key cache
    const res = await call("/write", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body).toMatchObject({ roundTrips: 2, role: "MEMBER", name: `${before}!!` });
    expect(await nameOf(member.id)).toBe(`${before}!!`);
  });

  it("rolls the write back when the session was revoked or the user deactivated: 401, nothing changed", async () => {
    const { member, admin } = await createTenant();
    const [revoked, deactivated] = await Promise.all([signIn(member), signIn(admin)]);
    await revoke(revoked.sessionId);
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, admin.id)));
    const names = [await nameOf(member.id), await nameOf(admin.id)];
    for (const path of ["/write", "/write-autocommit", "/write-nothing"]) {
      for (const { accessToken } of [revoked, deactivated]) {
        const res = await call(path, accessToken);
        expect(res.status, `${path}: ${show(res)}`).toBe(401);
        expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
        expect(res.text).not.toContain("without waiting");
      }
    }
    expect([await nameOf(member.id), await nameOf(admin.id)]).toEqual(names);
  });

  it("applies caller rules before COMMIT: a MEMBER gets 403 and its write is rolled back", async () => {
    const { member, admin } = await createTenant();
    const [memberSession, adminSession] = await Promise.all([signIn(member), signIn(admin)]);
    const before = await nameOf(member.id);
    const refused = await call("/write-admin", memberSession.accessToken);
    expect(refused.status, show(refused)).toBe(403);
    expect(refused.body.code).toBe("FORBIDDEN");
    expect(await nameOf(member.id)).toBe(before);
    const allowed = await call("/write-admin", adminSession.accessToken);
    expect(allowed.status, show(allowed)).toBe(200);
    expect(allowed.body.role).toBe("ADMIN");
  });

  it("keeps a caller rule added after an early statement started waiting for the check", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const before = await nameOf(member.id);
    const res = await call("/write-early-statement", accessToken);
    expect(res.status, show(res)).toBe(403);
    expect(await nameOf(member.id)).toBe(before);
  });

  it("refuses an x-workspace-id of another workspace with 404 and commits nothing", async () => {
    const [{ member }, other] = await Promise.all([createTenant(), createTenant()]);
    const { accessToken } = await signIn(member);
    const before = await nameOf(member.id);
    const res = await call("/write", accessToken, { "x-workspace-id": other.workspace.id });
    expect(res.status, show(res)).toBe(404);
    expect(await nameOf(member.id)).toBe(before);
  });

  it("holds an autocommit statement until the check passed (its own flight), then commits it", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    await call("/write", accessToken); // warm key cache
    const res = await call("/write-autocommit", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body.roundTrips).toBe(2);
    expect(await nameOf(member.id)).toBe("autocommitted");
  });

  it("refuses to guard a read route", async () => {
    const guarded = new Hono<AppEnv>();
    guarded.use("*", requestContext);
    guarded.get("/read", requireAuthForWrite, (c) => c.json({ read: true }));
    guarded.onError(handleError);
    const ctx = createExecutionContext();
    const res = await guarded.fetch(new Request("http://127.0.0.1:8787/read"), env, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(500);
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
