/**
 * A browser's part of the Google flow, against the harness's loopback OIDC provider (scripts/fakes/oidc.ts):
 * start at `GET /api/auth/google` (keeping the flow cookie), "sign in" at the fake's authorize endpoint as a
 * chosen identity (per flow, via its `identity=` / `tamper=` parameters, so parallel tests never share
 * settings), then return to the callback with the cookie and read the fragment of the final redirect.
 */
import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { expect } from "vitest";
import { auditEvents, oauthAccounts, sessions, users } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { unique } from "../helpers/factories";
import { type ApiResponse, api, BASE_URL, randomIp } from "../helpers/request";

export type Identity = { sub: string; email: string; email_verified: boolean; name?: string; hd?: string };
export type Tamper = {
  wrongNonce?: boolean;
  wrongAudience?: boolean;
  expired?: boolean;
  badSignature?: boolean;
};

/** A fresh Google identity; gmail.com by default (Google is authoritative for it). */
export const googleIdentity = (overrides: Partial<Identity> = {}): Identity => ({
  sub: `google-${unique("sub")}`,
  email: `${unique("g")}@gmail.com`,
  email_verified: true,
  name: "Grace Google",
  ...overrides,
});

export const FRONTEND_CALLBACK = `${BASE_URL}/oauth/callback`;

export type Started = { res: Response; location: URL; cookie: string | null; setCookie: string | null };

/** `GET /api/auth/google` (or the link URL) like a browser: the redirect and the flow cookie it set. */
export async function startFlow(url = `${BASE_URL}/api/auth/google`): Promise<Started> {
  const res = await SELF.fetch(url, { redirect: "manual" });
  await res.body?.cancel();
  expect(res.status, `start: ${res.status}`).toBe(302);
  const setCookie = res.headers.get("Set-Cookie");
  const cookie = setCookie ? (setCookie.split(";")[0] ?? null) : null;
  return { res, location: new URL(res.headers.get("Location") ?? ""), cookie, setCookie };
}

/** The fake signs in as `identity` at once and redirects to our callback URL, which is returned. */
export async function authorizeAs(authorizeUrl: URL, identity: Identity, tamper?: Tamper): Promise<URL> {
  const url = new URL(authorizeUrl);
  url.searchParams.set("identity", JSON.stringify(identity));
  if (tamper) url.searchParams.set("tamper", JSON.stringify(tamper));
  const res = await fetch(url, { redirect: "manual" });
  const text = await res.text();
  expect(res.status, `authorize: ${res.status} ${text}`).toBe(302);
  return new URL(res.headers.get("Location") ?? "");
}

export type Finished = {
  res: Response;
  location: string;
  fragment: URLSearchParams;
  setCookie: string | null;
};

/** Returns to `GET /api/auth/google/callback` with the browser's cookie (if any). */
export async function callback(callbackUrl: URL | string, cookie: string | null): Promise<Finished> {
  const url = new URL(callbackUrl);
  const headers: Record<string, string> = { "CF-Connecting-IP": randomIp() };
  if (cookie) headers.Cookie = cookie;
  const res = await SELF.fetch(new URL(`${url.pathname}${url.search}`, BASE_URL), {
    headers,
    redirect: "manual",
  });
  const text = await res.text();
  expect(res.status, `callback: ${res.status} ${text}`).toBe(302);
  const location = res.headers.get("Location") ?? "";
  const fragment = new URLSearchParams(
    location.includes("#") ? location.slice(location.indexOf("#") + 1) : "",
  );
  return { res, location, fragment, setCookie: res.headers.get("Set-Cookie") };
}

/** The whole dance: start (optionally from a link URL), sign in at the fake as `identity`, back to the API. */
export async function googleSignIn(
  identity: Identity,
  options: { tamper?: Tamper; startUrl?: string } = {},
): Promise<Finished> {
  const started = await startFlow(options.startUrl);
  const back = await authorizeAs(started.location, identity, options.tamper);
  return callback(back, started.cookie);
}

export const exchange = (code: string, ip = randomIp()): Promise<ApiResponse> =>
  api("POST", "/api/auth/oauth/exchange", { body: { code }, headers: { "CF-Connecting-IP": ip } });

/** Signs in with Google and exchanges the code: the login response (asserting each step succeeded). */
export async function googleLogin(identity: Identity, options: { startUrl?: string } = {}) {
  const finished = await googleSignIn(identity, options);
  const code = finished.fragment.get("code");
  expect(code, `callback ended with ${finished.location}`).toBeTruthy();
  const res = await exchange(code as string);
  expect(res.status, `exchange: ${res.status} ${res.text}`).toBe(200);
  return res;
}

export const userByEmail = (email: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.email, email)))[0]);
export const userById = (id: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.id, id)))[0]);
export const linksOf = (userId: string) =>
  withDb((db) => db.select().from(oauthAccounts).where(eq(oauthAccounts.userId, userId)));
export const linkOfSubject = (sub: string) =>
  withDb(
    async (db) => (await db.select().from(oauthAccounts).where(eq(oauthAccounts.providerSubject, sub)))[0],
  );
export const sessionsOf = (userId: string) =>
  withDb((db) => db.select().from(sessions).where(eq(sessions.userId, userId)));
export const auditsOf = (userId: string) =>
  withDb((db) =>
    db.select().from(auditEvents).where(eq(auditEvents.targetId, userId)).orderBy(auditEvents.createdAt),
  );
export const auditsByActor = (userId: string) =>
  withDb((db) =>
    db.select().from(auditEvents).where(eq(auditEvents.actorUserId, userId)).orderBy(auditEvents.createdAt),
  );

/** The OIDC fake's issuer (the test pool's GOOGLE_ISSUER). */
export const ISSUER = env.OIDC_FAKE_URL;
