import { and, eq, sql } from "drizzle-orm";
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { auditEvents, type Session, sessions, users, workspaces } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { createTenant, createUser, DEFAULT_PASSWORD, type TestUser } from "../helpers/factories";
import { api, describeResponse, randomIp } from "../helpers/request";

// rt.<sessionId>.<counter>.<salt>.<mac>: the salt rides along so the MAC is checked before the database.
const TOKEN_RE = /^rt\.([0-9a-f-]{36})\.(\d+)\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

type Pair = { accessToken: string; refreshToken: string; tokenType: string; expiresIn: number };

/** Signs in through the real login route, so the refresh token is a real one. */
async function loginAs(user: TestUser): Promise<Pair & { sessionId: string }> {
  const res = await api("POST", "/api/auth/login", {
    body: { email: user.email, password: DEFAULT_PASSWORD },
    headers: { "CF-Connecting-IP": randomIp() },
  });
  expect(res.status, describeResponse(res)).toBe(200);
  return { ...res.body, sessionId: parse(res.body.refreshToken).sessionId };
}

const refresh = (refreshToken: unknown, ip = randomIp()) =>
  api<Pair & { code?: string }>("POST", "/api/auth/refresh", {
    body: { refreshToken },
    headers: { "CF-Connecting-IP": ip },
  });

function parse(token: string) {
  const match = TOKEN_RE.exec(token);
  if (!match) throw new Error(`not a refresh token: ${token}`);
  return {
    sessionId: match[1] as string,
    counter: Number(match[2]),
    salt: match[3] as string,
    mac: match[4] as string,
  };
}

/** The payload of a JWT (no verification: the API already verified it by accepting it). */
const claims = (jwt: string) =>
  JSON.parse(new TextDecoder().decode(base64url.decode(jwt.split(".")[1] as string))) as Record<
    string,
    unknown
  >;

const sessionRow = async (id: string): Promise<Session> => {
  const [row] = await withDb((db) => db.select().from(sessions).where(eq(sessions.id, id)));
  if (!row) throw new Error(`no session ${id}`);
  return row;
};
const updateSession = (id: string, set: Record<string, unknown>) =>
  withDb((db) => db.update(sessions).set(set).where(eq(sessions.id, id)));
const auditsOf = (sessionId: string, type: string) =>
  withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, sessionId), eq(auditEvents.eventType, type))),
  );
/** Whether an access token still opens a bearer route. */
const accessStatus = async (accessToken: string) =>
  (await api("GET", "/api/auth/sessions", { token: accessToken })).status;

async function expectRefused(res: Awaited<ReturnType<typeof refresh>>) {
  expect(res.status, describeResponse(res)).toBe(401);
  expect(res.body.code).toBe("UNAUTHENTICATED");
  expect(res.text).not.toContain("rt.");
}

