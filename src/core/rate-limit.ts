/**
 * Rate limits and the login lockout (CONFIG.md "Rate limits"), on top of the RateLimiter Durable Object.
 *
 * What happens when the Durable Object itself fails (overloaded, reset, network between colos) — decided per
 * control, as a security reviewer would:
 * - Plain rate limits FAIL OPEN (error log, request allowed). They bound abuse volume (sign-up spam, mail
 *   bombing, scraping); they are not what stands between an attacker and an account. Failing closed would turn
 *   a limiter hiccup into an outage of every route behind API_USER. The error log makes the outage visible.
 * - The lockout check and failure recording FAIL CLOSED (500). The lockout is the control that bounds password
 *   guessing per account; if it failed open, an attacker who can overload the limiter (it is the same DO the
 *   attacker is hammering) would get unlimited guesses. A failed recording is a free guess, so it fails too.
 * - Clearing failures after a correct password (or a reset) FAILS OPEN: a stale counter or lock can only keep
 *   the rightful user out a little longer (at most the lock time) and gives an attacker nothing, whereas
 *   failing would deny a correct login over bookkeeping. Only the ACCOUNT_UNLOCKED audit can be missed.
 */

import type { FailureResult, RateDecision } from "../durable-objects/rate-limiter";
import type { Config, RateLimitScope } from "../env";
import { hmacBase64Url } from "./crypto";
import type { Deps } from "./deps";
import { ApiError } from "./errors";
import { errorFields } from "./logger";

export type { RateDecision } from "../durable-objects/rate-limiter";

/** What the rate-limit functions need: bindings, parsed config, logger. */
export type RateLimitDeps = Pick<Deps, "env" | "config" | "log">;

/** CONFIG.md: 5 consecutive failed logins for an email lock it… */
export const LOGIN_LOCK_THRESHOLD = 5;
/** …for 15 minutes. */
export const LOGIN_LOCK_SECONDS = 900;

/**
 * Scopes whose window lives in the limiter's memory, not its SQLite storage: API_USER only, the budget every
 * authenticated request spends — a storage write per request cost ≈ 8 % of GET /api/users/me's throughput
 * (`npm run bench`). A restart forgets at most one minute of it (see RateLimiter.memoryHits).
 */
const IN_MEMORY_SCOPES: ReadonlySet<RateLimitScope> = new Set(["API_USER"]);

/** Scopes keyed by an email address: their subject is replaced by its HMAC before it names a Durable Object. */
const EMAIL_SCOPES: ReadonlySet<RateLimitScope> = new Set([
  "RESEND_EMAIL",
  "RESET_REQUEST_EMAIL",
  "REGISTER_EMAIL",
]);

/**
 * The HMAC of a normalised email (trimmed, lower-cased), base64url, keyed with the `email-lockout` subkey.
 * Keys derived from it never carry the address itself, and cannot be recomputed without ENCRYPTION_KEY.
 */
export async function emailSubject(config: Config, email: string): Promise<string> {
  return hmacBase64Url(config.ENCRYPTION_KEY, "email-lockout", email.trim().toLowerCase());
}

/** Durable Object name of an email's lockout: `LOGIN_EMAIL:<emailSubject>`. */
export async function emailLockKey(config: Config, email: string): Promise<string> {
  return `LOGIN_EMAIL:${await emailSubject(config, email)}`;
}

/**
 * An IP as a rate-limit subject: IPv4 unchanged, IPv6 reduced to its /64 prefix. One subscriber usually holds a
 * whole /64, so limiting single IPv6 addresses would let anyone rotate through 2^64 of them for free.
 * Anything unparsable is used as given (it still limits whoever sends it).
 */
export function ipSubject(ip: string): string {
  const address = ip.trim().toLowerCase().split("%")[0] ?? "";
  if (!address.includes(":")) return address;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(address);
  if (mapped?.[1]) return mapped[1];
  const halves = address.split("::");
  if (halves.length > 2) return address;
  const parts = (half: string | undefined) => (half ? half.split(":") : []);
  const head = parts(halves[0]);
  const tail = parts(halves[1]);
  const groups =
    halves.length === 2
      ? [...head, ...Array<string>(Math.max(0, 8 - head.length - tail.length)).fill("0"), ...tail]
      : head;
  const prefix = groups.slice(0, 4);
  if (prefix.length < 4 || !prefix.every((g) => /^[0-9a-f]{1,4}$/.test(g))) return address;
  return `${prefix.map((g) => Number.parseInt(g, 16).toString(16)).join(":")}::/64`;
}

/** The RateLimit-* headers (IETF httpapi draft, as in the CORS expose list) for a decision. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  return {
    "RateLimit-Limit": String(decision.limit),
    "RateLimit-Remaining": String(decision.remaining),
    "RateLimit-Reset": String(decision.resetSeconds),
  };
}

async function subjectKey(config: Config, scope: RateLimitScope, subject: string): Promise<string> {
  if (EMAIL_SCOPES.has(scope)) return `${scope}:${await emailSubject(config, subject)}`;
  if (scope.endsWith("_IP")) return `${scope}:${ipSubject(subject)}`;
  return `${scope}:${subject}`;
}

function limiter(deps: RateLimitDeps, name: string) {
  return deps.env.RATE_LIMITER.get(deps.env.RATE_LIMITER.idFromName(name));
}

/**
 * Counts one request of `subject` (client IP, email, user id, persona id) against the scope's window
 * (`config.rateLimits`, so RATE_LIMIT_<SCOPE> overrides apply). Email subjects are HMAC'd, IPv6 ones reduced to
 * their /64. Call it before anything is stored, so a refused request stores nothing.
 *
 * @returns the decision when allowed, for the RateLimit-* headers (see `rateLimitHeaders`).
 * @throws ApiError RATE_LIMITED (429) with Retry-After and RateLimit-* headers when refused.
 * Fails open (error log, allowed with a full quota) when the limiter is unreachable — see the module comment.
 */
