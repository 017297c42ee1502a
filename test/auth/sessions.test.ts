import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, type Session, sessions } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { createTenant, DEFAULT_PASSWORD, type TestUser } from "../helpers/factories";
import { type ApiResponse, api, describeResponse, randomIp } from "../helpers/request";

type LoggedIn = { accessToken: string; refreshToken: string; sessionId: string; ip: string };

const SESSION_FIELDS = [
  "createdAt",
  "current",
  "deviceLabel",
  "expiresAt",
  "id",
  "ip",
  "lastUsedAt",
  "method",
  "userAgent",
];

/** Signs in through the real login route (real refresh token, real session row). */
async function loginAs(user: TestUser, deviceLabel?: string, userAgent = "sessions-test"): Promise<LoggedIn> {
  const ip = randomIp();
  const res = await api("POST", "/api/auth/login", {
    body: { email: user.email, password: DEFAULT_PASSWORD, ...(deviceLabel ? { deviceLabel } : {}) },
    headers: { "CF-Connecting-IP": ip, "User-Agent": userAgent },
  });
  expect(res.status, describeResponse(res)).toBe(200);
  const sessionId = (res.body.refreshToken as string).split(".")[1] as string;
  return { accessToken: res.body.accessToken, refreshToken: res.body.refreshToken, sessionId, ip };
}

const listSessions = (token?: string) => api("GET", "/api/auth/sessions", { token });
const revokeSession = (id: string, token?: string) =>
  api("DELETE", `/api/auth/sessions/${encodeURIComponent(id)}`, { token });
const logout = (token?: string, headers: Record<string, string> = {}) =>
  api("POST", "/api/auth/logout", { token, headers });
const refresh = (refreshToken: string) =>
  api("POST", "/api/auth/refresh", { body: { refreshToken }, headers: { "CF-Connecting-IP": randomIp() } });

const sessionRow = async (id: string): Promise<Session> => {
  const [row] = await withDb((db) => db.select().from(sessions).where(eq(sessions.id, id)));
  if (!row) throw new Error(`no session ${id}`);
  return row;
};
const auditsOf = (sessionId: string) =>
  withDb((db) => db.select().from(auditEvents).where(eq(auditEvents.targetId, sessionId)));
const auditsOfType = (sessionId: string, type: string) =>
  withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, sessionId), eq(auditEvents.eventType, type))),
  );
const withoutTrace = (res: ApiResponse) => {
  const { traceId: _traceId, ...rest } = res.body as Record<string, unknown>;
  return rest;
};

async function expectUnauthenticated(res: ApiResponse) {
  expect(res.status, describeResponse(res)).toBe(401);
  expect(res.body.code).toBe("UNAUTHENTICATED");
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
}

describe("POST /api/auth/logout", () => {
  it("revokes the current session: 204, its tokens stop working, LOGOUT audited", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    const other = await loginAs(member);

    const res = await logout(mine.accessToken);
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe("");

    const row = await sessionRow(mine.sessionId);
    expect(row.revokedAt).not.toBeNull();
    expect(row.revokeReason).toBe("logout");
    await expectUnauthenticated(await listSessions(mine.accessToken));
    const refreshed = await refresh(mine.refreshToken);
    expect(refreshed.status, describeResponse(refreshed)).toBe(401);
    expect(await auditsOfType(mine.sessionId, "LOGOUT")).toEqual([
      expect.objectContaining({
        actorUserId: member.id,
        actorType: "USER",
        workspaceId: member.workspaceId,
        targetType: "session",
      }),
    ]);

    // The user's other sessions live on.
    expect((await sessionRow(other.sessionId)).revokedAt).toBeNull();
    expect((await listSessions(other.accessToken)).status).toBe(200);

    // Logging out again with the dead token is a 401, not a second revocation.
    await expectUnauthenticated(await logout(mine.accessToken));
    expect(await auditsOfType(mine.sessionId, "LOGOUT")).toHaveLength(1);
  });

  it("answers 401 without a token or with an invalid one", async () => {
    const res = await logout();
    await expectUnauthenticated(res);
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    await expectUnauthenticated(await logout("not.a.jwt"));
    await expectUnauthenticated(await logout(undefined, { Authorization: "Basic dXNlcjpwYXNz" }));
  });
});

