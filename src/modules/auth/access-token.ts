/**
 * Access tokens (DESIGN.md "Secrets and tokens"): RS256 JWTs of 15 minutes with header `kid` and
 * `typ: at+jwt` (RFC 9068), claims iss, aud, sub (user), sid (session), wid (workspace), auth_time, iat, exp,
 * jti. Verification pins the algorithm, issuer, audience and type, and resolves keys only from our own
 * published set — never from anything the token carries (no `jku`, `jwk` or `x5u`).
 */
import { jwtVerify, SignJWT } from "jose";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import {
  ACCESS_TOKEN_TTL_SECONDS,
  getSigningKey,
  SIGNING_ALGORITHM,
  verificationKey,
} from "./signing-keys.service";

export { ACCESS_TOKEN_TTL_SECONDS } from "./signing-keys.service";

/** RFC 9068 media type of the JOSE header; a token of another type (ID token, …) is refused. */
export const ACCESS_TOKEN_TYPE = "at+jwt";
/** Longer strings are refused before parsing (a real token is about 800 characters). */
const MAX_TOKEN_LENGTH = 4096;
/** Tolerated clock skew between isolates, in seconds. */
const CLOCK_TOLERANCE_SECONDS = 5;

export type AccessTokenInput = { userId: string; sessionId: string; workspaceId: string; authTime: Date };
export type SignedAccessToken = { accessToken: string; expiresIn: number };

/** The verified claims, typed. */
export type AccessTokenClaims = {
  userId: string;
  sessionId: string;
  workspaceId: string;
  authTime: Date;
  tokenId: string;
  issuedAt: Date;
  expiresAt: Date;
};

/** The 401 every verification failure maps to (RFC 6750 §3.1: `invalid_token`). */
export function invalidTokenError(detail = "The access token is invalid or expired."): ApiError {
  return new ApiError("UNAUTHENTICATED", detail, {
    headers: { "WWW-Authenticate": 'Bearer error="invalid_token"' },
  });
}

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

/** Signs an access token for a session with the CURRENT key. */
export async function signAccessToken(
  deps: Pick<Deps, "db" | "config">,
  input: AccessTokenInput,
): Promise<SignedAccessToken> {
  const { kid, privateKey } = await getSigningKey(deps);
  const now = Math.floor(Date.now() / 1000);
  const accessToken = await new SignJWT({
    sid: input.sessionId,
    wid: input.workspaceId,
    auth_time: seconds(input.authTime),
  })
    .setProtectedHeader({ alg: SIGNING_ALGORITHM, kid, typ: ACCESS_TOKEN_TYPE })
    .setIssuer(deps.config.JWT_ISSUER)
    .setAudience(deps.config.JWT_AUDIENCE)
    .setSubject(input.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ACCESS_TOKEN_TTL_SECONDS)
    .setJti(newId())
    .sign(privateKey);
  return { accessToken, expiresIn: ACCESS_TOKEN_TTL_SECONDS };
}

/**
 * Verifies signature, algorithm (RS256 only), `typ`, issuer, audience, expiry and the claim shapes. Any
 * failure is a 401 UNAUTHENTICATED with `WWW-Authenticate: Bearer error="invalid_token"`; only a failure to
 * read the keys (database down) propagates as itself. The token is never logged.
 */
export async function verifyAccessToken(
  deps: Pick<Deps, "db" | "config">,
  token: string,
): Promise<AccessTokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidTokenError();
  let lookupError: unknown;
  let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
  try {
    ({ payload } = await jwtVerify(
      token,
      async (header) => {
        const kid = header.kid;
        if (typeof kid !== "string" || kid.length === 0 || kid.length > 128) throw new Error("no kid");
        let key: CryptoKey | null;
        try {
          key = await verificationKey(deps, kid);
        } catch (error) {
          lookupError = error;
          throw error;
        }
        if (!key) throw new Error("unknown kid");
        return key;
      },
      {
        algorithms: [SIGNING_ALGORITHM],
        issuer: deps.config.JWT_ISSUER,
        audience: deps.config.JWT_AUDIENCE,
        typ: ACCESS_TOKEN_TYPE,
        requiredClaims: ["sub", "sid", "wid", "auth_time", "iat", "exp", "jti"],
        maxTokenAge: ACCESS_TOKEN_TTL_SECONDS,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
      },
    ));
  } catch {
    // A database failure while reading keys is not the client's fault: let it become 503.
    if (lookupError !== undefined) throw lookupError;
    throw invalidTokenError();
  }
  const { sub, sid, wid, auth_time: authTime, jti, iat, exp } = payload;
  if (
    typeof sub !== "string" ||
    !isUuid(sub) ||
    typeof sid !== "string" ||
    !isUuid(sid) ||
    typeof wid !== "string" ||
    !isUuid(wid) ||
    typeof authTime !== "number" ||
    !Number.isFinite(authTime) ||
    typeof jti !== "string" ||
    typeof iat !== "number" ||
    typeof exp !== "number"
  ) {
    throw invalidTokenError();
  }
  return {
    userId: sub.toLowerCase(),
    sessionId: sid.toLowerCase(),
    workspaceId: wid.toLowerCase(),
    authTime: new Date(authTime * 1000),
    tokenId: jti,
    issuedAt: new Date(iat * 1000),
    expiresAt: new Date(exp * 1000),
  };
}
