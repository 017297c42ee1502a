import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashToken } from "../../src/core/crypto";
import { auditEvents, sessions, users, userTokens, workspaces } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, createUser, DEFAULT_PASSWORD, type TestUser, unique } from "../helpers/factories";
import { mailsTo, tokenFromMail, waitForMails } from "../helpers/mail";
import { api, describeResponse, randomIp } from "../helpers/request";

const NEW_PASSWORD = "Fresh-Lantern-Harbour-77";
const post = (path: string, body: unknown, token?: string) =>
  api("POST", path, { body, token, headers: { "CF-Connecting-IP": randomIp() } });
const login = (email: string, password: string) => post("/api/auth/login", { email, password });

const userRow = async (id: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.id, id)))[0]);
const liveSessions = (userId: string) =>
  withDb(async (db) =>
    (await db.select().from(sessions).where(eq(sessions.userId, userId))).filter((s) => s.revokedAt === null),
  );
const eventTypes = async (targetId: string) =>
  (await withDb((db) => db.select().from(auditEvents).where(eq(auditEvents.targetId, targetId)))).map(
    (e) => e.eventType,
  );

async function resetToken(user: TestUser, mailNumber = 1) {
  const res = await post("/api/auth/request-password-reset", { email: user.email });
  expect(res.status, describeResponse(res)).toBe(202);
  const mails = await waitForMails(user.email, mailNumber);
  return tokenFromMail(mails[mailNumber - 1] as (typeof mails)[number], "/reset-password");
}

describe("POST /api/auth/request-password-reset", () => {
  it("answers 202 alike for known and unknown addresses; only an active account gets a 1-hour link", async () => {
    const { member, workspace } = await createTenant();
    const known = await post("/api/auth/request-password-reset", { email: member.email });
    const unknown = await post("/api/auth/request-password-reset", {
      email: `${unique("ghost")}@${workspace.domain}`,
    });
    expect(known.status).toBe(202);
    expect(unknown.body).toEqual(known.body);
    const [mail] = await waitForMails(member.email);
    const token = tokenFromMail(mail as NonNullable<typeof mail>, "/reset-password");
    const [row] = await withDb(async (db) =>
      db
        .select()
        .from(userTokens)
        .where(eq(userTokens.tokenHash, await hashToken(token))),
    );
    expect(row?.purpose).toBe("RESET_PASSWORD");
    const lifetime = (row?.expiresAt.getTime() ?? 0) - (row?.createdAt.getTime() ?? 0);
    expect(Math.abs(lifetime - 3_600_000)).toBeLessThan(5_000);
    expect(await eventTypes(member.id)).toContain("REQUEST_PASSWORD_RESET");
  });

  it("allows 3 requests per hour per address, then 429", async () => {
    const email = `${unique("ghost")}@${unique("corp")}.test`;
    for (let i = 0; i < 3; i++)
      expect((await post("/api/auth/request-password-reset", { email })).status).toBe(202);
    const refused = await post("/api/auth/request-password-reset", { email });
    expect(refused.status, describeResponse(refused)).toBe(429);
  });
});