describe("GET /api/auth/sessions", () => {
  it("lists only the caller's live sessions, marks the current one, and never shows a token", async () => {
    const { member, admin } = await createTenant();
    const laptop = await loginAs(member, "Laptop", "Firefox/140");
    const phone = await loginAs(member, undefined, "Safari/19");
    const revoked = await loginAs(member, "Old tablet");
    expect((await logout(revoked.accessToken)).status).toBe(204);
    const expired = await loginAs(member, "Expired");
    await withDb((db) =>
      db
        .update(sessions)
        .set({ idleExpiresAt: sql`now() - interval '1 second'` })
        .where(eq(sessions.id, expired.sessionId)),
    );
    const colleague = await loginAs(admin, "Colleague");
    const stranger = await loginAs((await createTenant()).member, "Stranger");

    const res = await listSessions(laptop.accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body)).toEqual(["items"]);
    const items = res.body.items as Record<string, unknown>[];
    expect(items.map((s) => s.id).sort()).toEqual([laptop.sessionId, phone.sessionId].sort());
    for (const item of items) expect(Object.keys(item).sort()).toEqual(SESSION_FIELDS);

    const byId = new Map(items.map((s) => [s.id, s]));
    const laptopRow = await sessionRow(laptop.sessionId);
    expect(byId.get(laptop.sessionId)).toEqual({
      id: laptop.sessionId,
      deviceLabel: "Laptop",
      userAgent: "Firefox/140",
      ip: laptop.ip,
      method: "PASSWORD",
      createdAt: laptopRow.createdAt.toISOString(),
      lastUsedAt: laptopRow.lastUsedAt.toISOString(),
      expiresAt: laptopRow.idleExpiresAt.toISOString(),
      current: true,
    });
    expect(byId.get(phone.sessionId)).toMatchObject({
      deviceLabel: null,
      userAgent: "Safari/19",
      ip: phone.ip,
      current: false,
    });

    for (const secret of [laptop, phone]) {
      expect(res.text).not.toContain(secret.refreshToken.split(".")[4]);
      expect(res.text).not.toContain((await sessionRow(secret.sessionId)).refreshSalt);
    }
    expect(res.text).not.toMatch(/rt\.|refreshSalt|counter|accessToken/);
    for (const other of [colleague, stranger, revoked, expired])
      expect(res.text).not.toContain(other.sessionId);
  });

  it("orders sessions by last use, most recent first", async () => {
    const { member } = await createTenant();
    const older = await loginAs(member, "Older");
    const newer = await loginAs(member, "Newer");
    const first = await listSessions(older.accessToken);
    expect(first.body.items.map((s: { id: string }) => s.id)).toEqual([newer.sessionId, older.sessionId]);

    const rotated = await refresh(older.refreshToken);
    expect(rotated.status, describeResponse(rotated)).toBe(200);
    const second = await listSessions(newer.accessToken);
    expect(second.body.items.map((s: { id: string }) => s.id)).toEqual([older.sessionId, newer.sessionId]);
    expect(second.body.items[0].current).toBe(false);
    expect(second.body.items[1].current).toBe(true);
  });

  it("reports the earlier of the idle and the absolute expiry as expiresAt", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    await withDb((db) =>
      db
        .update(sessions)
        .set({ absoluteExpiresAt: sql`now() + interval '1 day'` })
        .where(eq(sessions.id, mine.sessionId)),
    );
    const row = await sessionRow(mine.sessionId);
    const res = await listSessions(mine.accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.items[0].expiresAt).toBe(row.absoluteExpiresAt.toISOString());
  });

  it("answers 401 without a token", async () => {
    await expectUnauthenticated(await listSessions());
  });
});

