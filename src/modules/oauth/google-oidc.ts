/**
 * The OpenID Connect side of Google sign-in: discovery, the authorization URL, the code exchange and the ID
 * token check. The protocol parts come from libraries — arctic builds the authorization request (state,
 * PKCE S256) and performs the token request; jose verifies the ID token — and only the glue is ours.
 *
 * arctic's `Google` provider hard-codes Google's endpoints (accounts.google.com / oauth2.googleapis.com), so
 * it cannot follow GOOGLE_ISSUER (the loopback fake in tests, another issuer in staging). We therefore use its
 * generic `OAuth2Client` with the endpoints from the issuer's discovery document.
 *
 * Discovery and JWKS are cached per isolate as settled values with a TTL, never as promises: a promise made
 * in one request and awaited in another trips workerd's cross-request I/O rule (STACK.md). That is also why
 * jose's `createRemoteJWKSet` is not used — it keeps its in-flight fetch as a shared promise.
 */
import { CodeChallengeMethod, OAuth2Client, OAuth2RequestError } from "arctic";
import { createLocalJWKSet, type JSONWebKeySet, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";
import { safeEqual } from "../../core/crypto";

/** How long a discovery document and a key set are trusted before they are fetched again. */
export const DISCOVERY_TTL_MS = 60 * 60_000;
export const JWKS_TTL_MS = 60 * 60_000;
/** A token signed by an unknown `kid` refetches the key set (key rotation), at most this often. */
const JWKS_REFETCH_COOLDOWN_MS = 30_000;
const FETCH_TIMEOUT_MS = 5_000;
const TOKEN_TIMEOUT_MS = 10_000;
/** Clock skew tolerated on exp / iat / nbf. */
const CLOCK_TOLERANCE_SECONDS = 30;
const SCOPES = ["openid", "email", "profile"];

/**
 * Why the provider step failed: `rejected` — the answer was wrong (bad code, bad or replayed ID token, nonce
 * or audience mismatch): the user should start again; `unavailable` — the issuer could not be reached or sent
 * something unusable: a server-side problem.
 */
export class OidcError extends Error {
  constructor(
    readonly kind: "rejected" | "unavailable",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "OidcError";
  }
}

const Discovery = z.object({
  issuer: z.string().min(1),
  authorization_endpoint: z.url(),
  token_endpoint: z.url(),
  jwks_uri: z.url(),
});
export type Discovery = z.infer<typeof Discovery>;

const KeySet = z.object({ keys: z.array(z.looseObject({ kty: z.string() })) });

/** The claims the sign-in rules read; anything else in the token is ignored. */
const IdentityClaims = z.object({
  sub: z.string().min(1).max(255),
  email: z
    .string()
    .trim()
    .max(254)
    .pipe(z.email())
    .transform((email) => email.toLowerCase()),
  // Google sends a boolean; some older tokens carried the string "true".
  email_verified: z
    .union([z.boolean(), z.enum(["true", "false"])])
    .optional()
    .transform((v) => v === true || v === "true"),
  hd: z.string().max(253).optional(),
  name: z.string().optional(),
});
export type GoogleIdentity = {
  subject: string;
  email: string;
  emailVerified: boolean;
  /** Google Workspace domain (`hd`), lower-cased; absent for consumer accounts. */
  hostedDomain: string | null;
  name: string | null;
};

type Cached<T> = { value: T; fetchedAt: number };
const discoveryCache = new Map<string, Cached<Discovery>>();
const jwksCache = new Map<string, Cached<JSONWebKeySet>>();

async function fetchJson(url: string, what: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, {
      headers: { Accept: "application/json" },
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      // workerd has no "error" mode: a redirect stays a 3xx, which the status check below refuses.
      redirect: "manual",
    });
  } catch (error) {
    throw new OidcError("unavailable", `${what}: request failed`, { cause: error });
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new OidcError("unavailable", `${what}: HTTP ${res.status}`);
  }
  try {
    return await res.json();
  } catch (error) {
    throw new OidcError("unavailable", `${what}: not JSON`, { cause: error });
  }
}

/**
 * The issuer's discovery document (cached for DISCOVERY_TTL_MS). Its `issuer` must be exactly the configured
 * one (OIDC Discovery §4.3), and an https issuer must publish https endpoints.
 */
export async function loadDiscovery(issuer: string, now = Date.now()): Promise<Discovery> {
  const cached = discoveryCache.get(issuer);
  if (cached && now - cached.fetchedAt < DISCOVERY_TTL_MS) return cached.value;
  const parsed = Discovery.safeParse(
    await fetchJson(`${issuer}/.well-known/openid-configuration`, "OIDC discovery"),
  );
  if (!parsed.success) throw new OidcError("unavailable", "OIDC discovery: unexpected document");
  const document = parsed.data;
  if (document.issuer.replace(/\/+$/, "") !== issuer) {
    throw new OidcError("unavailable", `OIDC discovery: issuer ${document.issuer} is not ${issuer}`);
  }
  const endpoints = [document.authorization_endpoint, document.token_endpoint, document.jwks_uri];
  if (issuer.startsWith("https://") && endpoints.some((url) => !url.startsWith("https://"))) {
    throw new OidcError("unavailable", "OIDC discovery: an https issuer must use https endpoints");
  }
  discoveryCache.set(issuer, { value: document, fetchedAt: now });
  return document;
}

