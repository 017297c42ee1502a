import { and, eq, inArray } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashToken, randomToken } from "../../src/core/crypto";
import { auditEvents, invitations, users, userTokens, workspaces } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { eventually } from "../helpers/eventually";
import { createTenant, DEFAULT_PASSWORD, unique } from "../helpers/factories";
import { mailsTo, tokenFromMail, waitForMails } from "../helpers/mail";
import { api, describeResponse, randomIp } from "../helpers/request";

const register = (body: Record<string, unknown>, ip = randomIp()) =>
  api("POST", "/api/auth/register", { body, headers: { "CF-Connecting-IP": ip } });
const verify = (token: string, password = DEFAULT_PASSWORD) =>
  api("POST", "/api/auth/verify-email", {
    body: { token, password },
    headers: { "CF-Connecting-IP": randomIp() },
  });
const linkStatus = (token: string) =>
  api("GET", `/api/auth/verify-email?token=${encodeURIComponent(token)}`, {
    headers: { "CF-Connecting-IP": randomIp() },
  });

const userByEmail = (email: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.email, email)))[0]);
const auditsFor = (targetId: string) =>
  withDb((db) => db.select().from(auditEvents).where(eq(auditEvents.targetId, targetId)));

/** Registers and returns the token of the (latest) verification mail. */
async function registerAndGetToken(email: string, body: Record<string, unknown> = {}, mailNumber = 1) {
  const res = await register({ email, password: DEFAULT_PASSWORD, ...body });
  expect(res.status, describeResponse(res)).toBe(202);
  const mails = await waitForMails(email, mailNumber);
  return tokenFromMail(mails[mailNumber - 1] as (typeof mails)[number], "/verify-email");
}