describe("POST /api/auth/reset-password", () => {
  it("sets the new password, revokes every session, is single use and mails a notice", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const token = await resetToken(member);
    const res = await post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(res.status, describeResponse(res)).toBe(200);

    expect((await api("GET", "/api/auth/sessions", { token: accessToken })).status).toBe(401);
    expect(await liveSessions(member.id)).toEqual([]);
    expect((await login(member.email, DEFAULT_PASSWORD)).status).toBe(401);
    expect((await login(member.email, NEW_PASSWORD)).status).toBe(200);

    const again = await post("/api/auth/reset-password", {
      token,
      newPassword: "Another-Lantern-Harbour-78",
    });
    expect(again.status).toBe(400);
    expect(again.body.code).toBe("INVALID_TOKEN");
    const mails = await waitForMails(member.email, 2);
    expect(mails[1]?.subject).toMatch(/password/i);
    expect(await eventTypes(member.id)).toContain("RESET_PASSWORD");
  });

  it("refuses a weak password and keeps the link usable", async () => {
    const { member } = await createTenant();
    const token = await resetToken(member);
    const weak = await post("/api/auth/reset-password", { token, newPassword: "password1" });
    expect(weak.status, describeResponse(weak)).toBe(400);
    expect(weak.body.code).toBe("WEAK_PASSWORD");
    expect((await post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD })).status).toBe(200);
  });

  it("refuses unknown and expired links with 400 INVALID_TOKEN", async () => {
    const { member } = await createTenant();
    const token = await resetToken(member);
    await withDb(async (db) =>
      db
        .update(userTokens)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(userTokens.tokenHash, await hashToken(token))),
    );
    const expired = await post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD });
    expect(expired.body.code).toBe("INVALID_TOKEN");
    const unknown = await post("/api/auth/reset-password", {
      token: "A".repeat(43),
      newPassword: NEW_PASSWORD,
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: "INVALID_TOKEN", detail: expired.body.detail });
  });

  it("lifts a login lockout and audits ACCOUNT_UNLOCKED", async () => {
    const { member } = await createTenant();
    for (let i = 0; i < 5; i++) await login(member.email, "wrong-password-guess");
    expect((await login(member.email, DEFAULT_PASSWORD)).status).toBe(423);
    const token = await resetToken(member);
    expect((await post("/api/auth/reset-password", { token, newPassword: NEW_PASSWORD })).status).toBe(200);
    const res = await login(member.email, NEW_PASSWORD);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(await eventTypes(member.id)).toEqual(
      expect.arrayContaining(["ACCOUNT_LOCKED", "ACCOUNT_UNLOCKED"]),
    );
  });
});

describe("PUT /api/users/me/password", () => {
  const change = (token: string, body: unknown) => api("PUT", "/api/users/me/password", { token, body });

  it("changes the password, keeps this session, revokes the others and mails a notice", async () => {
    const { member } = await createTenant();
    const current = await signIn(member);
    const other = await signIn(member);
    const res = await change(current.accessToken, {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: NEW_PASSWORD,
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect((await api("GET", "/api/auth/sessions", { token: current.accessToken })).status).toBe(200);
    expect((await api("GET", "/api/auth/sessions", { token: other.accessToken })).status).toBe(401);
    expect((await login(member.email, NEW_PASSWORD)).status).toBe(200);
    const [mail] = await waitForMails(member.email);
    expect(mail?.subject).toMatch(/password/i);
    expect(await eventTypes(member.id)).toContain("CHANGE_PASSWORD");
  });

  it("needs the right current password: missing → 401 REAUTH_REQUIRED, wrong → 401 INVALID_CREDENTIALS", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const missing = await change(accessToken, { newPassword: NEW_PASSWORD });
    expect(missing.status, describeResponse(missing)).toBe(401);
    expect(missing.body.code).toBe("REAUTH_REQUIRED");
    const wrong = await change(accessToken, {
      currentPassword: "not-my-password",
      newPassword: NEW_PASSWORD,
    });
    expect(wrong.body.code).toBe("INVALID_CREDENTIALS");
    const weak = await change(accessToken, { currentPassword: DEFAULT_PASSWORD, newPassword: "password1" });
    expect(weak.body.code).toBe("WEAK_PASSWORD");
    const extra = await change(accessToken, {
      currentPassword: DEFAULT_PASSWORD,
      newPassword: NEW_PASSWORD,
      role: "ADMIN",
    });
    expect(extra.body.code).toBe("VALIDATION_FAILED");
    expect((await userRow(member.id))?.passwordHash).toBe(member.passwordHash);
    expect((await change("not-a-token", { newPassword: NEW_PASSWORD })).status).toBe(401);
  });

  it("lets a Google-only user set a first password only from a recent sign-in", async () => {
    const { workspace } = await createTenant();
    const google = await createUser(workspace, { password: null });
    const recent = await signIn(google, { method: "GOOGLE" });
    expect((await change(recent.accessToken, { newPassword: NEW_PASSWORD })).status).toBe(200);
    const other = await createUser(workspace, { password: null });
    const stale = await signIn(other, { method: "GOOGLE", authTime: new Date(Date.now() - 10 * 60_000) });
    const res = await change(stale.accessToken, { newPassword: NEW_PASSWORD });
    expect(res.status).toBe(401);
    expect(res.body.code).toBe("REAUTH_REQUIRED");
  });
});

describe("POST /api/auth/deactivate", () => {
  it("deactivates a member who confirms with the password and revokes every session", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const res = await post("/api/auth/deactivate", { password: DEFAULT_PASSWORD }, accessToken);
    expect(res.status, describeResponse(res)).toBe(200);
    expect((await userRow(member.id))?.status).toBe("DEACTIVATED");
    expect(await liveSessions(member.id)).toEqual([]);
    const again = await login(member.email, DEFAULT_PASSWORD);
    expect(again.body.code).toBe("ACCOUNT_DEACTIVATED");
    expect(await eventTypes(member.id)).toContain("DEACTIVATE_ACCOUNT");
  });

  it("refuses the last ADMIN while other members are active (409 LAST_ADMIN), but lets a sole member go", async () => {
    const { admin } = await createTenant();
    const { accessToken } = await signIn(admin);
    const res = await post("/api/auth/deactivate", { password: DEFAULT_PASSWORD }, accessToken);
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("LAST_ADMIN");
    expect((await userRow(admin.id))?.status).toBe("ACTIVE");

    const solo = await createTenant();
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, solo.member.id)));
    const soloToken = (await signIn(solo.admin)).accessToken;
    expect((await post("/api/auth/deactivate", { password: DEFAULT_PASSWORD }, soloToken)).status).toBe(200);
  });

  it("refuses a wrong or missing password without changing anything", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    expect((await post("/api/auth/deactivate", { password: "wrong-password" }, accessToken)).body.code).toBe(
      "INVALID_CREDENTIALS",
    );
    expect((await post("/api/auth/deactivate", {}, accessToken)).body.code).toBe("REAUTH_REQUIRED");
    expect((await post("/api/auth/deactivate", { password: DEFAULT_PASSWORD })).status).toBe(401);
    expect((await userRow(member.id))?.status).toBe("ACTIVE");
  });
});

