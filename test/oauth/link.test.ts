import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { sessions } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, unique } from "../helpers/factories";
import { api, BASE_URL, describeResponse } from "../helpers/request";
import {
  auditsOf,
  authorizeAs,
  callback,
  exchange,
  FRONTEND_CALLBACK,
  googleIdentity,
  googleLogin,
  googleSignIn,
  linkOfSubject,
  linksOf,
  sessionsOf,
  startFlow,
} from "./support";

/** `POST /api/auth/google/link` as the signed-in user; returns the URL to open. */
async function linkUrl(accessToken: string): Promise<string> {
  const res = await api("POST", "/api/auth/google/link", { token: accessToken });
  expect(res.status, describeResponse(res)).toBe(200);
  return res.body.url as string;
}

describe("POST /api/auth/google/link", () => {
  it("needs a bearer token", async () => {
    const res = await api("POST", "/api/auth/google/link");
    expect(res.status, describeResponse(res)).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
  });

  it("links a Google account the rules would refuse, then that account signs in on its own", async () => {
    const { member } = await createTenant();
    // A consumer Google account with the company address: not authoritative, so plain sign-in refuses it.
    const identity = googleIdentity({ email: member.email });
    expect((await googleSignIn(identity)).location).toBe(`${FRONTEND_CALLBACK}#error=LINK_REQUIRES_LOGIN`);

    const { accessToken } = await signIn(member);
    const url = await linkUrl(accessToken);
    expect(url.startsWith(`${BASE_URL}/api/auth/google?link=`), url).toBe(true);
    // The start pre-selects the user's account at Google.
    const started = await startFlow(url);
    expect(started.location.searchParams.get("login_hint")).toBe(member.email);
    expect(started.cookie).toMatch(/^oauth_flow=/);

    // The URL has been used by that start: linking needs a fresh one.
    const linked = await googleLogin(identity, { startUrl: await linkUrl(accessToken) });
    expect(linked.body.user).toMatchObject({ id: member.id, email: member.email });
    expect((await linkOfSubject(identity.sub))?.userId).toBe(member.id);
    expect((await auditsOf(member.id)).map((e) => [e.eventType, e.data])).toContainEqual([
      "OAUTH_LINKED",
      { provider: "google", via: "link" },
    ]);
    expect((await sessionsOf(member.id)).map((s) => s.method).sort()).toEqual(["GOOGLE", "PASSWORD"]);

    // Linked now: the plain Google sign-in works for this account.
    const again = await googleLogin(identity);
    expect(again.body.user.id).toBe(member.id);
  });

  it("refuses a Google account whose email Google has not verified, even the user's own address (FORBIDDEN)", async () => {
    // Anyone can open a Google account under an address they do not own; linking it would let them in.
    const { member } = await createTenant();
    const identity = googleIdentity({ email: member.email, email_verified: false });
    const { accessToken } = await signIn(member);
    const finished = await googleSignIn(identity, { startUrl: await linkUrl(accessToken) });
    expect(finished.location).toBe(`${FRONTEND_CALLBACK}#error=FORBIDDEN`);
    expect(await linksOf(member.id)).toEqual([]);
    expect(await linkOfSubject(identity.sub)).toBeUndefined();
  });

  it("starts one flow per link URL: a forwarded or leaked URL opened in another browser starts nothing", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const url = await linkUrl(accessToken);
    const mine = await startFlow(url);
    expect(mine.cookie).toMatch(/^oauth_flow=/);
    const theirs = await startFlow(url);
    expect(theirs.location.toString()).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
    expect(theirs.cookie).toBeNull();
    // The browser that opened it first finishes the link.
    const identity = googleIdentity({ email: member.email });
    const finished = await callback(await authorizeAs(mine.location, identity), mine.cookie);
    expect(finished.fragment.get("code")).toBeTruthy();
    expect((await linkOfSubject(identity.sub))?.userId).toBe(member.id);
  });

  it("refuses a Google account with another email (FORBIDDEN): a forwarded link URL links nothing", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const victim = googleIdentity();
    const finished = await googleSignIn(victim, { startUrl: await linkUrl(accessToken) });
    expect(finished.location).toBe(`${FRONTEND_CALLBACK}#error=FORBIDDEN`);
    expect(await linksOf(member.id)).toEqual([]);
    expect(await linkOfSubject(victim.sub)).toBeUndefined();
  });

  it("never moves a Google account linked to another user (CONFLICT)", async () => {
    const { workspace, admin, member } = await createTenant();
    const identity = googleIdentity({ email: admin.email, hd: workspace.domain as string });
    await googleLogin(identity); // linked to the admin
    const { accessToken } = await signIn(member);
    const finished = await googleSignIn(
      { ...identity, email: member.email },
      { startUrl: await linkUrl(accessToken) },
    );
    expect(finished.location).toBe(`${FRONTEND_CALLBACK}#error=CONFLICT`);
    expect((await linkOfSubject(identity.sub))?.userId).toBe(admin.id);
    expect(await linksOf(member.id)).toEqual([]);
  });

  it("ends the flow when the session that asked for it has ended", async () => {
    const { member } = await createTenant();
    const identity = googleIdentity({ email: member.email });
    const { accessToken, sessionId } = await signIn(member);
    const url = await linkUrl(accessToken);
    const revoke = () =>
      withDb((db) =>
        db
          .update(sessions)
          .set({ revokedAt: sql`now()`, revokeReason: "logout" })
          .where(eq(sessions.id, sessionId)),
      );

    // Revoked between the start and the callback.
    const started = await startFlow(url);
    await revoke();
    const finished = await callback(await authorizeAs(started.location, identity), started.cookie);
    expect(finished.location).toBe(`${FRONTEND_CALLBACK}#error=UNAUTHENTICATED`);
    // Revoked before the start: the link URL itself is refused, no cookie is set.
    const late = await startFlow(url);
    expect(late.location.toString()).toBe(`${FRONTEND_CALLBACK}#error=UNAUTHENTICATED`);
    expect(late.cookie).toBeNull();
    expect(await linksOf(member.id)).toEqual([]);
  });

  it("refuses a tampered or foreign link ticket at the start (INVALID_TOKEN)", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const url = new URL(await linkUrl(accessToken));
    const ticket = url.searchParams.get("link") as string;
    for (const bad of [`${ticket.slice(0, -2)}AA`, "v1:not-a-ticket", unique("x")]) {
      url.searchParams.set("link", bad);
      const started = await startFlow(url.toString());
      expect(started.location.toString(), bad).toBe(`${FRONTEND_CALLBACK}#error=INVALID_TOKEN`);
      expect(started.cookie).toBeNull();
    }
  });

  it("exchanges the link flow's code into a GOOGLE session of the linking user", async () => {
    const { member } = await createTenant();
    const { accessToken } = await signIn(member);
    const identity = googleIdentity({ email: member.email });
    const finished = await googleSignIn(identity, { startUrl: await linkUrl(accessToken) });
    const res = await exchange(finished.fragment.get("code") as string);
    expect(res.status, describeResponse(res)).toBe(200);
    const me = await api("GET", "/api/auth/sessions", { token: res.body.accessToken });
    expect(me.body.items.find((s: { current: boolean }) => s.current)?.method).toBe("GOOGLE");
  });
});
