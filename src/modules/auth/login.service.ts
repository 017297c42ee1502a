/**
 * Password login (API.md "Auth", DESIGN.md "Enumeration"): unknown email and wrong password are the same 401
 * after the same argon2 cost; the lockout counts per HMAC(email) whether or not an account exists; account
 * status is revealed only after a correct password.
 */
import { eq } from "drizzle-orm";
import { type Deps, inBackground } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { hashPassword, type PasswordCheck } from "../../core/password";
import { checkLoginLock, countRateLimit, settleSuccessfulLogin } from "../../core/rate-limit";
import { type User, users, type Workspace, workspaces } from "../../db/schema";
import { toSignedUserDto } from "../users/users.service";
import { toWorkspaceSummaryDto } from "../workspaces/workspaces.service";
import { checkPassword, refuseAttempt } from "./credentials";
import { resendVerification } from "./registration.service";
import { startSession } from "./sessions.service";

export type LoginInput = { email: string; password: string; deviceLabel?: string };

export const STATUS_REFUSALS = {
  DEACTIVATED: [
    "ACCOUNT_DEACTIVATED",
    "This account is deactivated. Ask a workspace admin to reactivate it.",
  ],
  PENDING_DELETION: [
    "ACCOUNT_PENDING_DELETION",
    "This account is scheduled for deletion. You can still cancel the deletion.",
  ],
} as const;

/**
 * Checks the password of an account (or spends the same time on a dummy hash) under the email's lockout.
 * Wrong → 401 INVALID_CREDENTIALS (423 on the failure that locks), see `refuseAttempt`. Right → the failures
 * are forgotten and the user row returned, whatever its status (still 423 when parallel failures locked the
 * email while the password was being checked). Shared by login and cancel-deletion (whose password path has
 * login's limits).
 *
 * A PENDING_VERIFY account is refused like a wrong password even when the password is right, and that counts
 * as a failure too: a 403 "not verified" would tell whoever just registered the address that no verified
 * account holds it (issue 16), and an uncounted right password would make the sixth try tell them apart. Its
 * owner gets a fresh link instead, within RATE_LIMIT_REGISTER_EMAIL, mailed beside the response (not in its
 * path) so that the answer takes no longer.
 */
export async function verifyCredentials(
  deps: Deps,
  email: string,
  password: string,
  via: string,
): Promise<{ user: User; workspace: Workspace | null; check: PasswordCheck }> {
  // The lock check is a Durable Object call, not a change: the account's read travels beside it, and a locked
  // email throws before that read's row is looked at.
  const [, found] = await Promise.all([
    checkLoginLock(deps, email),
    deps.db
      .select({ user: users, workspace: workspaces })
      .from(users)
      .leftJoin(workspaces, eq(workspaces.id, users.workspaceId))
      .where(eq(users.email, email)),
  ]);
  const user = found[0]?.user;
  const check = await checkPassword(user, password);
  const pending = user?.status === "PENDING_VERIFY";
  if (!user || !check.valid || pending) {
    // Every refused attempt spends one of the address's verification mails, whatever the account: if only a
    // pending account's right password did, register's 429 would tell after a few tries which one it was.
    const mailBudget = await countRateLimit(deps, "REGISTER_EMAIL", email);
    if (pending && check.valid && mailBudget.allowed) {
      inBackground(deps, "verification re-mail", (background) => resendVerification(background, email));
    }
    const reason = !user ? "unknown_email" : check.valid ? "not_verified" : "wrong_password";
    return refuseAttempt(deps, { email, user, via, reason });
  }
  // Parallel guesses pass the first check together; if their failures locked the email while this password
  // was being verified, the lock wins — otherwise a burst with the right guess in it would bypass the lockout
  // and clearing the failures would even lift the lock the burst set. Check and clear are one DO call.
  await settleSuccessfulLogin(deps, email);
  return { user, workspace: found[0]?.workspace ?? null, check };
}

/**
 * Signs in with email and password: a new session and its first token pair, plus the user and workspace.
 * Two round trips: the account's read (beside the lockout check), then one statement for the sign-in.
 */
export async function login(deps: Deps, input: LoginInput) {
  const { user, workspace, check } = await verifyCredentials(deps, input.email, input.password, "login");
  if (user.status !== "ACTIVE" || !user.workspaceId || !workspace) {
    const [code, detail] = STATUS_REFUSALS[user.status as keyof typeof STATUS_REFUSALS] ?? [
      "INVALID_CREDENTIALS",
      "The email or password is wrong.",
    ];
    throw new ApiError(code, detail);
  }
  // Legacy bcrypt (or older argon2 parameters) upgraded now that we hold the plaintext.
  const upgradedPasswordHash = check.needsRehash ? await hashPassword(input.password) : undefined;
  const signedIn = await startSession(deps, deps.db, {
    userId: user.id,
    workspaceId: user.workspaceId,
    method: "PASSWORD",
    deviceLabel: input.deviceLabel,
    upgradedPasswordHash,
    verifiedPasswordHash: user.passwordHash ?? undefined,
  });
  // Deactivated, moved or given a new password between the read and the sign-in: no session, and the answer
  // of a wrong password.
  if (!signedIn) throw new ApiError("INVALID_CREDENTIALS", "The email or password is wrong.");

  const { sessionId: _sessionId, ...pair } = signedIn.tokens;
  return {
    ...pair,
    user: await toSignedUserDto(deps, { ...user, lastLoginAt: signedIn.lastLoginAt }),
    workspace: toWorkspaceSummaryDto(workspace),
  };
}
