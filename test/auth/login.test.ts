import { env } from "cloudflare:test";
import bcrypt from "bcryptjs";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/core/errors";
import {
  checkLoginLock,
  clearLoginFailures,
  emailLockKey,
  recordLoginFailure,
} from "../../src/core/rate-limit";
import { auditEvents, sessions, users, workspaces } from "../../src/db/schema";
import type { Env } from "../../src/env";
import { verifyCredentials } from "../../src/modules/auth/login.service";
import { startSession } from "../../src/modules/auth/sessions.service";
import { withDb } from "../helpers/db";
import { withDeps } from "../helpers/deps";
import { createTenant, createUser, DEFAULT_PASSWORD, type TestUser, unique } from "../helpers/factories";
import { mailsTo, tokenFromMail, waitForMails } from "../helpers/mail";
import { type ApiResponse, api, describeResponse, randomIp } from "../helpers/request";

const WRONG_PASSWORD = "Wrong-Passphrase-2026!";
const REFRESH_TOKEN_RE = /^rt\.([0-9a-f-]{36})\.0\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/;

const login = (body: Record<string, unknown>, ip = randomIp(), headers: Record<string, string> = {}) =>
  api("POST", "/api/auth/login", { body, headers: { "CF-Connecting-IP": ip, ...headers } });

const userById = (id: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.id, id)))[0]);
const auditsFromIp = (ip: string) =>
  withDb((db) => db.select().from(auditEvents).where(eq(auditEvents.ip, ip)).orderBy(auditEvents.createdAt));
const sessionsOf = (userId: string) =>
  withDb((db) => db.select().from(sessions).where(eq(sessions.userId, userId)));

/** The body of a problem response without its per-request trace id. */
const withoutTrace = (res: ApiResponse) => {
  const { traceId: _traceId, ...rest } = res.body as Record<string, unknown>;
  return rest;
};

/** What a client can observe of a refusal, apart from the per-request ids. */
const observable = (res: ApiResponse) => ({
  status: res.status,
  body: withoutTrace(res),
  headers: [...res.headers.entries()].filter(([name]) => name !== "x-request-id"),
});

async function setStatus(user: TestUser, status: "PENDING_VERIFY" | "DEACTIVATED" | "PENDING_DELETION") {
  await withDb((db) =>
    db
      .update(users)
      .set(
        status === "PENDING_VERIFY"
          ? // A real unverified account has neither a workspace nor a verification time.
            { status, workspaceId: null, emailVerifiedAt: null }
          : { status, purgeAfter: new Date(Date.now() + 30 * 86_400_000) },
      )
      .where(eq(users.id, user.id)),
  );
}

