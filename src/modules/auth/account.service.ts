/**
 * Account lifecycle after sign-up (API.md "Auth"): password reset, password change, self-deactivation,
 * account deletion with its 30-day grace, and cancelling that deletion. Every path that ends sessions does it
 * in the same transaction as the change, with the audit event.
 */
import { and, eq, isNull, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { hashPassword } from "../../core/password";
import { assertAcceptablePassword } from "../../core/password-policy";
import { clearLoginFailures } from "../../core/rate-limit";
import type { Transaction } from "../../db/client";
import { type User, users, userTokens, workspaces } from "../../db/schema";
import { dispatchEmails, queueEmail } from "../../email/outbox";
import type { AuthContext } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import { toSignedUserDto } from "../users/users.service";
import { assertAdminRemains, lockWorkspace } from "../workspaces/workspaces.service";
import { verifyCredentials } from "./login.service";
import { revokeUserSessions } from "./sessions.service";
import { expiresIn, findLiveToken, issueUserToken } from "./user-tokens";

/** CONFIG.md "Lifetimes". */
export const RESET_TOKEN_TTL_SECONDS = 3600;
export const DELETION_GRACE_DAYS = 30;
/** A Google-only user (no password) re-authenticates by having signed in this recently. */
export const REAUTH_MAX_AGE_SECONDS = 300;

export const RESET_REQUEST_MESSAGE =
  "If an account uses this address, we have sent a link to reset its password.";

/**
 * Re-authentication for sensitive self-service actions: users with a password give it (checked under the
 * login lockout, so a stolen access token cannot be used to guess it); Google-only users need a session that
 * signed in at most 5 minutes ago.
 */
export async function reauthenticate(
  deps: Deps,
  auth: AuthContext,
  password: string | undefined,
  via: string,
): Promise<User> {
  const [user] = await deps.db.select().from(users).where(eq(users.id, auth.userId));
  if (!user) throw new ApiError("UNAUTHENTICATED", "The session has ended. Sign in again.");
  if (user.passwordHash) {
    if (!password) throw new ApiError("REAUTH_REQUIRED", "Confirm this action with your current password.");
    return (await verifyCredentials(deps, user.email, password, via)).user;
  }
  if (Date.now() - auth.authTime.getTime() > REAUTH_MAX_AGE_SECONDS * 1000) {
    throw new ApiError("REAUTH_REQUIRED", "Sign in again (at most 5 minutes ago) to confirm this action.");
  }
  return user;
}

/** Mails a 1-hour reset link to an ACTIVE account; does nothing for other addresses (the caller answers 202). */
export async function requestPasswordReset(deps: Deps, email: string): Promise<void> {
  const emailIds = await deps.db.transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.email, email)).for("update");
    if (user?.status !== "ACTIVE") return [];
    // The latest link wins: a reset mail that arrives late cannot undo a newer one.
    const token = await issueUserToken(tx, user.id, "RESET_PASSWORD", expiresIn(RESET_TOKEN_TTL_SECONDS));
    await recordAudit(deps, tx, {
      type: "REQUEST_PASSWORD_RESET",
      workspaceId: user.workspaceId,
      actorType: "ANONYMOUS",
      targetType: "user",
      targetId: user.id,
    });
    return [
      await queueEmail(tx, deps.config, {
        to: user.email,
        template: "reset-password",
        params: { name: user.name },
        secretParams: { token },
      }),
    ];
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
}

/** Sets a new password from a reset link: every session revoked, the login lockout cleared, a notice mailed. */
export async function resetPassword(deps: Deps, token: string, newPassword: string): Promise<void> {
  const row = await findLiveToken(deps.db, "RESET_PASSWORD", token);
  if (!row)
    throw new ApiError("INVALID_TOKEN", "This reset link is invalid, used or expired; ask for a new one.");
  const { user } = row;
  await assertAcceptablePassword(deps, newPassword, { email: user.email, name: user.name });
  const passwordHash = await hashPassword(newPassword);

  const emailIds = await deps.db.transaction(async (tx) => {
    // Single use even under concurrency: only one request flips used_at.
    const [used] = await tx
      .update(userTokens)
      .set({ usedAt: sql`now()` })
      .where(and(eq(userTokens.id, row.token.id), isNull(userTokens.usedAt)))
      .returning({ id: userTokens.id });
    if (!used) throw new ApiError("INVALID_TOKEN", "This reset link was already used.");
    return [
      await storeNewPassword(deps, tx, user, passwordHash, {
        type: "RESET_PASSWORD",
        reason: "password_reset",
      }),
    ];
  });
  await dispatchEmails(deps.env, deps.log, emailIds);

  const { wasLocked } = await clearLoginFailures(deps, user.email);
  if (wasLocked) {
    await recordAudit(deps, deps.db, {
      type: "ACCOUNT_UNLOCKED",
      workspaceId: user.workspaceId,
      actorUserId: user.id,
      targetType: "user",
      targetId: user.id,
      data: { via: "reset-password" },
    });
  }
}

