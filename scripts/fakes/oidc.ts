/**
 * Google-style OpenID Connect provider: discovery, JWKS, an authorization endpoint that "signs in" at once
 * (no login page) and a token endpoint that checks PKCE and answers with a real RS256 ID token. The Worker's
 * sign-in code therefore runs unchanged — discovery, state, nonce, PKCE, JWKS verification — against a
 * provider whose answers a test can script, including broken ID tokens for the negative cases.
 *
 * Control API:
 *   PUT    /__control/identity {sub, email, email_verified, name?, hd?} → who the next authorizations sign in
 *   PUT    /__control/tamper {wrongNonce?, wrongAudience?, expired?, badSignature?} → how the next
 *          authorizations' ID tokens are spoilt (replaces the previous setting; {} for good tokens again)
 *   DELETE /__control/state  → 204: default identity, no tampering, no pending codes
 *   GET    /__control/health → {status:"ok"}
 * Both settings are taken at /authorize time. Parallel tests should rather add `identity=<JSON>` and/or
 * `tamper=<JSON>` to the authorize URL they follow, which applies to that one flow only.
 */
import { createHash, randomBytes } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer } from "node:http";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { closeServer, handle, listen, parseJson, readBody, requestUrl, sendJson } from "./http.ts";

export type Identity = {
  sub: string;
  email: string;
  email_verified: boolean;
  name?: string;
  /** Google Workspace domain, present only for Workspace accounts. */
  hd?: string;
};

export type Tamper = {
  wrongNonce?: boolean;
  wrongAudience?: boolean;
  expired?: boolean;
  /** Signed by another key under the published kid: the JWKS lookup works, the signature does not. */
  badSignature?: boolean;
};

export type OidcFakeOptions = {
  port?: number;
  /** When set, /token also checks the client secret (otherwise any non-empty secret is accepted). */
  clientSecret?: string;
};

export type OidcFake = {
  /** Issuer, also the base URL (no trailing slash). */
  url: string;
  port: number;
  setIdentity(identity: Identity): void;
  setTamper(tamper: Tamper): void;
  stop(): Promise<void>;
};

export const DEFAULT_IDENTITY: Identity = {
  sub: "google-sub-1",
  email: "user@gmail.com",
  email_verified: true,
  name: "Test User",
};

type PendingCode = {
  clientId: string;
  redirectUri: string;
  nonce: string | undefined;
  codeChallenge: string;
  scope: string;
  identity: Identity;
  tamper: Tamper;
  expiresAt: number;
};

const CODE_TTL_MS = 10 * 60_000;
const ID_TOKEN_TTL_S = 10 * 60;

