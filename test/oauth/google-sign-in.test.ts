import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { invitations, sessions, users, userTokens } from "../../src/db/schema";
import worker from "../../src/index";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, createUser, DEFAULT_PASSWORD, unique } from "../helpers/factories";
import { tokenFromMail, waitForMails } from "../helpers/mail";
import { api, BASE_URL, describeResponse, randomIp } from "../helpers/request";
import {
  auditsByActor,
  auditsOf,
  authorizeAs,
  callback,
  exchange,
  FRONTEND_CALLBACK,
  googleIdentity,
  googleLogin,
  googleSignIn,
  ISSUER,
  linkOfSubject,
  linksOf,
  sessionsOf,
  startFlow,
  userByEmail,
  userById,
} from "./support";

const login = (email: string, password: string) =>
  api("POST", "/api/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": randomIp() } });

/** The Worker with GOOGLE_CLIENT_ID unset (an empty variable counts as unset). */
async function unconfigured(method: string, path: string, token?: string) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(new URL(path, BASE_URL), {
      method,
      redirect: "manual",
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    }),
    { ...env, GOOGLE_CLIENT_ID: "" },
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, text: await res.text(), location: res.headers.get("Location") };
}

describe("GET /api/auth/google", () => {
  it("redirects to the issuer with state, nonce and PKCE S256, bound to a sealed HttpOnly cookie", async () => {
    const { res, location, setCookie, cookie } = await startFlow();
    expect(`${location.origin}${location.pathname}`).toBe(`${ISSUER}/authorize`);
    const q = location.searchParams;
    expect(q.get("response_type")).toBe("code");
    expect(q.get("client_id")).toBe("test-google-client");
    expect(q.get("redirect_uri")).toBe(`${BASE_URL}/api/auth/google/callback`);
    expect(q.get("scope")?.split(" ").sort()).toEqual(["email", "openid", "profile"]);
    expect(q.get("code_challenge_method")).toBe("S256");
    expect(q.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("state")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(q.get("nonce")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Nothing secret in the URL: no verifier, no client secret.
    expect(location.toString()).not.toContain("test-google-secret");
    expect([...q.keys()].sort()).toEqual(
      [
        "client_id",
        "code_challenge",
        "code_challenge_method",
        "nonce",
        "prompt",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
      ].sort(),
    );

    expect(setCookie).toMatch(/^oauth_flow=/);
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; Secure/i);
    expect(setCookie).toMatch(/; SameSite=Lax/i);
    expect(setCookie).toMatch(/; Path=\/api\/auth\/google(;|$)/i);
    expect(setCookie).toMatch(/; Max-Age=600/i);
    // Sealed, not merely encoded: neither the state, the nonce nor anything JSON-like is readable.
    const value = decodeURIComponent((cookie as string).slice("oauth_flow=".length));
    expect(value).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(value).not.toContain(q.get("state") as string);
    expect(res.headers.get("Cache-Control")).toBe("no-store");
  });

  it("answers 501 NOT_CONFIGURED on every Google route when GOOGLE_CLIENT_ID is unset", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    for (const [method, path] of [
      ["GET", "/api/auth/google"],
      ["GET", "/api/auth/google/callback?code=x&state=y"],
      ["POST", "/api/auth/google/link"],
    ] as const) {
      const res = await unconfigured(method, path, accessToken);
      expect(res.status, `${method} ${path}: ${res.text}`).toBe(501);
      expect(JSON.parse(res.text).code, path).toBe("NOT_CONFIGURED");
      expect(res.location, path).toBeNull();
    }
  });
});