describe("POST /api/auth/refresh", () => {
  it("rotates the token: a new pair for counter + 1, while the old access token keeps working", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const before = await sessionRow(first.sessionId);
    expect(before.rotatedAt).toBeNull();

    const res = await refresh(first.refreshToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(["accessToken", "expiresIn", "refreshToken", "tokenType"]);
    expect(res.body).toMatchObject({ tokenType: "Bearer", expiresIn: 900 });
    expect(parse(res.body.refreshToken)).toMatchObject({ sessionId: first.sessionId, counter: 1 });
    expect(res.body.refreshToken).not.toBe(first.refreshToken);
    expect(res.body.accessToken).not.toBe(first.accessToken);

    expect(await accessStatus(res.body.accessToken)).toBe(200);
    expect(await accessStatus(first.accessToken)).toBe(200);
    // Same session, user, workspace and sign-in time: a refresh is not a new proof of the password.
    const beforeClaims = claims(first.accessToken);
    const afterClaims = claims(res.body.accessToken);
    expect(afterClaims).toMatchObject({
      sub: member.id,
      sid: first.sessionId,
      wid: member.workspaceId,
      auth_time: beforeClaims.auth_time,
    });
    expect(afterClaims.jti).not.toBe(beforeClaims.jti);

    const after = await sessionRow(first.sessionId);
    expect(after).toMatchObject({ counter: 1, revokedAt: null, refreshSalt: before.refreshSalt });
    expect(after.rotatedAt).not.toBeNull();
    expect(after.lastUsedAt.getTime()).toBeGreaterThanOrEqual(before.lastUsedAt.getTime());
    expect(after.absoluteExpiresAt).toEqual(before.absoluteExpiresAt);
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN")).toEqual([
      expect.objectContaining({ actorUserId: member.id, actorType: "USER", targetType: "session" }),
    ]);

    const next = await refresh(res.body.refreshToken);
    expect(next.status, describeResponse(next)).toBe(200);
    expect(parse(next.body.refreshToken).counter).toBe(2);
    expect((await sessionRow(first.sessionId)).counter).toBe(2);
  });

  it("answers the previous token within 10 s with the same current refresh token, rotating nothing", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const rotated = await refresh(first.refreshToken);
    expect(rotated.status, describeResponse(rotated)).toBe(200);

    const again = await refresh(first.refreshToken);
    expect(again.status, describeResponse(again)).toBe(200);
    expect(again.body.refreshToken).toBe(rotated.body.refreshToken);
    expect(await accessStatus(again.body.accessToken)).toBe(200);
    expect(await sessionRow(first.sessionId)).toMatchObject({ counter: 1, revokedAt: null });
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN")).toHaveLength(1);

    // The current token is still the live one.
    const next = await refresh(rotated.body.refreshToken);
    expect(next.status, describeResponse(next)).toBe(200);
    expect(parse(next.body.refreshToken).counter).toBe(2);
  });

  it("treats the previous token after the grace period as reuse: 401, session revoked, audited", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const rotated = await refresh(first.refreshToken);
    expect(rotated.status, describeResponse(rotated)).toBe(200);
    await updateSession(first.sessionId, { rotatedAt: sql`now() - interval '11 seconds'` });

    await expectRefused(await refresh(first.refreshToken));
    const session = await sessionRow(first.sessionId);
    expect(session.revokedAt).not.toBeNull();
    expect(session.revokeReason).toBe("refresh_token_reuse");
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN_REUSE")).toEqual([
      expect.objectContaining({
        actorType: "ANONYMOUS",
        workspaceId: member.workspaceId,
        targetType: "session",
        data: { userId: member.id },
      }),
    ]);

    // The whole family is dead: the current refresh token and every access token of the session.
    await expectRefused(await refresh(rotated.body.refreshToken));
    expect(await accessStatus(rotated.body.accessToken)).toBe(401);
    expect(await accessStatus(first.accessToken)).toBe(401);
    // Presenting the old token again changes nothing more.
    await expectRefused(await refresh(first.refreshToken));
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN_REUSE")).toHaveLength(1);
  });

  it("treats a token two rotations old as reuse even within the grace period", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const second = await refresh(first.refreshToken);
    const third = await refresh(second.body.refreshToken);
    expect(third.status, describeResponse(third)).toBe(200);
    expect(parse(third.body.refreshToken).counter).toBe(2);

    await expectRefused(await refresh(first.refreshToken));
    expect(await sessionRow(first.sessionId)).toMatchObject({ revokeReason: "refresh_token_reuse" });
    await expectRefused(await refresh(third.body.refreshToken));
  });

  it("converges 20 concurrent refreshes of one token on one rotation and one refresh token", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const ip = randomIp();
    const results = await Promise.all(Array.from({ length: 20 }, () => refresh(first.refreshToken, ip)));
    for (const res of results) expect(res.status, describeResponse(res)).toBe(200);
    const tokens = new Set(results.map((r) => r.body.refreshToken));
    expect(tokens.size, [...tokens].join("\n")).toBe(1);
    const [current] = [...tokens] as [string];
    expect(parse(current)).toMatchObject({ sessionId: first.sessionId, counter: 1 });

    expect(await sessionRow(first.sessionId)).toMatchObject({ counter: 1, revokedAt: null });
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN")).toHaveLength(1);
    expect(await auditsOf(first.sessionId, "REFRESH_TOKEN_REUSE")).toEqual([]);
    for (const res of results.slice(0, 3)) expect(await accessStatus(res.body.accessToken)).toBe(200);

    const next = await refresh(current);
    expect(next.status, describeResponse(next)).toBe(200);
    expect(parse(next.body.refreshToken).counter).toBe(2);
  });

  it("refuses a token with a forged MAC without revoking the session", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const { sessionId, salt, mac } = parse(first.refreshToken);
    const flipped = `${mac[0] === "A" ? "B" : "A"}${mac.slice(1)}`;
    const otherSalt = `${salt[0] === "A" ? "B" : "A"}${salt.slice(1)}`;
    for (const forged of [
      `rt.${sessionId}.0.${salt}.${flipped}`,
      `rt.${sessionId}.1.${salt}.${mac}`,
      // A "future" or "old" counter with a made-up MAC must not count as reuse.
      `rt.${sessionId}.7.${salt}.${"x".repeat(43)}`,
      // The salt is part of what the MAC covers: another one breaks it.
      `rt.${sessionId}.0.${otherSalt}.${mac}`,
      // The older form (no salt) is checked against the stored salt.
      `rt.${sessionId}.0.${flipped}`,
      `rt.${sessionId}.3.${mac}`,
    ]) {
      await expectRefused(await refresh(forged));
    }
    expect(await sessionRow(sessionId)).toMatchObject({ revokedAt: null, counter: 0 });
    expect(await auditsOf(sessionId, "REFRESH_TOKEN_REUSE")).toEqual([]);
    const ok = await refresh(first.refreshToken);
    expect(ok.status, describeResponse(ok)).toBe(200);
  });

  it("refuses a token of another session's MAC (tokens do not transfer between sessions)", async () => {
    const { member, admin } = await createTenant();
    const [mine, theirs] = await Promise.all([loginAs(member), loginAs(admin)]);
    const { salt, mac } = parse(mine.refreshToken);
    for (const grafted of [
      `rt.${theirs.sessionId}.0.${mac}`,
      `rt.${theirs.sessionId}.0.${salt}.${mac}`,
      `rt.${theirs.sessionId}.0.${parse(theirs.refreshToken).salt}.${mac}`,
    ])
      await expectRefused(await refresh(grafted));
    expect(await sessionRow(theirs.sessionId)).toMatchObject({ revokedAt: null, counter: 0 });
  });

  it("answers malformed tokens with 401 (or 400 for an invalid body), never 500", async () => {
    const { member } = await createTenant();
    const { sessionId, salt, mac } = parse((await loginAs(member)).refreshToken);
    const unknownId = crypto.randomUUID();
    for (const token of [
      "garbage",
      "rt.",
      `rt.${sessionId}.0`,
      `rt.${sessionId}.0.${salt}`,
      `rt.${sessionId}.0.${salt}.${mac}.extra`,
      `rt.${sessionId}.0.${salt.slice(1)}.${mac}`,
      `rt.${sessionId}.0.${salt}=.${mac}`,
      `rt.${unknownId}.0.${salt}.${mac}`,
      `rt.${sessionId}.0.${mac}.extra`,
      `rt.${sessionId}.-1.${mac}`,
      `rt.${sessionId}.1e3.${mac}`,
      `rt.${sessionId}.9999999999.${mac}`,
      `rt.${sessionId.toUpperCase()}.0.${mac}`,
      `rt.${"-".repeat(36)}.0.${mac}`,
      `rt.${unknownId}.0.${mac}`,
      `Bearer rt.${sessionId}.0.${mac}`,
      `rt.${sessionId}.0.${mac.slice(0, 42)}=`,
    ]) {
      const res = await refresh(token);
      expect(res.status, `${token}: ${describeResponse(res)}`).toBe(401);
      expect(res.body.code).toBe("UNAUTHENTICATED");
    }
    for (const body of [{}, { refreshToken: "" }, { refreshToken: 42 }, { refreshToken: "x".repeat(201) }]) {
      const res = await api("POST", "/api/auth/refresh", {
        body,
        headers: { "CF-Connecting-IP": randomIp() },
      });
      expect(res.status, `${JSON.stringify(body)}: ${describeResponse(res)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
    const extra = await api("POST", "/api/auth/refresh", {
      body: { refreshToken: `rt.${sessionId}.0.${mac}`, scope: "admin" },
      headers: { "CF-Connecting-IP": randomIp() },
    });
    expect(extra.status, describeResponse(extra)).toBe(400);
    expect(await sessionRow(sessionId)).toMatchObject({ revokedAt: null, counter: 0 });
  });

  it("refuses a revoked session, a deactivated user and sessions past their idle or absolute expiry", async () => {
    const { workspace } = await createTenant();
    const cases: [string, (pair: Pair & { sessionId: string }, user: TestUser) => Promise<unknown>][] = [
      ["revoked by logout", (pair) => api("POST", "/api/auth/logout", { token: pair.accessToken })],
      [
        "user deactivated",
        (_pair, user) =>
          withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, user.id))),
      ],
      [
        "idle expiry passed",
        (pair) => updateSession(pair.sessionId, { idleExpiresAt: sql`now() - interval '1 second'` }),
      ],
      [
        "absolute expiry passed",
        (pair) => updateSession(pair.sessionId, { absoluteExpiresAt: sql`now() - interval '1 second'` }),
      ],
    ];
    for (const [label, kill] of cases) {
      const user = await createUser(workspace);
      const pair = await loginAs(user);
      await kill(pair, user);
      const res = await refresh(pair.refreshToken);
      expect(res.status, `${label}: ${describeResponse(res)}`).toBe(401);
      expect(res.body.code).toBe("UNAUTHENTICATED");
      const session = await sessionRow(pair.sessionId);
      expect(session.counter, label).toBe(0);
      expect(session.revokeReason, label).not.toBe("refresh_token_reuse");
      expect(await auditsOf(pair.sessionId, "REFRESH_TOKEN_REUSE"), label).toEqual([]);
    }
  });

  it("extends the idle expiry by 7 days on each refresh, never past the absolute expiry", async () => {
    const { member, admin } = await createTenant();
    const clock = () =>
      withDb(async (db) => (await db.execute<{ now: string }>(sql`select now() as now`)).rows[0]);
    const toMs = (d: Date | string) => new Date(d).getTime();

    const far = await loginAs(member);
    await updateSession(far.sessionId, { idleExpiresAt: sql`now() + interval '1 hour'` });
    const before = await sessionRow(far.sessionId);
    const res = await refresh(far.refreshToken);
    expect(res.status, describeResponse(res)).toBe(200);
    const now = toMs((await clock())?.now as string);
    const after = await sessionRow(far.sessionId);
    expect((toMs(after.idleExpiresAt) - now) / 86_400_000).toBeCloseTo(7, 2);
    expect(after.absoluteExpiresAt).toEqual(before.absoluteExpiresAt);

    const near = await loginAs(admin);
    await updateSession(near.sessionId, {
      idleExpiresAt: sql`now() + interval '1 hour'`,
      absoluteExpiresAt: sql`now() + interval '2 days'`,
    });
    const capped = await sessionRow(near.sessionId);
    const ok = await refresh(near.refreshToken);
    expect(ok.status, describeResponse(ok)).toBe(200);
    const afterCap = await sessionRow(near.sessionId);
    expect(afterCap.idleExpiresAt).toEqual(capped.absoluteExpiresAt);
    expect(afterCap.absoluteExpiresAt).toEqual(capped.absoluteExpiresAt);
  });

  it("still refreshes sessions of a workspace pending deletion", async () => {
    const { workspace, member } = await createTenant();
    const pair = await loginAs(member);
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: new Date(Date.now() + 30 * 86_400_000) })
        .where(eq(workspaces.id, workspace.id)),
    );
    const res = await refresh(pair.refreshToken);
    expect(res.status, describeResponse(res)).toBe(200);
  });

  it("still accepts the older token form without the salt: it rotates, and reuse of it is still reuse", async () => {
    const { member } = await createTenant();
    const first = await loginAs(member);
    const { sessionId, counter, mac } = parse(first.refreshToken);
    // Tokens issued before the salt was carried: the same MAC, without the salt segment.
    const legacy = `rt.${sessionId}.${counter}.${mac}`;
    const rotated = await refresh(legacy);
    expect(rotated.status, describeResponse(rotated)).toBe(200);
    expect(parse(rotated.body.refreshToken)).toMatchObject({ sessionId, counter: 1 });
    expect(await auditsOf(sessionId, "REFRESH_TOKEN")).toHaveLength(1);

    await updateSession(sessionId, { rotatedAt: sql`now() - interval '11 seconds'` });
    await expectRefused(await refresh(legacy));
    expect((await sessionRow(sessionId)).revokeReason).toBe("refresh_token_reuse");
    expect(await auditsOf(sessionId, "REFRESH_TOKEN_REUSE")).toHaveLength(1);
  });

  it("allows 60 refreshes per IP and minute, then answers 429 RATE_LIMITED with Retry-After", async () => {
    const ip = randomIp();
    const token = `rt.${crypto.randomUUID()}.0.${"A".repeat(43)}`;
    for (let i = 0; i < 60; i++) {
      const res = await refresh(token, ip);
      expect(res.status, `attempt ${i + 1}: ${describeResponse(res)}`).toBe(401);
    }
    const refused = await refresh(token, ip);
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
  });
});