describe("POST /api/auth/login", () => {
  it("signs in with email and password: a token pair, the user and the workspace", async () => {
    const { workspace, member } = await createTenant();
    const ip = randomIp();
    const res = await login(
      { email: member.email, password: DEFAULT_PASSWORD, deviceLabel: " Work laptop " },
      ip,
      {
        "User-Agent": "login-test/1.0",
      },
    );
    expect(res.status, describeResponse(res)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(
      ["accessToken", "expiresIn", "refreshToken", "tokenType", "user", "workspace"].sort(),
    );
    expect(res.body).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 900,
      user: {
        id: member.id,
        email: member.email,
        status: "ACTIVE",
        role: "MEMBER",
        workspaceId: workspace.id,
      },
      workspace: { id: workspace.id, name: workspace.name, kind: "CORPORATE", domain: workspace.domain },
    });
    expect(res.body.refreshToken).toMatch(REFRESH_TOKEN_RE);
    expect(res.body.accessToken.split(".")).toHaveLength(3);
    expect(res.body.user.lastLoginAt).not.toBeNull();
    expect(res.text).not.toContain(DEFAULT_PASSWORD);
    expect(res.text).not.toContain("argon2");
    expect(res.headers.get("Server-Timing")).toBeNull();

    const sessionId = REFRESH_TOKEN_RE.exec(res.body.refreshToken)?.[1] as string;
    const list = await api("GET", "/api/auth/sessions", { token: res.body.accessToken });
    expect(list.status, describeResponse(list)).toBe(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({
        id: sessionId,
        current: true,
        deviceLabel: "Work laptop",
        userAgent: "login-test/1.0",
        ip,
        method: "PASSWORD",
      }),
    ]);

    const after = await userById(member.id);
    expect(after?.lastLoginAt).not.toBeNull();
    expect(after?.lastLoginAt?.toISOString()).toBe(res.body.user.lastLoginAt);
    const [session] = await sessionsOf(member.id);
    expect(session).toMatchObject({ id: sessionId, counter: 0, workspaceId: workspace.id, revokedAt: null });
    const days = (d: Date | undefined) => ((d?.getTime() ?? 0) - Date.now()) / 86_400_000;
    expect(days(session?.idleExpiresAt)).toBeCloseTo(7, 1);
    expect(days(session?.absoluteExpiresAt)).toBeCloseTo(30, 1);

    const audits = await auditsFromIp(ip);
    expect(audits).toEqual([
      expect.objectContaining({
        eventType: "LOGIN_SUCCESS",
        workspaceId: workspace.id,
        actorUserId: member.id,
        actorType: "USER",
        targetType: "session",
        targetId: sessionId,
        userAgent: "login-test/1.0",
      }),
    ]);
    expect(JSON.stringify(audits)).not.toContain(DEFAULT_PASSWORD);
    expect(JSON.stringify(audits)).not.toContain(res.body.refreshToken);
  });

  it("starts a separate session for each login", async () => {
    const { member } = await createTenant();
    const first = await login({ email: member.email, password: DEFAULT_PASSWORD });
    const second = await login({ email: member.email, password: DEFAULT_PASSWORD });
    expect(first.status, describeResponse(first)).toBe(200);
    expect(second.status, describeResponse(second)).toBe(200);
    expect(first.body.refreshToken.split(".")[1]).not.toBe(second.body.refreshToken.split(".")[1]);
    expect(await sessionsOf(member.id)).toHaveLength(2);
  });

  it("treats the email case-insensitively and ignores surrounding spaces", async () => {
    const { member } = await createTenant();
    const res = await login({ email: `  ${member.email.toUpperCase()} `, password: DEFAULT_PASSWORD });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user.email).toBe(member.email);
  });

  it("answers a wrong password and an unknown email with the same 401 INVALID_CREDENTIALS, both audited", async () => {
    const { workspace, member } = await createTenant();
    const [wrongIp, unknownIp] = [randomIp(), randomIp()];
    const wrong = await login({ email: member.email, password: WRONG_PASSWORD }, wrongIp);
    const unknown = await login(
      { email: `${unique("nobody")}@${workspace.domain}`, password: WRONG_PASSWORD },
      unknownIp,
    );
    expect(wrong.status, describeResponse(wrong)).toBe(401);
    expect(wrong.body.code).toBe("INVALID_CREDENTIALS");
    expect(wrong.headers.get("Content-Type")).toBe("application/problem+json");
    expect(observable(unknown)).toEqual(observable(wrong));

    expect(await auditsFromIp(wrongIp)).toEqual([
      expect.objectContaining({
        eventType: "LOGIN_FAILED",
        actorType: "ANONYMOUS",
        workspaceId: workspace.id,
        targetType: "user",
        targetId: member.id,
        data: { via: "login", reason: "wrong_password" },
      }),
    ]);
    expect(await auditsFromIp(unknownIp)).toEqual([
      expect.objectContaining({
        eventType: "LOGIN_FAILED",
        actorType: "ANONYMOUS",
        workspaceId: null,
        targetId: null,
        data: { via: "login", reason: "unknown_email" },
      }),
    ]);
    const audits = JSON.stringify([...(await auditsFromIp(wrongIp)), ...(await auditsFromIp(unknownIp))]);
    expect(audits).not.toContain(WRONG_PASSWORD);
    expect(await sessionsOf(member.id)).toEqual([]);
    expect((await userById(member.id))?.lastLoginAt).toBeNull();
  });

  it("locks an email on the 5th consecutive failure (423 + Retry-After), even against the right password", async () => {
    const { member } = await createTenant();
    const ip = randomIp();
    for (let i = 1; i <= 4; i++) {
      const res = await login({ email: member.email, password: `${WRONG_PASSWORD}${i}` }, ip);
      expect(res.status, describeResponse(res)).toBe(401);
      expect(res.body.code).toBe("INVALID_CREDENTIALS");
    }
    const fifth = await login({ email: member.email, password: WRONG_PASSWORD }, ip);
    expect(fifth.status, describeResponse(fifth)).toBe(423);
    expect(fifth.body.code).toBe("ACCOUNT_LOCKED");
    expect(Number(fifth.headers.get("Retry-After"))).toBe(900);

    const sixth = await login({ email: member.email, password: DEFAULT_PASSWORD }, ip);
    expect(sixth.status, describeResponse(sixth)).toBe(423);
    expect(sixth.body.code).toBe("ACCOUNT_LOCKED");
    const retryAfter = Number(sixth.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(880);
    expect(retryAfter).toBeLessThanOrEqual(900);
    expect(await sessionsOf(member.id)).toEqual([]);

    const audits = await auditsFromIp(ip);
    expect(audits.filter((a) => a.eventType === "LOGIN_FAILED")).toHaveLength(5);
    expect(audits.filter((a) => a.eventType === "ACCOUNT_LOCKED")).toEqual([
      expect.objectContaining({
        actorType: "SYSTEM",
        workspaceId: member.workspaceId,
        targetType: "user",
        targetId: member.id,
        data: { via: "login", lockSeconds: 900 },
      }),
    ]);
    expect(audits.some((a) => a.eventType === "LOGIN_SUCCESS")).toBe(false);
  });

  it("locks an unknown email exactly like an existing one (same statuses, bodies and headers)", async () => {
    const { workspace, member } = await createTenant();
    const sequence = async (email: string) => {
      const ip = randomIp();
      const seen: ApiResponse[] = [];
      for (let i = 0; i < 5; i++) seen.push(await login({ email, password: WRONG_PASSWORD }, ip));
      seen.push(await login({ email, password: DEFAULT_PASSWORD }, ip));
      return { ip, seen };
    };
    const known = await sequence(member.email);
    const unknown = await sequence(`${unique("ghost")}@${workspace.domain}`);

    expect(known.seen.map((r) => r.status)).toEqual([401, 401, 401, 401, 423, 423]);
    for (const [i, res] of unknown.seen.entries()) {
      const reference = known.seen[i] as ApiResponse;
      const comparable = (r: ApiResponse) => {
        const seen = observable(r);
        // The remaining lock time and the IP window's reset may tick by a second between the two sequences.
        const ticking = new Set(["retry-after", "ratelimit-reset"]);
        const body = { ...seen.body, detail: String(seen.body.detail).replace(/\d+/g, "N") };
        return { ...seen, body, headers: seen.headers.filter(([name]) => !ticking.has(name)) };
      };
      expect(comparable(res), `attempt ${i + 1}: ${describeResponse(res)}`).toEqual(comparable(reference));
      expect(
        Math.abs(
          Number(res.headers.get("Retry-After") ?? 0) - Number(reference.headers.get("Retry-After") ?? 0),
        ),
      ).toBeLessThanOrEqual(2);
    }
    // Only an existing account gets an ACCOUNT_LOCKED event (it needs a workspace and a target).
    const unknownAudits = await auditsFromIp(unknown.ip);
    expect(unknownAudits.map((a) => a.eventType)).toEqual(Array(5).fill("LOGIN_FAILED"));
  });

  it("forgets earlier failures after a successful login", async () => {
    const { member } = await createTenant();
    const ip = randomIp();
    const fail = () => login({ email: member.email, password: WRONG_PASSWORD }, ip);
    for (let i = 0; i < 4; i++) expect((await fail()).status).toBe(401);
    const ok = await login({ email: member.email, password: DEFAULT_PASSWORD }, ip);
    expect(ok.status, describeResponse(ok)).toBe(200);
    for (let i = 0; i < 4; i++) {
      const res = await fail();
      expect(res.status, `failure ${i + 1} after the success: ${describeResponse(res)}`).toBe(401);
    }
    const fifth = await fail();
    expect(fifth.status, describeResponse(fifth)).toBe(423);
  });

  it("refuses a right password when concurrent failures locked the email while it was being checked", async () => {
    const { member } = await createTenant();
    const lockName = await withDeps((deps) => emailLockKey(deps.config, member.email));
    // The limiter binding as login sees it, except that right after this attempt's lock check answers
    // "not locked", five other attempts fail and lock the email — what a burst of parallel guesses does.
    let raced = false;
    const racingEnv = {
      ...env,
      RATE_LIMITER: {
        idFromName: (name: string) => env.RATE_LIMITER.idFromName(name),
        get: (id: DurableObjectId) => {
          const stub = env.RATE_LIMITER.get(id);
          return {
            lockStatus: async () => {
              const status = await stub.lockStatus();
              if (!raced && id.equals(env.RATE_LIMITER.idFromName(lockName))) {
                raced = true;
                await withDeps(async (deps) => {
                  for (let i = 0; i < 5; i++) await recordLoginFailure(deps, member.email);
                });
              }
              return status;
            },
            recordFailure: (policy: Parameters<typeof stub.recordFailure>[0]) => stub.recordFailure(policy),
            clearFailures: () => stub.clearFailures(),
            clearFailuresUnlessLocked: () => stub.clearFailuresUnlessLocked(),
          };
        },
      },
    } as unknown as Env;

    const outcome = await withDeps(
      (deps) => verifyCredentials(deps, member.email, DEFAULT_PASSWORD, "login").catch((e: unknown) => e),
      { env: racingEnv },
    );
    expect(raced).toBe(true);
    expect(outcome).toBeInstanceOf(ApiError);
    expect((outcome as ApiError).code).toBe("ACCOUNT_LOCKED");
    // The right password did not lift the lock the failures set.
    const stillLocked = await withDeps((deps) => checkLoginLock(deps, member.email).catch((e: unknown) => e));
    expect((stillLocked as ApiError | undefined)?.code).toBe("ACCOUNT_LOCKED");
    const res = await login({ email: member.email, password: DEFAULT_PASSWORD });
    expect(res.status, describeResponse(res)).toBe(423);
  });

  it("answers a PENDING_VERIFY account exactly like a wrong password, counts the right one, and re-mails its link", async () => {
    const { workspace } = await createTenant();
    const pending = await createUser(workspace);
    await setStatus(pending, "PENDING_VERIFY");
    const verified = await createUser(workspace);
    const ip = randomIp();

    // Someone who registered the address knows the password: the right one must look like a wrong one for a
    // verified account, down to the headers.
    const right = await login({ email: pending.email, password: DEFAULT_PASSWORD }, ip);
    const wrong = await login({ email: verified.email, password: WRONG_PASSWORD });
    expect(right.status, describeResponse(right)).toBe(401);
    expect(observable(right)).toEqual(observable(wrong));
    expect(await sessionsOf(pending.id)).toEqual([]);
    expect((await userById(pending.id))?.status).toBe("PENDING_VERIFY");

    // The owner gets a fresh link (the right password proves nothing about the mailbox, so nothing else).
    const [mail] = await waitForMails(pending.email);
    expect(tokenFromMail(mail as NonNullable<typeof mail>, "/verify-email")).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Counted as failures: the fifth right password locks like five wrong ones, so the sixth tells nothing.
    for (let attempt = 2; attempt <= 4; attempt++) {
      expect((await login({ email: pending.email, password: DEFAULT_PASSWORD })).status).toBe(401);
    }
    const fifth = await login({ email: pending.email, password: DEFAULT_PASSWORD });
    expect(fifth.status, describeResponse(fifth)).toBe(423);
    const audits = (await auditsFromIp(ip)).filter((e) => e.targetId === pending.id);
    expect(audits).toEqual([
      expect.objectContaining({ eventType: "LOGIN_FAILED", data: { via: "login", reason: "not_verified" } }),
    ]);
  });

  it("re-mails a pending account's link at most RATE_LIMIT_REGISTER_EMAIL times (5 per hour), silently", async () => {
    const { workspace } = await createTenant();
    const pending = await createUser(workspace);
    await setStatus(pending, "PENDING_VERIFY");
    for (let i = 0; i < 7; i++) {
      // Between the tries, the lock is lifted by hand: only the mail limit is under test.
      await withDeps((deps) => clearLoginFailures(deps, pending.email));
      const res = await login({ email: pending.email, password: DEFAULT_PASSWORD });
      expect(res.status, describeResponse(res)).toBe(401);
    }
    await waitForMails(pending.email, 5);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(await mailsTo(pending.email)).toHaveLength(5);
  });

  it("spends the address's verification-mail budget on every refused attempt, so register's 429 tells nothing", async () => {
    const { workspace } = await createTenant();
    const pending = await createUser(workspace);
    await setStatus(pending, "PENDING_VERIFY");
    const verified = await createUser(workspace);
    const register = (email: string) =>
      api("POST", "/api/auth/register", {
        body: { email, password: DEFAULT_PASSWORD },
        headers: { "CF-Connecting-IP": randomIp() },
      });
    // Someone who registered the address tries their password a few times, then registers again: whether the
    // address was free (now pending: their password is right) or held by a verified account (their password
    // is wrong there), the answers must be the same.
    const probe = async (email: string, password: string) => {
      const seen: number[] = [];
      for (let i = 0; i < 4; i++) seen.push((await login({ email, password })).status);
      seen.push((await register(email)).status, (await register(email)).status);
      return seen;
    };
    const forPending = await probe(pending.email, DEFAULT_PASSWORD);
    const forVerified = await probe(verified.email, WRONG_PASSWORD);
    expect(forPending).toEqual([401, 401, 401, 401, 202, 429]);
    expect(forVerified).toEqual(forPending);
  });

  it.each([
    ["DEACTIVATED", "ACCOUNT_DEACTIVATED"],
    ["PENDING_DELETION", "ACCOUNT_PENDING_DELETION"],
  ] as const)("reveals a %s account only after the right password (403 %s)", async (status, code) => {
    const { workspace } = await createTenant();
    const user = await createUser(workspace);
    await setStatus(user, status);

    const wrong = await login({ email: user.email, password: WRONG_PASSWORD });
    const unknown = await login({
      email: `${unique("nobody")}@${workspace.domain}`,
      password: WRONG_PASSWORD,
    });
    expect(wrong.status, describeResponse(wrong)).toBe(401);
    expect(withoutTrace(wrong)).toEqual(withoutTrace(unknown));

    const right = await login({ email: user.email, password: DEFAULT_PASSWORD });
    expect(right.status, describeResponse(right)).toBe(403);
    expect(right.body.code).toBe(code);
    expect(right.text).not.toContain("accessToken");
    expect(await sessionsOf(user.id)).toEqual([]);
    const after = await userById(user.id);
    expect(after?.lastLoginAt).toBeNull();
    expect(after?.status).toBe(status);
  });

  it("refuses a Google-only account (no password) with the unknown-email 401", async () => {
    const { workspace } = await createTenant();
    const google = await createUser(workspace, { password: null });
    const res = await login({ email: google.email, password: DEFAULT_PASSWORD });
    const unknown = await login({
      email: `${unique("nobody")}@${workspace.domain}`,
      password: DEFAULT_PASSWORD,
    });
    expect(res.status, describeResponse(res)).toBe(401);
    expect(withoutTrace(res)).toEqual(withoutTrace(unknown));
    expect(await sessionsOf(google.id)).toEqual([]);
  });

  it("accepts a legacy bcrypt hash and upgrades it to argon2id", async () => {
    const { workspace } = await createTenant();
    const user = await createUser(workspace);
    const legacy = bcrypt.hashSync(DEFAULT_PASSWORD, 4);
    await withDb((db) => db.update(users).set({ passwordHash: legacy }).where(eq(users.id, user.id)));

    const wrong = await login({ email: user.email, password: WRONG_PASSWORD });
    expect(wrong.status, describeResponse(wrong)).toBe(401);
    expect((await userById(user.id))?.passwordHash).toBe(legacy);

    const ip = randomIp();
    const res = await login({ email: user.email, password: DEFAULT_PASSWORD }, ip);
    expect(res.status, describeResponse(res)).toBe(200);
    const upgraded = (await userById(user.id))?.passwordHash;
    expect(upgraded).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    const [success] = await auditsFromIp(ip);
    expect(success).toMatchObject({ eventType: "LOGIN_SUCCESS", data: { passwordHashUpgraded: true } });
    expect(JSON.stringify(success)).not.toContain("$argon2id$");

    // The new hash verifies the same password, and is kept as it is.
    const again = await login({ email: user.email, password: DEFAULT_PASSWORD });
    expect(again.status, describeResponse(again)).toBe(200);
    expect((await userById(user.id))?.passwordHash).toBe(upgraded);
  });

  it("still signs in members of a workspace pending deletion", async () => {
    const { workspace, admin } = await createTenant();
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: new Date(Date.now() + 30 * 86_400_000) })
        .where(eq(workspaces.id, workspace.id)),
    );
    const res = await login({ email: admin.email, password: DEFAULT_PASSWORD });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.workspace.status).toBe("PENDING_DELETION");
  });

  it("refuses invalid bodies with 400 VALIDATION_FAILED before any credential check", async () => {
    const { member } = await createTenant();
    const ip = randomIp();
    for (const body of [
      { email: member.email, password: DEFAULT_PASSWORD, role: "ADMIN" },
      { email: "not-an-email", password: DEFAULT_PASSWORD },
      { email: member.email },
      { email: member.email, password: "" },
      { email: member.email, password: "x".repeat(129) },
      { email: member.email, password: DEFAULT_PASSWORD, deviceLabel: "x".repeat(101) },
      { email: member.email, password: 12345678 },
    ]) {
      const res = await login(body, ip);
      expect(res.status, `${JSON.stringify(body).slice(0, 80)}: ${describeResponse(res)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    const malformed = await api("POST", "/api/auth/login", {
      rawBody: "{not json",
      headers: { "Content-Type": "application/json", "CF-Connecting-IP": ip },
    });
    expect(malformed.status, describeResponse(malformed)).toBe(400);
    expect(malformed.body.code).toBe("VALIDATION_FAILED");
    expect(await auditsFromIp(ip)).toEqual([]);
    expect(await sessionsOf(member.id)).toEqual([]);
  });

  it("allows 30 attempts per IP and minute, then answers 429 RATE_LIMITED with Retry-After, recording nothing", async () => {
    const ip = randomIp();
    const domain = `${unique("rl")}.test`;
    for (let i = 0; i < 30; i++) {
      const res = await login({ email: `${unique("u")}@${domain}`, password: WRONG_PASSWORD }, ip);
      expect(res.status, `attempt ${i + 1}: ${describeResponse(res)}`).toBe(401);
    }
    const refused = await login({ email: `${unique("u")}@${domain}`, password: WRONG_PASSWORD }, ip);
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(refused.headers.get("RateLimit-Remaining")).toBe("0");
    const failures = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.ip, ip), eq(auditEvents.eventType, "LOGIN_FAILED"))),
    );
    expect(failures).toHaveLength(30);

    // Another IP is not affected.
    const other = await login({ email: `${unique("u")}@${domain}`, password: WRONG_PASSWORD });
    expect(other.status, describeResponse(other)).toBe(401);
  });
});

describe("startSession (the sign-in statement)", () => {
  it("creates no session when the password changed after it was verified (a login racing a reset)", async () => {
    const { member } = await createTenant();
    const [row] = await withDb((db) => db.select().from(users).where(eq(users.id, member.id)));
    if (!row?.workspaceId || !row.passwordHash) throw new Error("fixture user without workspace or hash");
    const input = { userId: member.id, workspaceId: row.workspaceId, method: "PASSWORD" as const };
    const stale = await withDeps((deps) =>
      startSession(deps, deps.db, { ...input, verifiedPasswordHash: `${row.passwordHash}-before-the-reset` }),
    );
    expect(stale).toBeNull();
    const live = await withDb((db) => db.select().from(sessions).where(eq(sessions.userId, member.id)));
    expect(live).toEqual([]);
    const current = await withDeps((deps) =>
      startSession(deps, deps.db, { ...input, verifiedPasswordHash: row.passwordHash ?? undefined }),
    );
    expect(current?.tokens.sessionId).toBeTruthy();
  });
});
