/**
 * requireAuthForGuardedWrite (middleware/guarded-write.ts) on a tiny app built like the real one: a write
 * whose one statement carries the session check in its SQL autocommits in the check's flight, and a refused
 * request changes nothing — the statement is sent before the check has answered, so the guard alone keeps it
 * from writing.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/core/app-env";
import { handleError } from "../../src/core/error-handler";
import { sessions, users, workspaces } from "../../src/db/schema";
import { guardedWriteOf, requireAuthForGuardedWrite } from "../../src/middleware/guarded-write";
import { requestContext } from "../../src/middleware/request-context";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";

const app = new Hono<AppEnv>();
app.use("*", requestContext);
app.post("/rename", requireAuthForGuardedWrite, async (c) => {
  const write = guardedWriteOf(c);
  const row = await write.run<{ name: string; role: string }>({
    with: {
      renamed: sql`UPDATE users SET name = name || '!' FROM guard g
                    WHERE users.id = ${write.caller.userId}::uuid AND users.id = g.user_id RETURNING name, g.role`,
    },
    select: sql`SELECT name, role FROM renamed`,
  });
  return c.json({ ...row, roundTrips: c.var.dbStats.roundTrips, statements: c.var.dbStats.count });
});
app.post("/rename-unguarded-too", requireAuthForGuardedWrite, async (c) => {
  // Any other statement of the request still waits for the check (the commit hold).
  await c.var.db
    .update(users)
    .set({ name: "held" })
    .where(eq(users.id, guardedWriteOf(c).caller.userId));
  return c.json({ roundTrips: c.var.dbStats.roundTrips });
});
app.get("/read", requireAuthForGuardedWrite, (c) => c.json({}));
app.onError(handleError);

async function call(path: string, token?: string, headers: Record<string, string> = {}, bindings = {}) {
  const ctx = createExecutionContext();
  const request = new Request(new URL(path, "http://127.0.0.1:8787"), {
    method: path === "/read" ? "GET" : "POST",
    headers: { ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const res = await app.fetch(request, { ...env, ...bindings }, ctx);
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}
const show = (res: { status: number; text: string }) => `${res.status} ${res.text.slice(0, 600)}`;
const nameOf = async (userId: string) =>
  (await withDb((db) => db.select({ name: users.name }).from(users).where(eq(users.id, userId))))[0]?.name;

describe("requireAuthForGuardedWrite (one self-guarded statement beside the session check)", () => {
  it("commits a live session's write in ONE round trip, with the guard's role", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const before = await nameOf(member.id);
    await call("/rename", accessToken); // warm key cache
    const res = await call("/rename", accessToken);
    expect(res.status, show(res)).toBe(200);
    expect(res.body).toMatchObject({ name: `${before}!!`, role: "MEMBER", roundTrips: 1, statements: 2 });
    expect(await nameOf(member.id)).toBe(`${before}!!`);
  });

  it("changes nothing for a revoked session or a deactivated user (the statement was sent: the guard held it)", async () => {
    const { member, admin } = await createTenant();
    const [revoked, deactivated] = await Promise.all([signIn(member), signIn(admin)]);
    await withDb((db) =>
      db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, revoked.sessionId)),
    );
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, admin.id)));
    const names = [await nameOf(member.id), await nameOf(admin.id)];
    for (const { accessToken } of [revoked, deactivated]) {
      const res = await call("/rename", accessToken);
      expect(res.status, show(res)).toBe(401);
      expect(res.headers.get("WWW-Authenticate")).toContain('error="invalid_token"');
      expect(res.text).not.toContain("!");
    }
    expect([await nameOf(member.id), await nameOf(admin.id)]).toEqual(names);
  });

  it("changes nothing while the workspace awaits deletion: 409", async () => {
    const { workspace, member } = await createTenant();
    const { accessToken } = await signIn(member);
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: sql`now() + interval '30 days'` })
        .where(eq(workspaces.id, workspace.id)),
    );
    const before = await nameOf(member.id);
    const res = await call("/rename", accessToken);
    expect(res.status, show(res)).toBe(409);
    expect(res.body.code).toBe("WORKSPACE_PENDING_DELETION");
    expect(await nameOf(member.id)).toBe(before);
  });

  it("sends nothing for an x-workspace-id of another workspace: 404", async () => {
    const [{ member }, other] = await Promise.all([createTenant(), createTenant()]);
    const { accessToken } = await signIn(member);
    const before = await nameOf(member.id);
    const res = await call("/rename", accessToken, { "x-workspace-id": other.workspace.id });
    expect(res.status, show(res)).toBe(404);
    expect(await nameOf(member.id)).toBe(before);
  });

  it("spends the API_USER budget before writing: over it, 429 and nothing changed", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const limited = { RATE_LIMIT_API_USER: "1/60" };
    const first = await call("/rename", accessToken, {}, limited);
    expect(first.status, show(first)).toBe(200);
    const afterFirst = await nameOf(member.id);
    const second = await call("/rename", accessToken, {}, limited);
    expect(second.status, show(second)).toBe(429);
    expect(await nameOf(member.id)).toBe(afterFirst);
  });

  it("answers a refused session's 401 before a 429 (the documented order), and writes nothing", async () => {
    const { member } = await createTenant();
    const session = await signIn(member);
    const limited = { RATE_LIMIT_API_USER: "1/60" };
    expect((await call("/rename", session.accessToken, {}, limited)).status).toBe(200);
    await withDb((db) =>
      db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, session.sessionId)),
    );
    const before = await nameOf(member.id);
    const res = await call("/rename", session.accessToken, {}, limited);
    expect(res.status, show(res)).toBe(401);
    expect(await nameOf(member.id)).toBe(before);
  });

  it("still holds every other statement until the check passed", async () => {
    const { member } = await createTenant();
    const revoked = await signIn(member);
    await withDb((db) =>
      db.update(sessions).set({ revokedAt: sql`now()` }).where(eq(sessions.id, revoked.sessionId)),
    );
    const before = await nameOf(member.id);
    const res = await call("/rename-unguarded-too", revoked.accessToken);
    expect(res.status, show(res)).toBe(401);
    expect(await nameOf(member.id)).toBe(before);
  });

  it("refuses to guard a read route", async () => {
    const res = await call("/read");
    expect(res.status).toBe(500);
  });
});