describe("POST /api/auth/register", () => {
  it("creates a PENDING_VERIFY user without a workspace and mails a verification link", async () => {
    const email = `${unique("new")}@${unique("corp")}.test`;
    const res = await register({ email: email.toUpperCase(), password: DEFAULT_PASSWORD, name: "Ada" });
    expect(res.status, describeResponse(res)).toBe(202);
    expect(Object.keys(res.body)).toEqual(["message"]);

    // Stored beside the response (its duration must not tell a new address from a known one).
    const user = await eventually(() => userByEmail(email));
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null, name: "Ada" });
    expect(user?.passwordHash).toMatch(/^\$argon2id\$/);
    const [mail] = await waitForMails(email);
    expect(mail?.subject).toMatch(/confirm|verify/i);
    expect(tokenFromMail(mail as NonNullable<typeof mail>, "/verify-email")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const audits = await auditsFor(user?.id as string);
    expect(audits).toEqual([
      expect.objectContaining({
        eventType: "REGISTER",
        actorType: "ANONYMOUS",
        data: { outcome: "created" },
      }),
    ]);
    expect(JSON.stringify(audits)).not.toContain(DEFAULT_PASSWORD);
  });

  it("answers an existing account exactly like a new one, changes nothing and warns its owner", async () => {
    const tenant = await createTenant();
    const known = await register({ email: tenant.member.email, password: "another-Passphrase-2026!" });
    const fresh = await register({
      email: `${unique("x")}@${tenant.workspace.domain}`,
      password: "another-Passphrase-2026!",
    });
    expect(known.status).toBe(202);
    expect(known.body).toEqual(fresh.body);

    const [mail] = await waitForMails(tenant.member.email);
    const after = await userByEmail(tenant.member.email);
    expect(after?.passwordHash).toBe(tenant.member.passwordHash);
    expect(after?.status).toBe("ACTIVE");
    expect(mail?.subject).toMatch(/sign up|register/i);
    expect(mail?.links.some((l) => l.includes("token="))).toBe(false);
  });

  it("lets the latest registration of a PENDING_VERIFY email win and voids the older link", async () => {
    const email = `${unique("again")}@${unique("corp")}.test`;
    const first = await registerAndGetToken(email, { name: "First" });
    const before = await userByEmail(email);
    const second = await registerAndGetToken(
      email,
      { name: "Second", password: "Second-Passphrase-2026!" },
      2,
    );
    expect(second).not.toBe(first);

    const after = await userByEmail(email);
    expect(after?.id).toBe(before?.id);
    expect(after?.name).toBe("Second");
    expect(after?.passwordHash).not.toBe(before?.passwordHash);

    const old = await verify(first);
    expect(old.status, describeResponse(old)).toBe(400);
    expect(old.body.code).toBe("INVALID_TOKEN");
    const ok = await verify(second, "Second-Passphrase-2026!");
    expect(ok.status, describeResponse(ok)).toBe(200);
  });

  it("refuses weak and breached passwords for new and existing emails alike, storing nothing", async () => {
    const tenant = await createTenant();
    const newEmail = `${unique("weak")}@${tenant.workspace.domain}`;
    for (const email of [newEmail, tenant.member.email]) {
      const weak = await register({ email, password: "password1" });
      expect(weak.status, describeResponse(weak)).toBe(400);
      expect(weak.body).toMatchObject({
        code: "WEAK_PASSWORD",
        feedback: { suggestions: expect.any(Array) },
      });
      const breached = await register({ email, password: "breached-password-example" });
      expect(breached.status, describeResponse(breached)).toBe(400);
      expect(breached.body.code).toBe("BREACHED_PASSWORD");
    }
    expect(await userByEmail(newEmail)).toBeUndefined();
  });

  it("refuses unknown fields, bad emails and short passwords with 400 VALIDATION_FAILED", async () => {
    const email = `${unique("val")}@${unique("corp")}.test`;
    for (const body of [
      { email, password: DEFAULT_PASSWORD, role: "ADMIN" },
      { email: "not-an-email", password: DEFAULT_PASSWORD },
      { email, password: "short" },
      { email, password: "x".repeat(129) },
    ]) {
      const res = await register(body);
      expect(res.status, describeResponse(res)).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect(await userByEmail(email)).toBeUndefined();
  });

  it("activates at once in the inviting workspace with a valid invitation token for the same email", async () => {
    const tenant = await createTenant();
    const email = `${unique("invited")}@elsewhere-${unique("d")}.test`;
    const token = randomToken();
    const [invitation] = await withDb((db) =>
      db
        .insert(invitations)
        .values({
          workspaceId: tenant.workspace.id,
          email,
          role: "ADMIN",
          tokenHash: "",
          invitedBy: tenant.admin.id,
          expiresAt: new Date(Date.now() + 86_400_000),
        })
        .returning(),
    );
    await withDb(async (db) =>
      db
        .update(invitations)
        .set({ tokenHash: await hashToken(token) })
        .where(eq(invitations.id, invitation?.id as string)),
    );

    const res = await register({ email, password: DEFAULT_PASSWORD, inviteToken: token });
    expect(res.status, describeResponse(res)).toBe(202);
    const user = await userByEmail(email);
    expect(user).toMatchObject({ status: "ACTIVE", workspaceId: tenant.workspace.id, role: "ADMIN" });
    expect(user?.emailVerifiedAt).not.toBeNull();
    const [accepted] = await withDb((db) =>
      db
        .select()
        .from(invitations)
        .where(eq(invitations.id, invitation?.id as string)),
    );
    expect(accepted?.acceptedAt).not.toBeNull();
    const types = (
      await withDb((db) =>
        db.select().from(auditEvents).where(eq(auditEvents.workspaceId, tenant.workspace.id)),
      )
    ).map((e) => e.eventType);
    expect(types).toEqual(expect.arrayContaining(["INVITATION_ACCEPTED", "VERIFY_EMAIL", "REGISTER"]));
    expect(await mailsTo(email)).toEqual([]);

    // The same token presented with another address proves nothing: that registration stays unverified.
    const other = `${unique("other")}@elsewhere-${unique("d")}.test`;
    await register({ email: other, password: DEFAULT_PASSWORD, inviteToken: token });
    expect(await eventually(() => userByEmail(other))).toMatchObject({
      status: "PENDING_VERIFY",
      workspaceId: null,
    });
  });

  it("creates exactly one user when the same new email registers concurrently", async () => {
    const email = `${unique("race")}@${unique("corp")}.test`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => register({ email, password: DEFAULT_PASSWORD })),
    );
    expect(results.map((r) => r.status)).toEqual([202, 202, 202, 202, 202]);
    // Each registration (stored beside its response) mails one link; then all five are done.
    await waitForMails(email, 5);
    const rows = await withDb((db) => db.select().from(users).where(eq(users.email, email)));
    expect(rows).toHaveLength(1);
    const tokens = await withDb((db) =>
      db
        .select()
        .from(userTokens)
        .where(and(eq(userTokens.userId, rows[0]?.id as string), eq(userTokens.purpose, "VERIFY_EMAIL"))),
    );
    expect(tokens).toHaveLength(1);
  });

  it("allows 10 registrations per IP and hour, then answers 429 with Retry-After and stores nothing", async () => {
    const ip = randomIp();
    const domain = `${unique("rl")}.test`;
    for (let i = 0; i < 10; i++) {
      const res = await register({ email: `u${i}@${domain}`, password: DEFAULT_PASSWORD }, ip);
      expect(res.status, describeResponse(res)).toBe(202);
    }
    const refused = await register({ email: `u10@${domain}`, password: DEFAULT_PASSWORD }, ip);
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThan(0);
    expect(await userByEmail(`u10@${domain}`)).toBeUndefined();
  });
});