/** Changes the password of the signed-in user: other sessions revoked (this one kept), a notice mailed. */
export async function changePassword(
  deps: Deps,
  auth: AuthContext,
  input: { currentPassword?: string; newPassword: string },
): Promise<void> {
  const user = await reauthenticate(deps, auth, input.currentPassword, "change-password");
  await assertAcceptablePassword(deps, input.newPassword, { email: user.email, name: user.name });
  const passwordHash = await hashPassword(input.newPassword);
  const emailIds = await deps.db.transaction(async (tx) => {
    return [
      await storeNewPassword(deps, tx, user, passwordHash, {
        type: "CHANGE_PASSWORD",
        reason: "password_changed",
        keepSessionId: auth.sessionId,
      }),
    ];
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
}

/**
 * Stores a new password hash, revokes the user's sessions (but `keepSessionId`), audits the change and queues
 * the "password changed" notice; returns the mail id for dispatch after the commit.
 */
async function storeNewPassword(
  deps: Deps,
  tx: Transaction,
  user: User,
  passwordHash: string,
  change: { type: "RESET_PASSWORD" | "CHANGE_PASSWORD"; reason: string; keepSessionId?: string },
): Promise<string> {
  await tx.update(users).set({ passwordHash }).where(eq(users.id, user.id));
  const revoked = await revokeUserSessions(tx, user.id, change.reason, change.keepSessionId);
  await recordAudit(deps, tx, {
    type: change.type,
    workspaceId: user.workspaceId,
    actorUserId: user.id,
    targetType: "user",
    targetId: user.id,
    data: { sessionsRevoked: revoked },
  });
  return queueEmail(tx, deps.config, {
    to: user.email,
    template: "password-changed",
    params: { name: user.name },
  });
}

/**
 * Locks the caller's workspace and row and applies the LAST_ADMIN rule to a user leaving by their own hand.
 * Returns the fresh user row and whether they are the workspace's sole ACTIVE member.
 */
async function leaveChecks(tx: Transaction, auth: AuthContext) {
  await lockWorkspace(tx, auth.workspaceId);
  const [user] = await tx.select().from(users).where(eq(users.id, auth.userId)).for("update");
  if (user?.status !== "ACTIVE")
    throw new ApiError("UNAUTHENTICATED", "The session has ended. Sign in again.");
  const { soleMember } = await assertAdminRemains(tx, auth.workspaceId, user);
  return { user, soleMember };
}

/** Deactivates the caller's own account (re-authenticated; LAST_ADMIN rule); every session revoked. */
export async function deactivateSelf(deps: Deps, auth: AuthContext, password?: string): Promise<void> {
  await reauthenticate(deps, auth, password, "deactivate");
  await deps.db.transaction(async (tx) => {
    const { user } = await leaveChecks(tx, auth);
    await tx.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, user.id));
    await revokeUserSessions(tx, user.id, "deactivated");
    await recordAudit(deps, tx, {
      type: "DEACTIVATE_ACCOUNT",
      workspaceId: auth.workspaceId,
      actorUserId: user.id,
      targetType: "user",
      targetId: user.id,
      data: { via: "self" },
    });
  });
}

/**
 * Schedules the caller's account for deletion after the grace period (re-authenticated; LAST_ADMIN rule):
 * PENDING_DELETION, sessions revoked, a mail with a cancel link valid for the whole grace period. A sole
 * member's deletion also schedules the workspace's, which otherwise would be left with nobody to run it.
 */