export async function startOidcFake(options: OidcFakeOptions = {}): Promise<OidcFake> {
  const kid = `fake-${randomBytes(6).toString("hex")}`;
  const signing = await generateKeyPair("RS256");
  const rogue = await generateKeyPair("RS256");
  const publicJwk: JWK = { ...(await exportJWK(signing.publicKey)), kid, alg: "RS256", use: "sig" };

  let identity: Identity = { ...DEFAULT_IDENTITY };
  let tamper: Tamper = {};
  const codes = new Map<string, PendingCode>();
  let issuer = "";

  function authorize(res: ServerResponse, url: URL) {
    const q = url.searchParams;
    const clientId = q.get("client_id");
    const redirectUri = q.get("redirect_uri");
    const state = q.get("state");
    const codeChallenge = q.get("code_challenge");
    // Real Google shows an error page for these; a JSON 400 is easier to read in a failing test.
    if (!clientId || !redirectUri || !URL.canParse(redirectUri)) {
      return sendJson(res, 400, {
        error: "invalid_request",
        error_description: "client_id and redirect_uri",
      });
    }
    if (q.get("response_type") !== "code") return sendJson(res, 400, { error: "unsupported_response_type" });
    // Google accepts flows without PKCE, but the API must always send it, so the fake insists.
    if (!codeChallenge || q.get("code_challenge_method") !== "S256") {
      return sendJson(res, 400, { error: "invalid_request", error_description: "PKCE S256 required" });
    }
    const flowIdentity = (parseJson(q.get("identity") ?? "") as Identity | null) ?? identity;
    const flowTamper = (parseJson(q.get("tamper") ?? "") as Tamper | null) ?? tamper;

    const code = `code-${randomBytes(24).toString("base64url")}`;
    codes.set(code, {
      clientId,
      redirectUri,
      nonce: q.get("nonce") ?? undefined,
      codeChallenge,
      scope: q.get("scope") ?? "openid email profile",
      identity: { ...flowIdentity },
      tamper: { ...flowTamper },
      expiresAt: Date.now() + CODE_TTL_MS,
    });
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    if (state !== null) target.searchParams.set("state", state);
    res.writeHead(302, { location: target.toString() });
    res.end();
  }

  async function token(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    if (form.get("grant_type") !== "authorization_code") {
      return sendJson(res, 400, { error: "unsupported_grant_type" });
    }
    // client_secret_basic (id and secret form-encoded, then base64) or client_secret_post.
    let clientId = form.get("client_id");
    let clientSecret = form.get("client_secret");
    const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? "");
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], "base64").toString("utf8");
      const colon = decoded.indexOf(":");
      const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, " "));
      clientId = formDecode(decoded.slice(0, colon));
      clientSecret = formDecode(decoded.slice(colon + 1));
    }
    if (!clientId || !clientSecret || (options.clientSecret && clientSecret !== options.clientSecret)) {
      return sendJson(res, 401, { error: "invalid_client" });
    }

    const code = form.get("code") ?? "";
    const pending = codes.get(code);
    codes.delete(code); // single use, whatever happens next
    const invalid = (description: string) =>
      sendJson(res, 400, { error: "invalid_grant", error_description: description });
    if (!pending || pending.expiresAt < Date.now()) return invalid("unknown, used or expired code");
    if (pending.clientId !== clientId) return invalid("code was issued to another client");
    if (pending.redirectUri !== form.get("redirect_uri")) return invalid("redirect_uri mismatch");
    const verifier = form.get("code_verifier") ?? "";
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    if (!verifier || challenge !== pending.codeChallenge) return invalid("PKCE verification failed");

    sendJson(res, 200, {
      access_token: `ya29.fake-${randomBytes(24).toString("base64url")}`,
      token_type: "Bearer",
      expires_in: 3600,
      id_token: await idToken(pending),
      scope: pending.scope,
    });
  }

  function idToken(pending: PendingCode): Promise<string> {
    const { identity: who, tamper: spoil } = pending;
    const now = Math.floor(Date.now() / 1000);
    const iat = spoil.expired ? now - 2 * ID_TOKEN_TTL_S : now;
    const nonce = spoil.wrongNonce ? `tampered-${randomBytes(8).toString("hex")}` : pending.nonce;
    return new SignJWT({
      azp: pending.clientId,
      email: who.email,
      email_verified: who.email_verified,
      name: who.name,
      hd: who.hd,
      nonce,
    })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(issuer)
      .setAudience(spoil.wrongAudience ? "someone-else.apps.googleusercontent.com" : pending.clientId)
      .setSubject(who.sub)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ID_TOKEN_TTL_S)
      .sign(spoil.badSignature ? rogue.privateKey : signing.privateKey);
  }

  async function control(req: IncomingMessage, res: ServerResponse, route: string): Promise<void> {
    if (route === "GET /__control/health") return sendJson(res, 200, { status: "ok" });
    if (route === "DELETE /__control/state") {
      identity = { ...DEFAULT_IDENTITY };
      tamper = {};
      codes.clear();
      res.writeHead(204).end();
      return;
    }
    const body = parseJson(await readBody(req));
    if (route === "PUT /__control/identity") {
      const next = body as Identity | null;
      if (typeof next?.sub !== "string" || typeof next.email !== "string") {
        return sendJson(res, 400, { error: "expected {sub, email, email_verified, name?, hd?}" });
      }
      identity = { ...next, email_verified: next.email_verified !== false };
      return sendJson(res, 200, identity);
    }
    if (route === "PUT /__control/tamper") {
      if (typeof body !== "object" || body === null)
        return sendJson(res, 400, { error: "expected an object" });
      tamper = body as Tamper;
      return sendJson(res, 200, tamper);
    }
    sendJson(res, 404, { error: "unknown control route" });
  }

  const server = createServer(
    handle(async (req, res) => {
      const url = requestUrl(req);
      const route = `${req.method} ${url.pathname}`;
      if (url.pathname.startsWith("/__control/")) return control(req, res, route);
      switch (route) {
        case "GET /.well-known/openid-configuration":
          return sendJson(res, 200, {
            issuer,
            authorization_endpoint: `${issuer}/authorize`,
            token_endpoint: `${issuer}/token`,
            jwks_uri: `${issuer}/jwks`,
            response_types_supported: ["code"],
            subject_types_supported: ["public"],
            id_token_signing_alg_values_supported: ["RS256"],
            scopes_supported: ["openid", "email", "profile"],
            token_endpoint_auth_methods_supported: ["client_secret_post", "client_secret_basic"],
            code_challenge_methods_supported: ["S256"],
            grant_types_supported: ["authorization_code"],
          });
        case "GET /jwks":
          return sendJson(res, 200, { keys: [publicJwk] });
        case "GET /authorize":
          return authorize(res, url);
        case "POST /token":
          return token(req, res);
        default:
          return sendJson(res, 404, { error: "not found" });
      }
    }),
  );

  const port = await listen(server, options.port ?? 0);
  issuer = `http://127.0.0.1:${port}`;
  return {
    url: issuer,
    port,
    setIdentity: (next) => {
      identity = { ...next };
    },
    setTamper: (next) => {
      tamper = { ...next };
    },
    stop: () => closeServer(server),
  };
}
