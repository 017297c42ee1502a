/**
 * The provider adapter on its own: discovery caching and ID-token checks that the browser flow cannot reach
 * (a genuine ID token replayed into another flow, a token altered after signing).
 */
import { describe, expect, it } from "vitest";
import { loadDiscovery, OidcError, verifyIdToken } from "../../src/modules/oauth/google-oidc";
import { googleIdentity, ISSUER } from "./support";

const CLIENT_ID = "test-google-client";
const REDIRECT_URI = "http://127.0.0.1:8787/api/auth/google/callback";

/** A genuine ID token from the fake for `nonce`: authorize + token request with our client's credentials. */
async function genuineIdToken(nonce: string): Promise<string> {
  const verifier = "v".repeat(43);
  const challenge = btoa(
    String.fromCharCode(
      ...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
    ),
  )
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
  const authorize = new URL(`${ISSUER}/authorize`);
  for (const [k, v] of Object.entries({
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT_URI,
    state: "s",
    nonce,
    code_challenge: challenge,
    code_challenge_method: "S256",
    identity: JSON.stringify(googleIdentity()),
  })) {
    authorize.searchParams.set(k, v);
  }
  const back = await fetch(authorize, { redirect: "manual" });
  const code = new URL(back.headers.get("Location") as string).searchParams.get("code") as string;
  const token = await fetch(`${ISSUER}/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT_URI,
      code_verifier: verifier,
      client_id: CLIENT_ID,
      client_secret: "test-google-secret",
    }),
  });
  return ((await token.json()) as { id_token: string }).id_token;
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => null,
    (error: unknown) => error,
  );

describe("Google OIDC adapter", () => {
  it("caches the discovery document as a settled value", async () => {
    const first = await loadDiscovery(ISSUER);
    const second = await loadDiscovery(ISSUER);
    expect(second).toBe(first);
    expect(first).toMatchObject({
      issuer: ISSUER,
      token_endpoint: `${ISSUER}/token`,
      jwks_uri: `${ISSUER}/jwks`,
    });
    // Past the TTL it is fetched again (a new object).
    const later = await loadDiscovery(ISSUER, Date.now() + 2 * 60 * 60_000);
    expect(later).not.toBe(first);
    expect(later).toEqual(first);
  });

  it("verifies a genuine ID token for its own nonce", async () => {
    const discovery = await loadDiscovery(ISSUER);
    const identity = await verifyIdToken(discovery, await genuineIdToken("n".repeat(43)), {
      clientId: CLIENT_ID,
      nonce: "n".repeat(43),
    });
    expect(identity).toMatchObject({ emailVerified: true, hostedDomain: null, name: "Grace Google" });
    expect(identity.email).toMatch(/@gmail\.com$/);
  });

  it("refuses a genuine ID token replayed into another flow (its nonce is not this flow's)", async () => {
    const discovery = await loadDiscovery(ISSUER);
    const token = await genuineIdToken("a".repeat(43));
    const error = await refusal(
      verifyIdToken(discovery, token, { clientId: CLIENT_ID, nonce: "b".repeat(43) }),
    );
    expect(error).toBeInstanceOf(OidcError);
    expect(error).toMatchObject({ kind: "rejected", message: expect.stringContaining("nonce") });
  });

  it("refuses an ID token altered after signing, and one for another client", async () => {
    const discovery = await loadDiscovery(ISSUER);
    const nonce = "c".repeat(43);
    const [header, payload, signature] = (await genuineIdToken(nonce)).split(".") as [string, string, string];
    const claims = JSON.parse(atob(payload.replace(/-/g, "+").replace(/_/g, "/")));
    const forged = btoa(JSON.stringify({ ...claims, email: "ceo@gmail.com" }))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    const altered = await refusal(
      verifyIdToken(discovery, `${header}.${forged}.${signature}`, { clientId: CLIENT_ID, nonce }),
    );
    expect(altered).toMatchObject({ kind: "rejected" });
    const otherClient = await refusal(
      verifyIdToken(discovery, `${header}.${payload}.${signature}`, { clientId: "another-client", nonce }),
    );
    expect(otherClient).toMatchObject({ kind: "rejected" });
  });
});
