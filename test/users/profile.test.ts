import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, type User, users } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, type TestUser } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

const USER_FIELDS = [
  "avatarUrl",
  "createdAt",
  "email",
  "emailVerified",
  "id",
  "lastLoginAt",
  "locale",
  "name",
  "role",
  "status",
  "timezone",
  "workspaceId",
];

const userRow = async (id: string): Promise<User> => {
  const [row] = await withDb((db) => db.select().from(users).where(eq(users.id, id)));
  if (!row) throw new Error(`no user ${id}`);
  return row;
};
const profileAudits = (userId: string) =>
  withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, userId), eq(auditEvents.eventType, "PROFILE_UPDATED"))),
  );

async function signedIn(role: "ADMIN" | "MEMBER" = "MEMBER"): Promise<{ user: TestUser; token: string }> {
  const tenant = await createTenant();
  const user = role === "ADMIN" ? tenant.admin : tenant.member;
  return { user, token: (await signIn(user)).accessToken };
}

const putMe = (token: string, body: unknown) => api("PUT", "/api/users/me", { token, body });

describe("GET /api/users/me", () => {
  it("returns exactly the documented fields of the caller, avatarUrl null without an avatar", async () => {
    const { user, token } = await signedIn();
    const res = await api("GET", "/api/users/me", { token });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(USER_FIELDS);
    expect(res.body).toMatchObject({
      id: user.id,
      email: user.email,
      name: user.name,
      avatarUrl: null,
      timezone: "UTC",
      locale: "en",
      role: "MEMBER",
      status: "ACTIVE",
      workspaceId: user.workspaceId,
      emailVerified: true,
    });
    expect(res.text).not.toMatch(/password|avatarKey|avatar_key/i);
  });

  it("answers 401 without a token", async () => {
    const res = await api("GET", "/api/users/me");
    expect(res.status, describeResponse(res)).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });
});

describe("PUT /api/users/me", () => {
  it("updates name, timezone and locale in canonical form and audits the changed field names only", async () => {
    const { user, token } = await signedIn();
    const res = await putMe(token, { name: "  Grace Hopper  ", timezone: "europe/london", locale: "en-gb" });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ name: "Grace Hopper", timezone: "Europe/London", locale: "en-GB" });
    expect(Object.keys(res.body).sort()).toEqual(USER_FIELDS);

    const row = await userRow(user.id);
    expect(row).toMatchObject({ name: "Grace Hopper", timezone: "Europe/London", locale: "en-GB" });
    const audits = await profileAudits(user.id);
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({
      workspaceId: user.workspaceId,
      actorUserId: user.id,
      actorType: "USER",
      targetType: "user",
    });
    expect([...((audits[0]?.data.fields as string[]) ?? [])].sort()).toEqual(["locale", "name", "timezone"]);
    // Field names only: never the values.
    expect(JSON.stringify(audits[0]?.data)).not.toContain("Grace");

    const me = await api("GET", "/api/users/me", { token });
    expect(me.body).toMatchObject({ name: "Grace Hopper", timezone: "Europe/London", locale: "en-GB" });
  });

  it("lists only fields whose value changed; a body that changes nothing writes no audit", async () => {
    const { user, token } = await signedIn();
    const res = await putMe(token, { name: user.name, timezone: "America/New_York" });
    expect(res.status, describeResponse(res)).toBe(200);
    const [audit] = await profileAudits(user.id);
    expect(audit?.data.fields).toEqual(["timezone"]);

    const unchanged = await putMe(token, { name: user.name, timezone: "America/New_York" });
    expect(unchanged.status, describeResponse(unchanged)).toBe(200);
    const empty = await putMe(token, {});
    expect(empty.status, describeResponse(empty)).toBe(200);
    expect(await profileAudits(user.id)).toHaveLength(1);
  });

  it.each([
    ["timezone", { timezone: "Mars/Olympus_Mons" }],
    ["timezone", { timezone: "" }],
    ["timezone", { timezone: 3 }],
    ["locale", { locale: "not a locale!" }],
    ["locale", { locale: "en_US_POSIX_x" }],
    ["name", { name: "   " }],
    ["name", { name: "x".repeat(101) }],
    ["name", { name: null }],
  ])("refuses an invalid %s with 400 VALIDATION_FAILED naming the field: %j", async (field, body) => {
    const { user, token } = await signedIn();
    const before = await userRow(user.id);
    const res = await putMe(token, body);
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(field);
    expect(await userRow(user.id)).toEqual(before);
  });

  const FORBIDDEN_FIELDS: [string, unknown][] = [
    ["role", "ADMIN"],
    ["email", "takeover@evil.test"],
    ["workspaceId", "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10"],
    ["status", "ACTIVE"],
    ["id", "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10"],
    ["avatarKey", "avatars/x/y/z"],
    ["avatarUrl", "https://evil.test/a.png"],
    ["passwordHash", "$argon2id$v=19$m=19456,t=2,p=1$AAAA$BBBB"],
    ["emailVerified", true],
    ["emailVerifiedAt", "2020-01-01T00:00:00Z"],
    ["lastLoginAt", "2020-01-01T00:00:00Z"],
    ["createdAt", "2020-01-01T00:00:00Z"],
    ["deletionRequestedAt", null],
    ["workspace_id", "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10"],
    ["__proto__", { role: "ADMIN" }],
  ];

  it.each(FORBIDDEN_FIELDS)("mass assignment: %s → 400 and the row is unchanged", async (field, value) => {
    const { user, token } = await signedIn();
    const before = await userRow(user.id);
    // Alongside a legitimate change, so a partial apply would show.
    const body = JSON.parse(`{"name":"Changed Name",${JSON.stringify(field)}:${JSON.stringify(value)}}`);
    const res = await putMe(token, body);
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(await userRow(user.id)).toEqual(before);
    expect(await profileAudits(user.id)).toHaveLength(0);
  });

  it("mass assignment: a MEMBER sending role ADMIN alone stays a MEMBER", async () => {
    const { user, token } = await signedIn("MEMBER");
    const res = await putMe(token, { role: "ADMIN" });
    expect(res.status, describeResponse(res)).toBe(400);
    expect((await userRow(user.id)).role).toBe("MEMBER");
    const me = await api("GET", "/api/users/me", { token });
    expect(me.body.role).toBe("MEMBER");
  });

  it("refuses a body that is not a JSON object", async () => {
    const { token } = await signedIn();
    for (const body of [[], "name", 42]) {
      const res = await putMe(token, body);
      expect(res.status, describeResponse(res)).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
  });

  it("answers 401 without a token", async () => {
    const res = await putMe("", { name: "Nobody" });
    expect(res.status, describeResponse(res)).toBe(401);
  });
});