async function loadKeySet(discovery: Discovery, force: boolean): Promise<JSONWebKeySet> {
  const now = Date.now();
  const cached = jwksCache.get(discovery.jwks_uri);
  if (cached && now - cached.fetchedAt < (force ? JWKS_REFETCH_COOLDOWN_MS : JWKS_TTL_MS)) {
    return cached.value;
  }
  const parsed = KeySet.safeParse(await fetchJson(discovery.jwks_uri, "JWKS"));
  if (!parsed.success) throw new OidcError("unavailable", "JWKS: unexpected document");
  const keySet = parsed.data as JSONWebKeySet;
  jwksCache.set(discovery.jwks_uri, { value: keySet, fetchedAt: now });
  return keySet;
}

/** Values issued for one authorization request; state, nonce and verifier stay in the sealed cookie. */
export type AuthorizationRequest = {
  clientId: string;
  clientSecret: string | null;
  redirectUri: string;
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Pre-selects the account in Google's chooser (link flows: the signed-in user's email). */
  loginHint?: string;
};

const clientFor = (req: Pick<AuthorizationRequest, "clientId" | "clientSecret" | "redirectUri">) =>
  new OAuth2Client(req.clientId, req.clientSecret, req.redirectUri);

/** The URL to send the browser to: response_type=code, state, PKCE S256, nonce, scopes openid email profile. */
export function authorizationUrl(discovery: Discovery, req: AuthorizationRequest): string {
  const url = clientFor(req).createAuthorizationURLWithPKCE(
    discovery.authorization_endpoint,
    req.state,
    CodeChallengeMethod.S256,
    req.codeVerifier,
    SCOPES,
  );
  url.searchParams.set("nonce", req.nonce);
  // Lets a person with several Google accounts pick the right one instead of signing in silently.
  url.searchParams.set("prompt", "select_account");
  if (req.loginHint) url.searchParams.set("login_hint", req.loginHint);
  return url.toString();
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new OidcError("unavailable", `${what}: timed out`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Redeems the authorization code (with the PKCE verifier) at the token endpoint; returns the raw ID token. */
export async function exchangeCode(
  discovery: Discovery,
  req: Pick<AuthorizationRequest, "clientId" | "clientSecret" | "redirectUri" | "codeVerifier">,
  code: string,
): Promise<string> {
  let tokens: Awaited<ReturnType<OAuth2Client["validateAuthorizationCode"]>>;
  try {
    tokens = await withTimeout(
      clientFor(req).validateAuthorizationCode(discovery.token_endpoint, code, req.codeVerifier),
      TOKEN_TIMEOUT_MS,
      "token request",
    );
  } catch (error) {
    if (error instanceof OidcError) throw error;
    // invalid_grant & co.: an unknown, used or expired code, or a PKCE mismatch.
    if (error instanceof OAuth2RequestError) {
      throw new OidcError("rejected", `token endpoint refused the code: ${error.code}`, { cause: error });
    }
    throw new OidcError("unavailable", "token request failed", { cause: error });
  }
  try {
    return tokens.idToken();
  } catch (error) {
    throw new OidcError("unavailable", "token response without an ID token", { cause: error });
  }
}

/** Google documents both spellings of its issuer in ID tokens. */
function acceptedIssuers(issuer: string): string[] {
  return issuer === "https://accounts.google.com" ? [issuer, "accounts.google.com"] : [issuer];
}

/**
 * Verifies an ID token: RS256 signature by a key of the issuer's JWKS, `iss`, `aud` = our client id (and
 * `azp` = our client id when there are several audiences), `exp`/`iat` with 30 s of skew, and `nonce` equal
 * to the one this browser's flow sent (so a token from another flow — a replay — is refused).
 */
export async function verifyIdToken(
  discovery: Discovery,
  idToken: string,
  expected: { clientId: string; nonce: string },
): Promise<GoogleIdentity> {
  const verify = async (force: boolean) =>
    jwtVerify(idToken, createLocalJWKSet(await loadKeySet(discovery, force)), {
      issuer: acceptedIssuers(discovery.issuer),
      audience: expected.clientId,
      algorithms: ["RS256"],
      requiredClaims: ["sub", "iat", "exp", "nonce"],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    try {
      ({ payload } = await verify(false));
    } catch (error) {
      // A kid we do not know yet: the issuer may have rotated its keys since we cached them.
      if (!(error instanceof joseErrors.JWKSNoMatchingKey)) throw error;
      ({ payload } = await verify(true));
    }
  } catch (error) {
    if (error instanceof OidcError) throw error;
    throw new OidcError("rejected", `ID token refused: ${(error as Error).message}`, { cause: error });
  }
  if (typeof payload.nonce !== "string" || !safeEqual(payload.nonce, expected.nonce)) {
    throw new OidcError("rejected", "ID token refused: nonce mismatch");
  }
  if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== expected.clientId) {
    throw new OidcError("rejected", "ID token refused: azp is not this client");
  }
  const claims = IdentityClaims.safeParse(payload);
  if (!claims.success) throw new OidcError("rejected", "ID token refused: no usable sub and email");
  return {
    subject: claims.data.sub,
    email: claims.data.email,
    emailVerified: claims.data.email_verified,
    hostedDomain: claims.data.hd?.toLowerCase() ?? null,
    name: claims.data.name?.trim().slice(0, 100) || null,
  };
}