describe("GET /api/auth/google/callback", () => {
  it("creates an ACTIVE, verified, password-less user in its own workspace for a new Google account", async () => {
    const identity = googleIdentity({ name: "Nia New" });
    const finished = await googleSignIn(identity);
    // The only thing in the redirect is the one-time code, in the fragment (never a query, never a token).
    expect(finished.location).toMatch(new RegExp(`^${FRONTEND_CALLBACK}#code=[A-Za-z0-9_-]{43}$`));
    expect(finished.res.headers.get("Cache-Control")).toBe("no-store");
    // The flow cookie is cleared whatever the outcome.
    expect(finished.setCookie).toMatch(/^oauth_flow=;/);
    expect(finished.setCookie).toMatch(/Max-Age=0/i);

    const res = await exchange(finished.fragment.get("code") as string);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({
      tokenType: "Bearer",
      expiresIn: 900,
      user: { email: identity.email, name: "Nia New", status: "ACTIVE", role: "ADMIN", emailVerified: true },
      workspace: { kind: "PERSONAL" },
    });
    expect(res.body.refreshToken).toMatch(/^rt\./);

    const user = await userByEmail(identity.email);
    expect(user).toMatchObject({ status: "ACTIVE", passwordHash: null, workspaceId: res.body.workspace.id });
    expect(user?.emailVerifiedAt).not.toBeNull();
    expect(await linksOf(user?.id as string)).toEqual([
      expect.objectContaining({ provider: "google", providerSubject: identity.sub, email: identity.email }),
    ]);
    const [session] = await sessionsOf(user?.id as string);
    expect(session).toMatchObject({ method: "GOOGLE", revokedAt: null });
    // The access token works like a password login's.
    const sessionsRes = await api("GET", "/api/auth/sessions", { token: res.body.accessToken });
    expect(sessionsRes.status, describeResponse(sessionsRes)).toBe(200);
    expect(sessionsRes.body.items).toEqual([expect.objectContaining({ method: "GOOGLE", current: true })]);

    const events = (await auditsByActor(user?.id as string)).map((e) => [e.eventType, e.data]);
    expect(events).toEqual(
      expect.arrayContaining([
        ["OAUTH_LINKED", { provider: "google", via: "new-account" }],
        ["LOGIN_SUCCESS", { method: "GOOGLE" }],
        ["VERIFY_EMAIL", expect.objectContaining({ via: "google" })],
      ]),
    );
    expect(JSON.stringify(events)).not.toContain(finished.fragment.get("code") as string);
    // No password exists to log in with.
    const attempt = await login(identity.email, DEFAULT_PASSWORD);
    expect(attempt.status, describeResponse(attempt)).toBe(401);
  });

  it("does not apply an open invitation for the address at a first Google sign-in (token or choice only)", async () => {
    const tenant = await createTenant();
    const identity = googleIdentity({ name: "Ivy Invited" });
    const [invitation] = await withDb((db) =>
      db
        .insert(invitations)
        .values({
          workspaceId: tenant.workspace.id,
          email: identity.email,
          role: "ADMIN",
          tokenHash: `unused-${unique()}`,
          invitedBy: tenant.admin.id,
          expiresAt: new Date(Date.now() + 86_400_000),
        })
        .returning(),
    );
    const res = await googleLogin(identity);
    expect(res.body.workspace).toMatchObject({ kind: "PERSONAL" });
    expect(res.body.workspace.id).not.toBe(tenant.workspace.id);
    const list = await api("GET", "/api/users/me/invitations", { token: res.body.accessToken });
    expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([invitation?.id]);
  });

  it("places a new Google Workspace user (hd = its domain) in its company's workspace", async () => {
    const domain = `${unique("corp")}.test`;
    const first = googleIdentity({ email: `${unique("a")}@${domain}`, hd: domain });
    const second = googleIdentity({ email: `${unique("b")}@${domain}`, hd: domain.toUpperCase() });
    const a = await googleLogin(first);
    const b = await googleLogin(second);
    expect(a.body.workspace).toMatchObject({ kind: "CORPORATE", domain });
    expect(a.body.user.role).toBe("ADMIN");
    expect(b.body.workspace.id).toBe(a.body.workspace.id);
    expect(b.body.user.role).toBe("MEMBER");
  });

  it("links an existing verified user with the same (authoritative) email and signs in as that user", async () => {
    const { workspace, member } = await createTenant();
    const identity = googleIdentity({ email: member.email, hd: workspace.domain as string });
    const res = await googleLogin(identity);
    expect(res.body.user).toMatchObject({ id: member.id, email: member.email, workspaceId: workspace.id });
    expect((await linkOfSubject(identity.sub))?.userId).toBe(member.id);
    // Linking takes nothing away: the password still works.
    const pw = await login(member.email, DEFAULT_PASSWORD);
    expect(pw.status, describeResponse(pw)).toBe(200);
    expect((await auditsOf(member.id)).map((e) => [e.eventType, e.data])).toContainEqual([
      "OAUTH_LINKED",
      { provider: "google", via: "verified-email" },
    ]);

    // From now on the Google account (its stable sub) is the key, even when its email changes.
    const renamed = { ...identity, email: `${unique("renamed")}@elsewhere.test`, hd: undefined };
    const again = await googleLogin(renamed);
    expect(again.body.user.id).toBe(member.id);
    expect((await linkOfSubject(identity.sub))?.email).toBe(renamed.email);
  });

  it("neutralises an unverified account pre-registered for the victim's email (account takeover)", async () => {
    const email = `${unique("victim")}@gmail.com`;
    const attackerPassword = "Mallory-Orchard-Lantern-77!";
    const registered = await api("POST", "/api/auth/register", {
      body: { email, password: attackerPassword, name: "Mallory" },
      headers: { "CF-Connecting-IP": randomIp() },
    });
    expect(registered.status, describeResponse(registered)).toBe(202);
    const [mail] = await waitForMails(email);
    const attackerLink = tokenFromMail(mail as NonNullable<typeof mail>, "/verify-email");
    const pending = await userByEmail(email);
    expect(pending).toMatchObject({ status: "PENDING_VERIFY" });
    // The attacker also holds a password-reset link for it.
    await withDb((db) =>
      db.insert(userTokens).values({
        purpose: "RESET_PASSWORD",
        tokenHash: `reset-${unique()}`,
        userId: pending?.id as string,
        expiresAt: new Date(Date.now() + 3_600_000),
      }),
    );

    const identity = googleIdentity({ email, name: "Victoria Victim" });
    const res = await googleLogin(identity);
    expect(res.body.user).toMatchObject({ id: pending?.id, name: "Victoria Victim", status: "ACTIVE" });

    const owned = await userById(pending?.id as string);
    expect(owned).toMatchObject({ passwordHash: null, name: "Victoria Victim", status: "ACTIVE" });
    // The attacker's password no longer signs in, and their links are dead.
    const attempt = await login(email, attackerPassword);
    expect(attempt.status, describeResponse(attempt)).toBe(401);
    const verify = await api("POST", "/api/auth/verify-email", {
      body: { token: attackerLink, password: attackerPassword },
      headers: { "CF-Connecting-IP": randomIp() },
    });
    expect(verify.status, describeResponse(verify)).toBe(400);
    expect(verify.body.code).toBe("INVALID_TOKEN");
    const tokens = await withDb((db) =>
      db
        .select()
        .from(userTokens)
        .where(eq(userTokens.userId, pending?.id as string)),
    );
    expect(tokens.map((t) => t.purpose)).toEqual(["OAUTH_CODE"]);
    // Only the victim's own (Google) session exists.
    expect((await sessionsOf(pending?.id as string)).map((s) => s.method)).toEqual(["GOOGLE"]);
    expect((await auditsOf(pending?.id as string)).map((e) => [e.eventType, e.data])).toContainEqual([
      "OAUTH_LINKED",
      {
        provider: "google",
        via: "pending-account",
        passwordCleared: true,
        sessionsRevoked: 0,
        tokensVoided: 2,
      },
    ]);
  });

  it("revokes sessions the pre-registered account had (e.g. from a past invitation) when claiming it", async () => {
    // An account that once had a session can be PENDING_VERIFY again only by direct data changes; the
    // claim still revokes whatever sessions exist, so nothing the earlier holder had survives.
    const { workspace, member } = await createTenant();
    const { sessionId } = await signIn(member);
    await withDb((db) => db.update(users).set({ status: "PENDING_VERIFY" }).where(eq(users.id, member.id)));
    const identity = googleIdentity({ email: member.email, hd: workspace.domain as string });
    const res = await googleLogin(identity);
    expect(res.body.user.id).toBe(member.id);
    const [old] = await withDb((db) => db.select().from(sessions).where(eq(sessions.id, sessionId)));
    expect(old).toMatchObject({ revokeReason: "google_verified_owner" });
    expect(old?.revokedAt).not.toBeNull();
    expect((await userById(member.id))?.passwordHash).toBeNull();
  });

  it("refuses Google emails Google is not authoritative for with #error=LINK_REQUIRES_LOGIN", async () => {
    const { workspace, member } = await createTenant();
    const cases = [
      // A consumer Google account registered with a company address: Google never proved that mailbox.
      googleIdentity({ email: member.email }),
      // Another Workspace's account claiming this domain's address.
      googleIdentity({ email: member.email, hd: `${unique("other")}.test` }),
      // Not verified by Google, even on gmail.com and for a brand-new address.
      googleIdentity({ email_verified: false }),
      googleIdentity({ email: member.email, hd: workspace.domain as string, email_verified: false }),
    ];
    for (const identity of cases) {
      const finished = await googleSignIn(identity);
      expect(finished.location, JSON.stringify(identity)).toBe(
        `${FRONTEND_CALLBACK}#error=LINK_REQUIRES_LOGIN`,
      );
      expect(await linkOfSubject(identity.sub)).toBeUndefined();
    }
    expect(await linksOf(member.id)).toEqual([]);
    expect(await userByEmail((cases[2] as { email: string }).email)).toBeUndefined();
    expect((await auditsOf(member.id)).map((e) => [e.eventType, e.data])).toContainEqual([
      "LOGIN_FAILED",
      { via: "google", reason: "email_domain_not_authoritative" },
    ]);
  });

  it("refuses DEACTIVATED and PENDING_DELETION users with login's codes, linked or not", async () => {
    const { workspace } = await createTenant();
    for (const [status, code] of [
      ["DEACTIVATED", "ACCOUNT_DEACTIVATED"],
      ["PENDING_DELETION", "ACCOUNT_PENDING_DELETION"],
    ] as const) {
      // Not linked yet: an authoritative email of a refused account links nothing.
      const unlinked = await createUser(workspace, { status });
      const first = googleIdentity({ email: unlinked.email, hd: workspace.domain as string });
      expect((await googleSignIn(first)).location).toBe(`${FRONTEND_CALLBACK}#error=${code}`);
      expect(await linksOf(unlinked.id)).toEqual([]);

      // Already linked, then deactivated or scheduled for deletion.
      const linked = await createUser(workspace);
      const second = googleIdentity({ email: linked.email, hd: workspace.domain as string });
      await googleLogin(second);
      await withDb((db) =>
        db
          .update(users)
          .set({ status, purgeAfter: new Date(Date.now() + 30 * 86_400_000) })
          .where(eq(users.id, linked.id)),
      );
      const finished = await googleSignIn(second);
      expect(finished.location, status).toBe(`${FRONTEND_CALLBACK}#error=${code}`);
      const live = (await sessionsOf(linked.id)).filter((s) => s.revokedAt === null);
      expect(live, "only the session from before the status change").toHaveLength(1);
    }
  });

  it("refuses a missing or wrong state (INVALID_TOKEN) before asking the issuer anything", async () => {
    const identity = googleIdentity();
    const a = await startFlow();
    const b = await startFlow();
    const backA = await authorizeAs(a.location, identity);

    // No cookie at all (another browser, or a link sent by an attacker).
    expect((await callback(backA, null)).location).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
    // The cookie of another flow of this browser.
    expect((await callback(backA, b.cookie)).location).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
    // A forged cookie.
    expect((await callback(backA, "oauth_flow=v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")).location).toBe(
      `${FRONTEND_CALLBACK}#error=INVALID_TOKEN`,
    );
    // The right cookie with a changed or missing state.
    const changed = new URL(backA);
    changed.searchParams.set("state", `${changed.searchParams.get("state")?.slice(0, -1)}x`);
    expect((await callback(changed, a.cookie)).location).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
    const missing = new URL(backA);
    missing.searchParams.delete("state");
    expect((await callback(missing, a.cookie)).location).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
    expect(await userByEmail(identity.email)).toBeUndefined();

    // The code was never spent by those attempts: the genuine return still works.
    const ok = await callback(backA, a.cookie);
    expect(ok.fragment.get("code"), ok.location).toBeTruthy();
  });

  it("refuses a sign-in the user cancelled at Google", async () => {
    const started = await startFlow();
    const back = new URL(`${BASE_URL}/api/auth/google/callback`);
    back.searchParams.set("error", "access_denied");
    back.searchParams.set("state", started.location.searchParams.get("state") as string);
    expect((await callback(back, started.cookie)).location).toBe(
      `${FRONTEND_CALLBACK}#error=UNAUTHENTICATED`,
    );
  });

  it("refuses ID tokens with a wrong nonce, a wrong audience, an expiry in the past or a bad signature", async () => {
    for (const tamper of [
      { wrongNonce: true },
      { wrongAudience: true },
      { expired: true },
      { badSignature: true },
    ]) {
      const identity = googleIdentity();
      const finished = await googleSignIn(identity, { tamper });
      expect(finished.location, JSON.stringify(tamper)).toBe(`${FRONTEND_CALLBACK}#error=UNAUTHENTICATED`);
      expect(await userByEmail(identity.email), JSON.stringify(tamper)).toBeUndefined();
    }
  });

  it("refuses a replayed callback: the authorization code works once", async () => {
    const identity = googleIdentity();
    const started = await startFlow();
    const back = await authorizeAs(started.location, identity);
    const first = await callback(back, started.cookie);
    expect(first.fragment.get("code"), first.location).toBeTruthy();
    // Even with the cookie kept (a browser would have dropped it), the replay gets nothing.
    const replay = await callback(back, started.cookie);
    expect(replay.location).toBe(`${FRONTEND_CALLBACK}#error=UNAUTHENTICATED`);
    const user = await userByEmail(identity.email);
    const codes = await withDb((db) =>
      db
        .select()
        .from(userTokens)
        .where(and(eq(userTokens.userId, user?.id as string), eq(userTokens.purpose, "OAUTH_CODE"))),
    );
    expect(codes).toHaveLength(1);
  });
});