export async function requestAccountDeletion(
  deps: Deps,
  auth: AuthContext,
  password?: string,
): Promise<{ purgeAfter: string }> {
  await reauthenticate(deps, auth, password, "delete-account");
  const { purgeAfter, emailIds } = await deps.db.transaction(async (tx) => {
    const { user, soleMember } = await leaveChecks(tx, auth);
    const [scheduled] = await tx
      .update(users)
      .set({
        status: "PENDING_DELETION",
        deletionRequestedAt: sql`now()`,
        purgeAfter: sql`now() + make_interval(days => ${DELETION_GRACE_DAYS})`,
      })
      .where(eq(users.id, user.id))
      .returning({ purgeAfter: users.purgeAfter });
    const purgeAfter = scheduled?.purgeAfter;
    if (!purgeAfter) throw new Error("deletion schedule returned nothing");
    await revokeUserSessions(tx, user.id, "account_deletion");
    const token = await issueUserToken(tx, user.id, "CANCEL_DELETION", purgeAfter);
    await recordAudit(deps, tx, {
      type: "ACCOUNT_DELETION_REQUESTED",
      workspaceId: auth.workspaceId,
      actorUserId: user.id,
      targetType: "user",
      targetId: user.id,
      data: { purgeAfter: purgeAfter.toISOString(), soleMember },
    });
    if (soleMember) {
      const [workspace] = await tx
        .update(workspaces)
        .set({
          status: "PENDING_DELETION",
          deletionRequestedAt: sql`now()`,
          deletionRequestedBy: user.id,
          deletionReason: "sole member deleted their account",
          purgeAfter,
        })
        .where(and(eq(workspaces.id, auth.workspaceId), eq(workspaces.status, "ACTIVE")))
        .returning({ id: workspaces.id });
      if (workspace) {
        await recordAudit(deps, tx, {
          type: "WORKSPACE_DELETION_REQUESTED",
          workspaceId: auth.workspaceId,
          actorUserId: user.id,
          targetType: "workspace",
          targetId: auth.workspaceId,
          data: { via: "delete-account", purgeAfter: purgeAfter.toISOString() },
        });
      }
    }
    const mailId = await queueEmail(tx, deps.config, {
      to: user.email,
      template: "deletion-scheduled",
      params: { name: user.name, purgeAfter: purgeAfter.toISOString() },
      secretParams: { token },
    });
    return { purgeAfter, emailIds: [mailId] };
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
  return { purgeAfter: purgeAfter.toISOString() };
}

export type CancelDeletionInput = { token: string } | { email: string; password: string };

/**
 * Brings a PENDING_DELETION account back to ACTIVE, by the mailed token or by email + password (under the
 * login lockout). A workspace whose deletion this user's own deletion had scheduled comes back with it.
 */
export async function cancelDeletion(deps: Deps, input: CancelDeletionInput) {
  let user: User;
  let tokenId: string | undefined;
  if ("token" in input) {
    const row = await findLiveToken(deps.db, "CANCEL_DELETION", input.token);
    if (!row) throw new ApiError("INVALID_TOKEN", "This link is invalid, used or expired.");
    user = row.user;
    tokenId = row.token.id;
  } else {
    user = (await verifyCredentials(deps, input.email, input.password, "cancel-deletion")).user;
  }
  if (user.status !== "PENDING_DELETION") {
    if (user.status === "ACTIVE")
      return {
        message: "This account is not scheduled for deletion.",
        user: await toSignedUserDto(deps, user),
      };
    throw new ApiError("INVALID_TOKEN", "This account cannot be restored this way.");
  }
  const restored = await deps.db.transaction(async (tx) => {
    const [active] = await tx
      .update(users)
      .set({ status: "ACTIVE", deletionRequestedAt: null, purgeAfter: null })
      .where(and(eq(users.id, user.id), eq(users.status, "PENDING_DELETION")))
      .returning();
    if (!active) throw new ApiError("INVALID_TOKEN", "This account is no longer scheduled for deletion.");
    // Every cancel link of the account stops working once one has been used (or the password was).
    await tx
      .update(userTokens)
      .set({ usedAt: sql`now()` })
      .where(
        and(
          eq(userTokens.userId, user.id),
          eq(userTokens.purpose, "CANCEL_DELETION"),
          isNull(userTokens.usedAt),
        ),
      );
    await recordAudit(deps, tx, {
      type: "REACTIVATE_ACCOUNT",
      workspaceId: active.workspaceId,
      actorUserId: active.id,
      targetType: "user",
      targetId: active.id,
      data: { via: "cancel-deletion", method: tokenId ? "token" : "password" },
    });
    if (active.workspaceId) {
      const [workspace] = await tx
        .update(workspaces)
        .set({
          status: "ACTIVE",
          deletionRequestedAt: null,
          deletionRequestedBy: null,
          deletionReason: null,
          purgeAfter: null,
        })
        .where(
          and(
            eq(workspaces.id, active.workspaceId),
            eq(workspaces.status, "PENDING_DELETION"),
            eq(workspaces.deletionRequestedBy, active.id),
          ),
        )
        .returning({ id: workspaces.id });
      if (workspace) {
        await recordAudit(deps, tx, {
          type: "WORKSPACE_DELETION_CANCELLED",
          workspaceId: workspace.id,
          actorUserId: active.id,
          targetType: "workspace",
          targetId: workspace.id,
          data: { via: "cancel-deletion" },
        });
      }
    }
    return active;
  });
  return {
    message: "Your account is active again. You can sign in.",
    user: await toSignedUserDto(deps, restored),
  };
}
