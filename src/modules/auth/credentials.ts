/**
 * One password attempt under the email's lockout (DESIGN.md "Enumeration"), for every route that takes a
 * password before the caller is signed in: login, cancel-deletion and email verification. The caller checks
 * the lock first (`checkLoginLock`, beside its own read), then calls `checkPassword`, then either
 * `refuseAttempt` or `settleSuccessfulLogin`.
 */
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { dummyVerify, type PasswordCheck, verifyPassword } from "../../core/password";
import { accountLocked, recordLoginFailure } from "../../core/rate-limit";
import type { User } from "../../db/schema";
import { recordAudit } from "../audit/audit.service";

/** The password against the account's hash, or the same argon2 cost spent on a dummy when there is none. */
export async function checkPassword(
  user: Pick<User, "passwordHash"> | undefined,
  password: string,
): Promise<PasswordCheck> {
  if (user?.passwordHash) return verifyPassword(user.passwordHash, password);
  await dummyVerify(password);
  return { valid: false, needsRehash: false };
}

/**
 * A refused attempt: counted by the email's lockout and audited LOGIN_FAILED (ACCOUNT_LOCKED on the failure
 * that locks), then 401 INVALID_CREDENTIALS — or 423 ACCOUNT_LOCKED once locked. The same answer whatever the
 * reason, which only the audit row records.
 */
export async function refuseAttempt(
  deps: Deps,
  attempt: {
    email: string;
    user: Pick<User, "id" | "workspaceId"> | undefined;
    via: string;
    reason: "unknown_email" | "wrong_password" | "not_verified";
  },
): Promise<never> {
  const { email, user, via, reason } = attempt;
  const [failure] = await Promise.all([
    recordLoginFailure(deps, email),
    recordAudit(deps, deps.db, {
      type: "LOGIN_FAILED",
      workspaceId: user?.workspaceId ?? null,
      actorType: "ANONYMOUS",
      targetType: user ? "user" : undefined,
      targetId: user?.id,
      data: { via, reason },
    }),
  ]);
  if (failure.lockedNow && user) {
    await recordAudit(deps, deps.db, {
      type: "ACCOUNT_LOCKED",
      workspaceId: user.workspaceId,
      actorType: "SYSTEM",
      targetType: "user",
      targetId: user.id,
      data: { via, lockSeconds: failure.retryAfterSeconds },
    });
  }
  if (failure.locked) throw accountLocked(failure.retryAfterSeconds);
  throw new ApiError("INVALID_CREDENTIALS", "The email or password is wrong.");
}