describe("POST /api/auth/delete-account and /cancel-deletion", () => {
  it("schedules deletion in 30 days, revokes sessions, mails a cancel link that restores the account once", async () => {
    const { member, workspace } = await createTenant();
    const { accessToken } = await signIn(member);
    const res = await post("/api/auth/delete-account", { password: DEFAULT_PASSWORD }, accessToken);
    expect(res.status, describeResponse(res)).toBe(202);
    const days = (Date.parse(res.body.purgeAfter) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(await userRow(member.id)).toMatchObject({ status: "PENDING_DELETION" });
    expect(await liveSessions(member.id)).toEqual([]);
    expect((await login(member.email, DEFAULT_PASSWORD)).body.code).toBe("ACCOUNT_PENDING_DELETION");
    const [ws] = await withDb((db) => db.select().from(workspaces).where(eq(workspaces.id, workspace.id)));
    expect(ws?.status).toBe("ACTIVE");

    const [mail] = await waitForMails(member.email);
    const token = tokenFromMail(mail as NonNullable<typeof mail>, "/cancel-deletion");
    const cancel = await post("/api/auth/cancel-deletion", { token });
    expect(cancel.status, describeResponse(cancel)).toBe(200);
    expect(cancel.body.user).toMatchObject({ id: member.id, status: "ACTIVE" });
    expect(await userRow(member.id)).toMatchObject({ status: "ACTIVE", purgeAfter: null });
    expect((await post("/api/auth/cancel-deletion", { token })).body.code).toBe("INVALID_TOKEN");
    expect((await login(member.email, DEFAULT_PASSWORD)).status).toBe(200);
    expect(await eventTypes(member.id)).toEqual(
      expect.arrayContaining(["ACCOUNT_DELETION_REQUESTED", "REACTIVATE_ACCOUNT"]),
    );
  });

  it("also schedules a sole member's workspace, and cancelling by password brings both back", async () => {
    const { admin, member, workspace } = await createTenant();
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, member.id)));
    const { accessToken } = await signIn(admin);
    expect((await post("/api/auth/delete-account", { password: DEFAULT_PASSWORD }, accessToken)).status).toBe(
      202,
    );
    const scheduled = await withDb((db) =>
      db.select().from(workspaces).where(eq(workspaces.id, workspace.id)),
    );
    expect(scheduled[0]).toMatchObject({ status: "PENDING_DELETION", deletionRequestedBy: admin.id });

    const wrong = await post("/api/auth/cancel-deletion", { email: admin.email, password: "not-it" });
    expect(wrong.body.code).toBe("INVALID_CREDENTIALS");
    const res = await post("/api/auth/cancel-deletion", { email: admin.email, password: DEFAULT_PASSWORD });
    expect(res.status, describeResponse(res)).toBe(200);
    const restored = await withDb((db) =>
      db.select().from(workspaces).where(eq(workspaces.id, workspace.id)),
    );
    expect(restored[0]).toMatchObject({ status: "ACTIVE", purgeAfter: null });
    const types = (
      await withDb((db) => db.select().from(auditEvents).where(eq(auditEvents.workspaceId, workspace.id)))
    ).map((e) => e.eventType);
    expect(types).toEqual(
      expect.arrayContaining(["WORKSPACE_DELETION_REQUESTED", "WORKSPACE_DELETION_CANCELLED"]),
    );
  });

  it("lets exactly one of two admins leave when both delete their accounts at once", async () => {
    const tenant = await createTenant({ extra: [{ role: "ADMIN" }] });
    const [first, , second] = tenant.users as [TestUser, TestUser, TestUser];
    const tokens = await Promise.all([signIn(first), signIn(second)]);
    const results = await Promise.all(
      tokens.map((t) => post("/api/auth/delete-account", { password: DEFAULT_PASSWORD }, t.accessToken)),
    );
    expect(results.map((r) => r.status).sort()).toEqual([202, 409]);
    const admins = await withDb((db) =>
      db
        .select()
        .from(users)
        .where(
          and(
            eq(users.workspaceId, tenant.workspace.id),
            eq(users.role, "ADMIN"),
            eq(users.status, "ACTIVE"),
          ),
        ),
    );
    expect(admins).toHaveLength(1);
  });

  it("answers cancel-deletion for a PENDING_VERIFY account like a wrong password, and re-mails its link", async () => {
    const { workspace } = await createTenant();
    const pending = await createUser(workspace);
    await withDb((db) => db.update(users).set({ status: "PENDING_VERIFY" }).where(eq(users.id, pending.id)));
    const right = await post("/api/auth/cancel-deletion", {
      email: pending.email,
      password: DEFAULT_PASSWORD,
    });
    const wrong = await post("/api/auth/cancel-deletion", {
      email: `${unique("nobody")}@${workspace.domain}`,
      password: DEFAULT_PASSWORD,
    });
    expect(right.status, describeResponse(right)).toBe(401);
    const { traceId: _a, ...rightBody } = right.body;
    const { traceId: _b, ...wrongBody } = wrong.body;
    expect(rightBody).toEqual(wrongBody);
    expect((await userRow(pending.id))?.status).toBe("PENDING_VERIFY");
    const [mail] = await waitForMails(pending.email);
    expect(tokenFromMail(mail as NonNullable<typeof mail>, "/verify-email")).toBeTruthy();
  });

  it("refuses the cancel form with neither token nor credentials, and unknown tokens", async () => {
    expect((await post("/api/auth/cancel-deletion", {})).body.code).toBe("VALIDATION_FAILED");
    const unknown = await post("/api/auth/cancel-deletion", { token: "B".repeat(43) });
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe("INVALID_TOKEN");
    expect(await mailsTo("nobody@nowhere.test")).toEqual([]);
  });
});