describe("POST /api/auth/verify-email", () => {
  it("makes the first user of a company domain ADMIN of a new workspace and the next one MEMBER", async () => {
    const domain = `${unique("acme")}.test`;
    const first = `${unique("first")}@${domain}`;
    const second = `${unique("second")}@${domain}`;
    const res = await verify(await registerAndGetToken(first, { name: "First" }));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user).toMatchObject({
      email: first,
      status: "ACTIVE",
      role: "ADMIN",
      emailVerified: true,
    });

    const [workspace] = await withDb((db) =>
      db.select().from(workspaces).where(eq(workspaces.domain, domain)),
    );
    expect(workspace).toMatchObject({ kind: "CORPORATE", joinPolicy: "AUTO", status: "ACTIVE" });
    expect(res.body.user.workspaceId).toBe(workspace?.id);
    const types = (await auditsFor(res.body.user.id)).map((e) => e.eventType);
    expect(types).toEqual(expect.arrayContaining(["REGISTER", "VERIFY_EMAIL"]));
    const created = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(
          and(
            eq(auditEvents.eventType, "WORKSPACE_CREATED"),
            eq(auditEvents.targetId, workspace?.id as string),
          ),
        ),
    );
    expect(created).toHaveLength(1);

    const joined = await verify(await registerAndGetToken(second));
    expect(joined.body.user).toMatchObject({ role: "MEMBER", workspaceId: workspace?.id });
  });

  it("gives a user of an INVITE_ONLY domain a personal workspace and a mail saying to ask for an invitation", async () => {
    const tenant = await createTenant();
    await withDb((db) =>
      db.update(workspaces).set({ joinPolicy: "INVITE_ONLY" }).where(eq(workspaces.id, tenant.workspace.id)),
    );
    const email = `${unique("outsider")}@${tenant.workspace.domain}`;
    const res = await verify(await registerAndGetToken(email));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user.workspaceId).not.toBe(tenant.workspace.id);
    expect(res.body.user.role).toBe("ADMIN");
    const [personal] = await withDb((db) =>
      db.select().from(workspaces).where(eq(workspaces.id, res.body.user.workspaceId)),
    );
    expect(personal).toMatchObject({ kind: "PERSONAL", domain: null });
    const mails = await waitForMails(email, 2);
    expect(mails[1]?.subject).toMatch(/invit/i);
  });

  it("gives users of relay and alias providers separate PERSONAL workspaces too", async () => {
    // duck.com and a per-user subdomain of addy.io: not in email-providers' list, public all the same.
    const a = `${unique("a")}@duck.com`;
    const b = `${unique("b")}@duck.com`;
    const c = `${unique("c")}@${unique("ada")}.anonaddy.com`;
    const results = [];
    for (const email of [a, b, c]) results.push(await verify(await registerAndGetToken(email)));
    const ids = results.map((r) => r.body.user.workspaceId);
    expect(new Set(ids).size).toBe(3);
    expect(results.map((r) => r.body.user.role)).toEqual(["ADMIN", "ADMIN", "ADMIN"]);
    const kinds = await withDb((db) =>
      db
        .select({ kind: workspaces.kind, domain: workspaces.domain })
        .from(workspaces)
        .where(inArray(workspaces.id, ids)),
    );
    expect(kinds).toEqual(Array(3).fill({ kind: "PERSONAL", domain: null }));
  });

  it("gives every public-mail user a separate PERSONAL workspace", async () => {
    const a = `${unique("a")}@gmail.com`;
    const b = `${unique("b")}@gmail.com`;
    const ra = await verify(await registerAndGetToken(a));
    const rb = await verify(await registerAndGetToken(b));
    expect(ra.body.user.role).toBe("ADMIN");
    expect(rb.body.user.role).toBe("ADMIN");
    expect(ra.body.user.workspaceId).not.toBe(rb.body.user.workspaceId);
    const kinds = await withDb((db) =>
      db
        .select({ kind: workspaces.kind, domain: workspaces.domain })
        .from(workspaces)
        .where(eq(workspaces.id, ra.body.user.workspaceId)),
    );
    expect(kinds).toEqual([{ kind: "PERSONAL", domain: null }]);
  });

  it("never applies an open invitation by email alone: it waits in the user's list", async () => {
    // Anyone can invite any address into a workspace they name "Target Inc"; only the token (or the invitee's
    // own choice once signed in) may apply it.
    const tenant = await createTenant();
    const email = `${unique("invitee")}@gmail.com`;
    const [invitation] = await withDb((db) =>
      db
        .insert(invitations)
        .values({
          workspaceId: tenant.workspace.id,
          email,
          role: "ADMIN",
          tokenHash: `unused-${unique()}`,
          invitedBy: tenant.admin.id,
          expiresAt: new Date(Date.now() + 86_400_000),
        })
        .returning(),
    );
    const res = await verify(await registerAndGetToken(email));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user.workspaceId).not.toBe(tenant.workspace.id);
    expect(res.body.user.role).toBe("ADMIN");
    const [row] = await withDb((db) =>
      db
        .select()
        .from(invitations)
        .where(eq(invitations.id, invitation?.id as string)),
    );
    expect(row).toMatchObject({ acceptedAt: null, revokedAt: null });
  });

  it("answers a used link 200 'already verified' and unknown or expired links 400 INVALID_TOKEN", async () => {
    const email = `${unique("twice")}@${unique("corp")}.test`;
    const token = await registerAndGetToken(email);
    const first = await verify(token);
    const again = await verify(token);
    expect(again.status, describeResponse(again)).toBe(200);
    expect(again.body.message).toMatch(/already/i);
    expect(again.body.user.workspaceId).toBe(first.body.user.workspaceId);

    const unknown = await verify(randomToken());
    expect(unknown.status).toBe(400);
    expect(unknown.body.code).toBe("INVALID_TOKEN");

    const late = `${unique("late")}@${unique("corp")}.test`;
    const lateToken = await registerAndGetToken(late);
    await withDb(async (db) =>
      db
        .update(userTokens)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .where(eq(userTokens.tokenHash, await hashToken(lateToken))),
    );
    const expired = await verify(lateToken);
    expect(expired.status, describeResponse(expired)).toBe(400);
    expect(expired.body.code).toBe("INVALID_TOKEN");
    expect((await userByEmail(late))?.status).toBe("PENDING_VERIFY");
  });

  it("creates one workspace with one ADMIN when a domain's first users verify concurrently", async () => {
    const domain = `${unique("race")}.test`;
    const emails = Array.from({ length: 5 }, (_, i) => `user${i}@${domain}`);
    const tokens = await Promise.all(emails.map((email) => registerAndGetToken(email)));
    const results = await Promise.all(tokens.map((token) => verify(token)));
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    const rows = await withDb((db) => db.select().from(workspaces).where(eq(workspaces.domain, domain)));
    expect(rows).toHaveLength(1);
    const roles = results.map((r) => r.body.user.role).sort();
    expect(roles).toEqual(["ADMIN", "MEMBER", "MEMBER", "MEMBER", "MEMBER"]);
    expect(new Set(results.map((r) => r.body.user.workspaceId))).toEqual(new Set([rows[0]?.id]));
  });

  it("activates only with the registration's password: a stranger's registration cannot become the owner's account", async () => {
    const email = `${unique("victim")}@${unique("corp")}.test`;
    const strangers = "Strangers-Passphrase-2026!";
    // The stranger registers the address first; its owner gets the mail and clicks with their own password.
    const token = await registerAndGetToken(email, { password: strangers });
    const ip = randomIp();
    const owner = await api("POST", "/api/auth/verify-email", {
      body: { token, password: DEFAULT_PASSWORD },
      headers: { "CF-Connecting-IP": ip },
    });
    expect(owner.status, describeResponse(owner)).toBe(401);
    expect(owner.body.code).toBe("INVALID_CREDENTIALS");
    const user = await userByEmail(email);
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null, emailVerifiedAt: null });
    expect(await auditsFor(user?.id as string)).toContainEqual(
      expect.objectContaining({
        eventType: "LOGIN_FAILED",
        data: { via: "verify-email", reason: "wrong_password" },
      }),
    );
    // Nothing was spent: the link is still live, and the owner's re-registration takes the address back.
    expect((await linkStatus(token)).body).toMatchObject({ valid: true });
    const own = await registerAndGetToken(email, {}, 2);
    expect((await verify(token, strangers)).body.code).toBe("INVALID_TOKEN");
    const ok = await verify(own);
    expect(ok.status, describeResponse(ok)).toBe(200);
    expect(ok.body.user).toMatchObject({ email, status: "ACTIVE" });
    const stranger = await api("POST", "/api/auth/login", {
      body: { email, password: strangers },
      headers: { "CF-Connecting-IP": randomIp() },
    });
    expect(stranger.status).toBe(401);
  });

  it("counts wrong passwords at verification in the login lockout (423 on the fifth)", async () => {
    const email = `${unique("guess")}@${unique("corp")}.test`;
    const token = await registerAndGetToken(email);
    for (let attempt = 1; attempt <= 4; attempt++) {
      expect((await verify(token, `Wrong-Guess-${attempt}-2026!`)).status).toBe(401);
    }
    const fifth = await verify(token, "Wrong-Guess-5-2026!");
    expect(fifth.status, describeResponse(fifth)).toBe(423);
    expect(fifth.headers.get("Retry-After")).toBeTruthy();
    const locked = await verify(token);
    expect(locked.status, describeResponse(locked)).toBe(423);
    expect((await userByEmail(email))?.status).toBe("PENDING_VERIFY");
  });

  it("refuses a malformed token or a missing password with 400 VALIDATION_FAILED", async () => {
    for (const body of [{ token: "<script>", password: DEFAULT_PASSWORD }, { token: randomToken() }]) {
      const res = await api("POST", "/api/auth/verify-email", { body });
      expect(res.status, describeResponse(res)).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
  });
});

