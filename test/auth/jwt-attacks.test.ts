/**
 * Forged, replayed and stale access tokens against a protected route. The caller is an ordinary member, so a
 * token that passes authentication answers 403 (not a platform admin) and every refusal must be 401 — the
 * control case proves the difference is authentication, not authorization.
 */
import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { base64url, exportJWK, exportSPKI, generateKeyPair, importJWK, type JWTPayload, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { sessions, users } from "../../src/db/schema";
import { loadConfig } from "../../src/env";
import { getSigningKey } from "../../src/modules/auth/signing-keys.service";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { withDeps } from "../helpers/deps";
import { createTenant, type TestUser } from "../helpers/factories";
import { type ApiResponse, api, describeResponse } from "../helpers/request";

const PROTECTED = "/api/auth/rotate-keys";
const config = loadConfig(env);

const call = (token: string) => api("POST", PROTECTED, { token });

function expectRefused(res: ApiResponse) {
  expect(res.status, describeResponse(res)).toBe(401);
  expect(res.body.code).toBe("UNAUTHENTICATED");
  expect(res.headers.get("WWW-Authenticate")).toMatch(/^Bearer/);
}

/** A member with a live session, and the claims a genuine token for it carries. */
async function victim() {
  const tenant = await createTenant();
  const session = await signIn(tenant.member);
  const now = Math.floor(Date.now() / 1000);
  const claims: JWTPayload & Record<string, unknown> = {
    iss: config.JWT_ISSUER,
    aud: config.JWT_AUDIENCE,
    sub: tenant.member.id,
    sid: session.sessionId,
    wid: tenant.workspace.id,
    auth_time: now,
    iat: now,
    exp: now + 900,
    jti: newId(),
  };
  return { tenant, member: tenant.member as TestUser, session, claims };
}

/** Signs arbitrary claims and header with the real CURRENT key — what only the server can do. */
async function signWithRealKey(
  claims: Record<string, unknown>,
  header: Record<string, unknown> = {},
): Promise<string> {
  const { kid, privateKey } = await withDeps((deps) => getSigningKey(deps));
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid, typ: "at+jwt", ...header })
    .sign(privateKey);
}

const b64json = (value: unknown) => base64url.encode(JSON.stringify(value));

/** The current public key as the world sees it (JWKS). */
async function publishedCurrentJwk() {
  const { kid } = await withDeps((deps) => getSigningKey(deps));
  const res = await api("GET", "/api/auth/.well-known/jwks.json");
  const jwk = res.body.keys.find((k: { kid: string }) => k.kid === kid);
  if (!jwk) throw new Error("current key not in JWKS");
  return jwk;
}

async function hs256(secret: Uint8Array, claims: Record<string, unknown>, kid: string) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", kid, typ: "at+jwt" }).sign(secret);
}

