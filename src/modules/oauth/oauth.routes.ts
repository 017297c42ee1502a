import { createRoute } from "@hono/zod-openapi";
import { AUTHENTICATED_ERRORS, bearerSecurity, errorResponses } from "../../core/openapi";
import { requireAuth } from "../../middleware/auth";
import { rateLimit } from "../../middleware/rate-limit";
import { LoginResponse } from "../auth/auth.schemas";
import { GoogleCallbackQuery, GoogleStartQuery, LinkUrlSchema, OauthExchangeBody } from "./oauth.schemas";

const json = <T>(schema: T) => ({ "application/json": { schema } });
const byIp = (c: { var: { clientIp: string } }) => c.var.clientIp;
const location = (description: string) => ({
  Location: { description, schema: { type: "string" as const } },
});

export const googleStart = createRoute({
  method: "get",
  path: "/api/auth/google",
  tags: ["Auth"],
  operationId: "startGoogleSignIn",
  summary: "Start Google sign-in (browser navigation)",
  description:
    "Redirects to Google with `state`, `nonce` and PKCE (S256). State, nonce and verifier are bound to this " +
    "browser by a sealed, HttpOnly, Secure, SameSite=Lax cookie valid for 10 minutes. With `link` (from " +
    "`POST /api/auth/google/link`) the flow links the Google account to the signed-in user. A bad link " +
    "ticket redirects to `FRONTEND_URL/oauth/callback#error=<CODE>`.",
  request: { query: GoogleStartQuery },
  responses: {
    302: {
      description: "To the issuer's authorization endpoint (or to the callback page with `#error=`)",
      headers: location("The authorization URL"),
    },
    ...errorResponses("VALIDATION_FAILED", "NOT_CONFIGURED", "DATABASE_UNAVAILABLE"),
  },
});

export const googleCallback = createRoute({
  method: "get",
  path: "/api/auth/google/callback",
  tags: ["Auth"],
  operationId: "finishGoogleSignIn",
  summary: "Google's redirect target",
  description:
    "Checks `state` against this browser's cookie, redeems the code with the PKCE verifier, verifies the ID " +
    "token (signature from the issuer's JWKS, iss, aud, exp, nonce) and applies the linking rules. Always " +
    "redirects to `FRONTEND_URL/oauth/callback`: `#code=<one-time code>` (exchange it with " +
    "`POST /api/auth/oauth/exchange` within 60 s) or `#error=<CODE>` — INVALID_TOKEN (state), UNAUTHENTICATED " +
    "(code or ID token refused, sign-in cancelled), LINK_REQUIRES_LOGIN, ACCOUNT_DEACTIVATED, " +
    "ACCOUNT_PENDING_DELETION, CONFLICT (Google account linked to another user), FORBIDDEN (link flow with " +
    "another email), INTERNAL. Never a token in a URL.",
  middleware: [rateLimit("LOGIN_IP", byIp)] as const,
  request: { query: GoogleCallbackQuery },
  responses: {
    302: {
      description: "To the callback page with `#code=` or `#error=`",
      headers: location("FRONTEND_URL/oauth/callback#code=… or #error=…"),
    },
    ...errorResponses("VALIDATION_FAILED", "NOT_CONFIGURED", "RATE_LIMITED"),
  },
});

export const googleLink = createRoute({
  method: "post",
  path: "/api/auth/google/link",
  tags: ["Auth"],
  operationId: "linkGoogleAccount",
  summary: "Start a flow linking a Google account to me",
  description:
    "Returns a URL to open in the browser within 2 minutes; it starts one Google flow bound to this user and " +
    "session, in the first browser that opens it (a second opening ends with `#error=INVALID_TOKEN`). The " +
    "Google account must carry this user's email, verified by Google (any domain); it ends like a sign-in, " +
    "with a new session. Another or an unverified email → `#error=FORBIDDEN`; a Google account already linked " +
    "to another user → CONFLICT.",
  security: bearerSecurity,
  middleware: [requireAuth] as const,
  responses: {
    200: { description: "The URL to open", content: json(LinkUrlSchema) },
    ...errorResponses(...AUTHENTICATED_ERRORS, "NOT_CONFIGURED"),
  },
});

export const oauthExchange = createRoute({
  method: "post",
  path: "/api/auth/oauth/exchange",
  tags: ["Auth"],
  operationId: "exchangeOauthCode",
  summary: "Exchange a one-time sign-in code for tokens",
  description:
    "Redeems the `#code=` of the Google callback (60 s, single use) for the normal login response; the " +
    "session's method is GOOGLE. An account deactivated or scheduled for deletion meanwhile is refused with " +
    "login's codes.",
  middleware: [rateLimit("LOGIN_IP", byIp)] as const,
  request: { body: { required: true, content: json(OauthExchangeBody) } },
  responses: {
    200: { description: "Signed in", content: json(LoginResponse) },
    ...errorResponses(
      "VALIDATION_FAILED",
      "INVALID_TOKEN",
      "ACCOUNT_DEACTIVATED",
      "ACCOUNT_PENDING_DELETION",
      "RATE_LIMITED",
      "DATABASE_UNAVAILABLE",
    ),
  },
});