describe("DELETE /api/auth/sessions/{sessionId}", () => {
  it("revokes another of the caller's sessions: 204, SESSION_REVOKED audited, its tokens stop working", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member, "Here");
    const other = await loginAs(member, "There");

    const res = await revokeSession(other.sessionId, mine.accessToken);
    expect(res.status, describeResponse(res)).toBe(204);
    expect(res.text).toBe("");

    const row = await sessionRow(other.sessionId);
    expect(row.revokedAt).not.toBeNull();
    expect(row.revokeReason).toBe("user_revoked");
    expect(await auditsOf(other.sessionId)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          eventType: "SESSION_REVOKED",
          actorUserId: member.id,
          actorType: "USER",
          workspaceId: member.workspaceId,
          targetType: "session",
        }),
      ]),
    );
    await expectUnauthenticated(await listSessions(other.accessToken));
    const refreshed = await refresh(other.refreshToken);
    expect(refreshed.status, describeResponse(refreshed)).toBe(401);

    const list = await listSessions(mine.accessToken);
    expect(list.status, describeResponse(list)).toBe(200);
    expect(list.body.items.map((s: { id: string }) => s.id)).toEqual([mine.sessionId]);

    // Already revoked → 404, nothing audited twice.
    const again = await revokeSession(other.sessionId, mine.accessToken);
    expect(again.status, describeResponse(again)).toBe(404);
    expect(await auditsOfType(other.sessionId, "SESSION_REVOKED")).toHaveLength(1);
  });

  it("accepts the id in upper case and audits it under its canonical form", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    const other = await loginAs(member);
    const res = await revokeSession(other.sessionId.toUpperCase(), mine.accessToken);
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await sessionRow(other.sessionId)).revokeReason).toBe("user_revoked");
    expect(await auditsOfType(other.sessionId, "SESSION_REVOKED")).toHaveLength(1);
  });

  it("revoking the caller's own current session signs it out like logout", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    const res = await revokeSession(mine.sessionId, mine.accessToken);
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await sessionRow(mine.sessionId)).revokedAt).not.toBeNull();
    await expectUnauthenticated(await listSessions(mine.accessToken));
  });

  it("answers 404 with identical bodies for another user's session, in this or another workspace", async () => {
    const { member, admin } = await createTenant();
    const mine = await loginAs(member);
    const colleague = await loginAs(admin);
    const stranger = await loginAs((await createTenant()).admin);

    const unknown = await revokeSession(crypto.randomUUID(), mine.accessToken);
    expect(unknown.status, describeResponse(unknown)).toBe(404);
    expect(unknown.body.code).toBe("NOT_FOUND");
    for (const target of [colleague, stranger]) {
      const res = await revokeSession(target.sessionId, mine.accessToken);
      expect(res.status, describeResponse(res)).toBe(404);
      expect(withoutTrace(res)).toEqual(withoutTrace(unknown));
      expect((await sessionRow(target.sessionId)).revokedAt).toBeNull();
      expect(await auditsOfType(target.sessionId, "SESSION_REVOKED")).toEqual([]);
      expect((await listSessions(target.accessToken)).status).toBe(200);
    }
  });

  it("answers 404 for an id that is not a UUID", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    for (const id of ["not-a-uuid", "1", `${mine.sessionId}x`, "' OR 1=1 --"]) {
      const res = await revokeSession(id, mine.accessToken);
      expect(res.status, `${id}: ${describeResponse(res)}`).toBe(404);
      expect(res.body.code).toBe("NOT_FOUND");
    }
    expect((await sessionRow(mine.sessionId)).revokedAt).toBeNull();
  });

  it("answers 401 without a token", async () => {
    const { member } = await createTenant();
    const mine = await loginAs(member);
    await expectUnauthenticated(await revokeSession(mine.sessionId));
    expect((await sessionRow(mine.sessionId)).revokedAt).toBeNull();
  });
});