describe("access tokens: forged, stale and replayed tokens are refused with 401", () => {
  it("accepts a genuine token (control: the caller is authenticated, only not a platform admin)", async () => {
    const { session } = await victim();
    const res = await call(session.accessToken);
    expect(res.status, describeResponse(res)).toBe(403);
  });

  it("refuses a request without a token or with another scheme (WWW-Authenticate: Bearer)", async () => {
    const { session } = await victim();
    const variants: Record<string, string>[] = [
      {},
      { Authorization: `Basic ${btoa("a:b")}` },
      { Authorization: "Bearer" },
    ];
    for (const headers of variants) {
      const res = await api("POST", PROTECTED, { headers });
      expectRefused(res);
      expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
    }
    // The scheme is case-insensitive (RFC 7235).
    const lower = await api("POST", PROTECTED, {
      headers: { Authorization: `bearer ${session.accessToken}` },
    });
    expect(lower.status, describeResponse(lower)).toBe(403);
  });

  it('refuses alg "none"', async () => {
    const { claims } = await victim();
    const { kid } = await withDeps((deps) => getSigningKey(deps));
    for (const alg of ["none", "None", "NONE"]) {
      const token = `${b64json({ alg, kid, typ: "at+jwt" })}.${b64json(claims)}.`;
      const res = await call(token);
      expectRefused(res);
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer error="invalid_token"');
    }
  });

  it("refuses HS256 signed with the RSA public key as the HMAC secret (algorithm confusion)", async () => {
    const { claims } = await victim();
    const jwk = await publishedCurrentJwk();
    const pem = await exportSPKI((await importJWK(jwk, "RS256")) as CryptoKey);
    const encoder = new TextEncoder();
    for (const secret of [
      encoder.encode(pem),
      encoder.encode(JSON.stringify(jwk)),
      base64url.decode(jwk.n),
    ]) {
      expectRefused(await call(await hs256(secret, claims, jwk.kid)));
    }
  });

  it("refuses a token signed by an attacker's RSA key under the real kid", async () => {
    const { claims } = await victim();
    const { kid } = await withDeps((deps) => getSigningKey(deps));
    const attacker = await generateKeyPair("RS256");
    const token = await new SignJWT(claims)
      .setProtectedHeader({ alg: "RS256", kid, typ: "at+jwt" })
      .sign(attacker.privateKey);
    expectRefused(await call(token));
  });

  it("refuses an unknown kid, a missing kid and a key embedded in the header", async () => {
    const { claims } = await victim();
    const attacker = await generateKeyPair("RS256", { extractable: true });
    const publicJwk = await exportJWK(attacker.publicKey);
    const sign = (header: Record<string, unknown>) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "RS256", typ: "at+jwt", ...header })
        .sign(attacker.privateKey);
    expectRefused(await call(await sign({ kid: `unknown-${newId()}` })));
    expectRefused(await call(await sign({})));
    expectRefused(await call(await sign({ jwk: publicJwk })));
    expectRefused(await call(await sign({ kid: "x", jku: "http://127.0.0.1:1/jwks.json" })));
  });

  it("refuses an expired token", async () => {
    const { claims } = await victim();
    const now = Math.floor(Date.now() / 1000);
    expectRefused(await call(await signWithRealKey({ ...claims, iat: now - 1200, exp: now - 300 })));
  });

  it("refuses a wrong issuer and a wrong audience", async () => {
    const { claims } = await victim();
    expectRefused(await call(await signWithRealKey({ ...claims, iss: "https://evil.example" })));
    expectRefused(await call(await signWithRealKey({ ...claims, aud: "another-api" })));
    const { iss: _iss, ...noIssuer } = claims;
    expectRefused(await call(await signWithRealKey(noIssuer)));
  });

  it("refuses a token whose typ is missing or not at+jwt (e.g. an ID token)", async () => {
    const { claims } = await victim();
    expectRefused(await call(await signWithRealKey(claims, { typ: undefined })));
    expectRefused(await call(await signWithRealKey(claims, { typ: "JWT" })));
  });

  it("refuses tokens missing a required claim or with malformed ids (never a 500)", async () => {
    const { claims } = await victim();
    for (const claim of ["sid", "wid", "sub", "auth_time", "jti", "exp"]) {
      const { [claim]: _dropped, ...rest } = claims;
      expectRefused(await call(await signWithRealKey(rest)));
    }
    expectRefused(await call(await signWithRealKey({ ...claims, sub: "not-a-uuid" })));
    expectRefused(await call(await signWithRealKey({ ...claims, sid: "1' OR '1'='1" })));
  });

  it("refuses a refresh token presented as the bearer", async () => {
    const { session } = await victim();
    expectRefused(
      await call(`rt.${session.sessionId}.1.${base64url.encode(crypto.getRandomValues(new Uint8Array(32)))}`),
    );
  });

  it("refuses a tampered payload", async () => {
    const { tenant, session } = await victim();
    const [header, payload, signature] = session.accessToken.split(".") as [string, string, string];
    const claims = JSON.parse(new TextDecoder().decode(base64url.decode(payload)));
    const tampered = b64json({ ...claims, sub: tenant.admin.id });
    expectRefused(await call(`${header}.${tampered}.${signature}`));
    // Flipping one signature character is refused too.
    const flipped = signature.startsWith("A") ? `B${signature.slice(1)}` : `A${signature.slice(1)}`;
    expectRefused(await call(`${header}.${payload}.${flipped}`));
  });

  it("refuses a validly signed token whose sub, sid and wid do not belong together", async () => {
    const { tenant, claims } = await victim();
    const other = await createTenant();
    // Another user of the same workspace claiming the member's session.
    expectRefused(await call(await signWithRealKey({ ...claims, sub: tenant.admin.id })));
    // The member's session claimed for another workspace.
    expectRefused(await call(await signWithRealKey({ ...claims, wid: other.workspace.id })));
    // A session id that does not exist.
    expectRefused(await call(await signWithRealKey({ ...claims, sid: newId() })));
  });

  it("refuses the token of a revoked session at once", async () => {
    const { session } = await victim();
    expect((await call(session.accessToken)).status).toBe(403);
    await withDb((db) =>
      db
        .update(sessions)
        .set({ revokedAt: sql`now()`, revokeReason: "test" })
        .where(eq(sessions.id, session.sessionId)),
    );
    expectRefused(await call(session.accessToken));
  });

  it("refuses the token of a DEACTIVATED or PENDING_DELETION user at once", async () => {
    for (const status of ["DEACTIVATED", "PENDING_DELETION"] as const) {
      const { member, session } = await victim();
      await withDb((db) =>
        db
          .update(users)
          .set({
            status,
            ...(status === "PENDING_DELETION" ? { purgeAfter: sql`now() + interval '30 days'` } : {}),
          })
          .where(eq(users.id, member.id)),
      );
      expectRefused(await call(session.accessToken));
    }
  });

  it("refuses a session past its idle or absolute expiry", async () => {
    const { member } = await victim();
    const past = new Date(Date.now() - 60_000);
    const idle = await signIn(member, { idleExpiresAt: past });
    expectRefused(await call(idle.accessToken));
    const absolute = await signIn(member, { absoluteExpiresAt: past });
    expectRefused(await call(absolute.accessToken));
  });

  it("refuses an oversized token without parsing it", async () => {
    expectRefused(await call("a".repeat(5000)));
  });
});