describe("GET /api/auth/verify-email", () => {
  it("only reports whether the link is live, for a masked address, and changes nothing", async () => {
    const email = `ada.lovelace.${unique()}@${unique("corp")}.test`;
    const token = await registerAndGetToken(email);
    for (let look = 0; look < 2; look++) {
      const res = await linkStatus(token);
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.body).toEqual({ valid: true, alreadyVerified: false, email: `a***@${email.split("@")[1]}` });
    }
    const user = await userByEmail(email);
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null });
    const [row] = await withDb(async (db) =>
      db
        .select()
        .from(userTokens)
        .where(eq(userTokens.tokenHash, await hashToken(token))),
    );
    expect(row?.usedAt).toBeNull();

    expect((await verify(token)).status).toBe(200);
    expect((await linkStatus(token)).body).toMatchObject({ valid: false, alreadyVerified: true });
    expect((await linkStatus(randomToken())).body).toEqual({
      valid: false,
      alreadyVerified: false,
      email: null,
    });
  });

  it("refuses a malformed token with 400 VALIDATION_FAILED", async () => {
    const res = await linkStatus("<script>");
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });
});

describe("RATE_LIMIT_REGISTER_EMAIL", () => {
  it("allows 5 registrations of one address per hour (whatever its state), then 429 and stores nothing", async () => {
    const email = `${unique("spam")}@${unique("corp")}.test`;
    for (let i = 0; i < 5; i++) {
      const res = await register({ email, password: DEFAULT_PASSWORD, name: `Try ${i}` });
      expect(res.status, describeResponse(res)).toBe(202);
    }
    const refused = await register({ email: email.toUpperCase(), password: DEFAULT_PASSWORD, name: "Sixth" });
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.headers.get("Retry-After")).toBeTruthy();
    await waitForMails(email, 5);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await userByEmail(email))?.name).toMatch(/^Try [0-4]$/);
    // A verified address is limited alike, so the 429 tells nothing about it.
    const tenant = await createTenant();
    for (let i = 0; i < 5; i++) await register({ email: tenant.member.email, password: DEFAULT_PASSWORD });
    expect((await register({ email: tenant.member.email, password: DEFAULT_PASSWORD })).status).toBe(429);
  });
});