export async function enforceRateLimit(
  deps: RateLimitDeps,
  scope: RateLimitScope,
  subject: string,
): Promise<RateDecision> {
  const decision = await countRateLimit(deps, scope, subject);
  if (!decision.allowed) {
    throw new ApiError("RATE_LIMITED", `Too many requests. Retry in ${decision.retryAfterSeconds} seconds.`, {
      headers: { "Retry-After": String(decision.retryAfterSeconds), ...rateLimitHeaders(decision) },
    });
  }
  return decision;
}

/**
 * Counts one request like `enforceRateLimit` but only returns the decision: for work that must be skipped
 * silently when over the limit (a mail whose sending the answer must not reveal). Fails open likewise.
 */
export async function countRateLimit(
  deps: RateLimitDeps,
  scope: RateLimitScope,
  subject: string,
): Promise<RateDecision> {
  const rule = deps.config.rateLimits[scope];
  try {
    return await limiter(deps, await subjectKey(deps.config, scope, subject)).hit(rule, {
      inMemory: IN_MEMORY_SCOPES.has(scope),
    });
  } catch (error) {
    deps.log.error("rate limiter unavailable; failing open", { scope, ...errorFields(error) });
    return { allowed: true, limit: rule.limit, remaining: rule.limit, resetSeconds: 0, retryAfterSeconds: 0 };
  }
}

/** 423 ACCOUNT_LOCKED with Retry-After: the same answer whichever step found the lock. */
export function accountLocked(retryAfterSeconds: number): ApiError {
  return new ApiError("ACCOUNT_LOCKED", `Too many failed sign-ins. Retry in ${retryAfterSeconds} seconds.`, {
    headers: { "Retry-After": String(retryAfterSeconds) },
  });
}

/** Fail-closed wrapper: a limiter failure becomes a logged 500, never a silent "not locked". */
async function lockCall<T>(
  deps: RateLimitDeps,
  email: string,
  call: (name: string) => Promise<T>,
): Promise<T> {
  const name = await emailLockKey(deps.config, email);
  try {
    return await call(name);
  } catch (error) {
    throw new ApiError("INTERNAL", "Sign-in is temporarily unavailable. Please retry shortly.", {
      cause: error,
    });
  }
}

/**
 * Refuses any login attempt for a locked email, whether or not an account exists (DESIGN.md "Enumeration").
 * Call it before verifying the password.
 *
 * @throws ApiError ACCOUNT_LOCKED (423) with Retry-After while locked; INTERNAL (500) when the limiter fails
 * (fail closed — see the module comment).
 */
export async function checkLoginLock(deps: RateLimitDeps, email: string): Promise<void> {
  const status = await lockCall(deps, email, (name) => limiter(deps, name).lockStatus());
  if (status.locked) {
    throw accountLocked(status.retryAfterSeconds);
  }
}

/**
 * Counts a failed login (wrong password or unknown email alike). `lockedNow` is true only on the failure that
 * set the lock: audit ACCOUNT_LOCKED then, and answer 423 with Retry-After = `retryAfterSeconds`. A failure
 * while already locked neither counts nor extends the lock.
 *
 * @throws ApiError INTERNAL (500) when the limiter fails (fail closed: an uncounted failure is a free guess).
 */
export async function recordLoginFailure(
  deps: RateLimitDeps,
  email: string,
): Promise<Pick<FailureResult, "lockedNow" | "locked" | "retryAfterSeconds">> {
  const result = await lockCall(deps, email, (name) =>
    limiter(deps, name).recordFailure({ threshold: LOGIN_LOCK_THRESHOLD, lockSeconds: LOGIN_LOCK_SECONDS }),
  );
  return { lockedNow: result.lockedNow, locked: result.locked, retryAfterSeconds: result.retryAfterSeconds };
}

/**
 * Forgets an email's failures and lifts its lock (successful login, password reset). Audit ACCOUNT_UNLOCKED when
 * `wasLocked`. Fails open with an error log (`wasLocked: false`) — see the module comment.
 */
export async function clearLoginFailures(
  deps: RateLimitDeps,
  email: string,
): Promise<{ wasLocked: boolean }> {
  const name = await emailLockKey(deps.config, email);
  try {
    return await limiter(deps, name).clearFailures();
  } catch (error) {
    deps.log.error("rate limiter unavailable; login failures not cleared", errorFields(error));
    return { wasLocked: false };
  }
}

/**
 * After a correct password: refuses with 423 when the email got locked meanwhile (parallel guesses), else
 * forgets its failures — atomically in the Durable Object. Fails closed like the lock check.
 *
 * @throws ApiError ACCOUNT_LOCKED (423) with Retry-After; INTERNAL (500) when the limiter fails.
 */
export async function settleSuccessfulLogin(deps: RateLimitDeps, email: string): Promise<void> {
  const status = await lockCall(deps, email, (name) => limiter(deps, name).clearFailuresUnlessLocked());
  if (status.locked) {
    throw accountLocked(status.retryAfterSeconds);
  }
}