describe("POST /api/auth/resend-verification", () => {
  const resend = (email: string) => api("POST", "/api/auth/resend-verification", { body: { email } });

  it("answers 202 alike for unknown, active and pending addresses; only a pending one gets a new link", async () => {
    const tenant = await createTenant();
    const pending = `${unique("pending")}@${tenant.workspace.domain}`;
    const oldToken = await registerAndGetToken(pending);
    const unknown = await resend(`${unique("ghost")}@${tenant.workspace.domain}`);
    const active = await resend(tenant.member.email);
    const waiting = await resend(pending);
    expect([unknown.status, active.status, waiting.status]).toEqual([202, 202, 202]);
    expect(unknown.body).toEqual(waiting.body);
    expect(active.body).toEqual(waiting.body);

    const mails = await waitForMails(pending, 2);
    const newToken = tokenFromMail(mails[1] as (typeof mails)[number], "/verify-email");
    expect((await verify(oldToken)).body.code).toBe("INVALID_TOKEN");
    expect((await verify(newToken)).status).toBe(200);
    expect(await mailsTo(tenant.member.email)).toEqual([]);
  });

  it("allows 3 per hour per address, known or not, then 429", async () => {
    const email = `${unique("ghost")}@${unique("corp")}.test`;
    for (let i = 0; i < 3; i++) expect((await resend(email)).status).toBe(202);
    const refused = await resend(email.toUpperCase());
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.headers.get("Retry-After")).toBeTruthy();
  });
});
