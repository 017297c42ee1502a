/**
 * Sign-up: register, verify-email, resend-verification (API.md "Auth"). Enumeration-safe: register and resend
 * answer the same whatever the email's state, and the password policy runs before any lookup so a weak
 * password is refused for every address alike. Verification needs the registration's password as well as the
 * mailed link: the link proves the mailbox, the password proves that the mailbox's owner chose it.
 */
import { and, eq, sql } from "drizzle-orm";
import { hashToken } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { hashPassword } from "../../core/password";
import { assertAcceptablePassword } from "../../core/password-policy";
import { checkLoginLock, settleSuccessfulLogin } from "../../core/rate-limit";
import type { DbOrTx, Transaction } from "../../db/client";
import { type User, users, userTokens } from "../../db/schema";
import { dispatchEmails, queueEmail } from "../../email/outbox";
import { recordAudit } from "../audit/audit.service";
import { toSignedUserDto } from "../users/users.service";
import type { RegisterInput } from "./auth.schemas";
import { checkPassword, refuseAttempt } from "./credentials";
import { expiresIn, issueUserToken, voidUserTokens } from "./user-tokens";
import {
  type Assignment,
  assignWorkspace,
  isLiveInvitation,
  takeOpenInvitation,
} from "./workspace-assignment.service";

/** CONFIG.md "Lifetimes": verification link 24 h. */
export const VERIFY_EMAIL_TTL_SECONDS = 24 * 3600;

export const REGISTER_MESSAGE =
  "Thanks. If this address can be registered, we have sent an email with the next step.";
export const RESEND_MESSAGE = "If this address is waiting for verification, we have sent a new link.";

/** Thrown inside the transaction when a concurrent registration inserted the same email first. */
class EmailTakenConcurrently extends Error {}

/** A registration checked and hashed, ready to store: what the answer may depend on, and nothing more. */
export type PreparedRegistration = {
  input: RegisterInput;
  passwordHash: string;
  inviteHash: string | undefined;
  /** The request holds a live invitation token for this very address (it proves the mailbox). */
  invited: boolean;
};

/**
 * The part of a registration that happens before the answer, the same for every address: the password policy
 * (a weak password is refused for every address alike), the argon2 hash, and — with an `inviteToken` — one
 * read of whether it is a live invitation for this address (it never looks at users).
 */
export async function prepareRegistration(deps: Deps, input: RegisterInput): Promise<PreparedRegistration> {
  await assertAcceptablePassword(deps, input.password, { email: input.email, name: input.name });
  // Hashed for every address, so an existing account answers no faster than a new one.
  const passwordHash = await hashPassword(input.password);
  const inviteHash = input.inviteToken ? await hashToken(input.inviteToken) : undefined;
  const invited = inviteHash ? await isLiveInvitation(deps.db, input.email, inviteHash) : false;
  return { input, passwordHash, inviteHash, invited };
}

/**
 * Registers or re-registers an email. Existing verified accounts change nothing and get a "someone tried to
 * register" mail; a PENDING_VERIFY account takes the new password and name and a fresh link (earlier links
 * are deleted: the latest registration wins); a valid `inviteToken` for this email activates the account in
 * the inviting workspace at once. The caller runs it beside the response unless the request is `invited`:
 * the three paths take different numbers of round trips, which must not tell an account's state.
 */
export async function register(deps: Deps, prepared: PreparedRegistration): Promise<void> {
  const { input, passwordHash, inviteHash } = prepared;
  let emailIds: string[] = [];
  for (let attempt = 1; ; attempt++) {
    try {
      emailIds = await deps.db.transaction((tx) => registerInTx(deps, tx, input, passwordHash, inviteHash));
      break;
    } catch (error) {
      // Two first registrations of one email: the loser retries and takes the PENDING_VERIFY path.
      if (!(error instanceof EmailTakenConcurrently) || attempt >= 2) throw error;
    }
  }
  await dispatchEmails(deps.env, deps.log, emailIds);
}

async function registerInTx(
  deps: Deps,
  tx: Transaction,
  input: RegisterInput,
  passwordHash: string,
  inviteHash: string | undefined,
): Promise<string[]> {
  const [existing] = await tx.select().from(users).where(eq(users.email, input.email)).for("update");

  if (existing && existing.status !== "PENDING_VERIFY") {
    const mailId = await queueEmail(tx, deps.config, {
      to: existing.email,
      template: "register-attempt",
      params: { name: existing.name },
    });
    await recordAudit(deps, tx, {
      type: "REGISTER",
      workspaceId: existing.workspaceId,
      actorType: "ANONYMOUS",
      targetType: "user",
      targetId: existing.id,
      data: { outcome: "existing_account" },
    });
    return [mailId];
  }

  let user: User;
  if (existing) {
    const [updated] = await tx
      .update(users)
      .set({ passwordHash, name: input.name ?? existing.name })
      .where(eq(users.id, existing.id))
      .returning();
    if (!updated) throw new Error("user update returned nothing");
    user = updated;
    await voidUserTokens(tx, user.id, "VERIFY_EMAIL");
  } else {
    const [inserted] = await tx
      .insert(users)
      .values({ email: input.email, name: input.name ?? null, passwordHash })
      .onConflictDoNothing({ target: users.email })
      .returning();
    if (!inserted) throw new EmailTakenConcurrently();
    user = inserted;
  }

  const invited = inviteHash ? await takeOpenInvitation(tx, user.email, { tokenHash: inviteHash }) : null;
  if (invited) {
    await activate(deps, tx, user, invited, "register");
    await recordAudit(deps, tx, {
      type: "REGISTER",
      workspaceId: invited.workspaceId,
      actorUserId: user.id,
      targetType: "user",
      targetId: user.id,
      data: { outcome: existing ? "re_registered" : "created", via: "invitation" },
    });
    return [];
  }

  const mailId = await queueVerificationMail(deps, tx, user);
  await recordAudit(deps, tx, {
    type: "REGISTER",
    workspaceId: null,
    actorType: "ANONYMOUS",
    targetType: "user",
    targetId: user.id,
    data: { outcome: existing ? "re_registered" : "created" },
  });
  return [mailId];
}

/**
 * PENDING_VERIFY → ACTIVE in the assigned workspace, with the audit trail of how it got there. Shared by
 * verification and invitation-backed registration (and, later, Google sign-in).
 */
export async function activate(
  deps: Deps,
  tx: Transaction,
  user: User,
  assignment: Assignment,
  via: string,
): Promise<User> {
  const [active] = await tx
    .update(users)
    .set({
      status: "ACTIVE",
      emailVerifiedAt: sql`now()`,
      workspaceId: assignment.workspaceId,
      role: assignment.role,
    })
    .where(eq(users.id, user.id))
    .returning();
  if (!active) throw new Error("user activation returned nothing");
  const actor = { workspaceId: assignment.workspaceId, actorUserId: user.id };
  if (assignment.workspaceCreated) {
    await recordAudit(deps, tx, {
      ...actor,
      type: "WORKSPACE_CREATED",
      targetType: "workspace",
      targetId: assignment.workspaceId,
      data: { via: assignment.via },
    });
  }
  if (assignment.invitationId) {
    await recordAudit(deps, tx, {
      ...actor,
      type: "INVITATION_ACCEPTED",
      targetType: "invitation",
      targetId: assignment.invitationId,
      data: { via, role: assignment.role },
    });
  }
  await recordAudit(deps, tx, {
    ...actor,
    type: "VERIFY_EMAIL",
    targetType: "user",
    targetId: user.id,
    data: { via, workspace: assignment.via, role: assignment.role },
  });
  return active;
}

/** `ada.lovelace@corp.com` → `a***@corp.com`: enough for the owner to recognise, little for anyone else. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf("@");
  return `${email.slice(0, Math.min(1, at))}***${email.slice(at)}`;
}

/** The verification token with its user, locked when `lock` (inside a transaction). */
async function findVerification(db: DbOrTx, tokenHash: string, lock = false) {
  const query = db
    .select({ token: userTokens, user: users })
    .from(userTokens)
    .innerJoin(users, eq(users.id, userTokens.userId))
    .where(and(eq(userTokens.tokenHash, tokenHash), eq(userTokens.purpose, "VERIFY_EMAIL")));
  const [row] = await (lock ? query.for("update") : query);
  return row;
}

type VerificationRow = NonNullable<Awaited<ReturnType<typeof findVerification>>>;
const isSpent = (row: VerificationRow) => row.token.usedAt !== null || row.user.status !== "PENDING_VERIFY";
const isExpired = (row: VerificationRow) => row.token.expiresAt.getTime() <= Date.now();

/**
 * What the built-in /verify-email page shows before asking for the password: whether the link is live, and
 * for whom (masked). Changes nothing, so a mail scanner opening the link spends nothing.
 */
export async function inspectVerification(deps: Deps, token: string) {
  const row = await findVerification(deps.db, await hashToken(token));
  if (!row || (!isSpent(row) && isExpired(row))) return { valid: false, alreadyVerified: false, email: null };
  return { valid: !isSpent(row), alreadyVerified: isSpent(row), email: maskEmail(row.user.email) };
}

/**
 * Verifies the mailbox and assigns the workspace — only with the registration's password, so that a stranger
 * who registered the address first (or again, after its owner) cannot have the owner's click activate an
 * account whose password the stranger knows (issue 16). The password is checked under the email's lockout
 * like a login: a wrong one is 401 INVALID_CREDENTIALS and the link stays usable. Using a link again (with the
 * password) answers 200 "already verified" (people click twice); unknown, voided or expired links are 400
 * INVALID_TOKEN.
 */
export async function verifyEmail(deps: Deps, token: string, password: string) {
  const tokenHash = await hashToken(token);
  const found = await findVerification(deps.db, tokenHash);
  if (!found) throw new ApiError("INVALID_TOKEN", "This verification link is invalid or was replaced.");
  if (!isSpent(found) && isExpired(found)) {
    throw new ApiError("INVALID_TOKEN", "This verification link has expired; ask for a new one.");
  }
  const { email } = found.user;
  await checkLoginLock(deps, email);
  const check = await checkPassword(found.user, password);
  if (!check.valid) {
    return refuseAttempt(deps, { email, user: found.user, via: "verify-email", reason: "wrong_password" });
  }
  await settleSuccessfulLogin(deps, email);
  if (isSpent(found))
    return { message: "Email already verified.", user: await toSignedUserDto(deps, found.user) };

  const { user, alreadyVerified, emailIds } = await deps.db.transaction(async (tx) => {
    // Locks the token and its user: two clicks at once verify once.
    const row = await findVerification(tx, tokenHash, true);
    if (!row) throw new ApiError("INVALID_TOKEN", "This verification link is invalid or was replaced.");
    if (isSpent(row)) return { user: row.user, alreadyVerified: true, emailIds: [] };
    // A re-registration between the check and the lock replaced the password (and voided this link).
    if (row.user.passwordHash !== found.user.passwordHash) {
      throw new ApiError("INVALID_CREDENTIALS", "The email or password is wrong.");
    }
    await tx.update(userTokens).set({ usedAt: sql`now()` }).where(eq(userTokens.id, row.token.id));
    const assignment = await assignWorkspace(tx, row.user);
    const active = await activate(deps, tx, row.user, assignment, "verify-email");
    const ids: string[] = [];
    if (assignment.refusedBy) {
      ids.push(
        await queueEmail(tx, deps.config, {
          to: active.email,
          template: "invite-only-domain",
          params: { name: active.name, ...assignment.refusedBy },
        }),
      );
    }
    return { user: active, alreadyVerified: false, emailIds: ids };
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
  return {
    message: alreadyVerified ? "Email already verified." : "Email verified. You can sign in now.",
    user: await toSignedUserDto(deps, user),
  };
}

/**
 * Sends a fresh verification link to a PENDING_VERIFY account (earlier links are voided); does nothing for
 * any other address. The callers answer the same either way and run this beside the response
 * (`inBackground`), so that its duration tells nothing either.
 */
export async function resendVerification(deps: Deps, email: string): Promise<void> {
  const emailIds = await deps.db.transaction(async (tx) => {
    const [user] = await tx.select().from(users).where(eq(users.email, email)).for("update");
    if (user?.status !== "PENDING_VERIFY") return [];
    // Issuing the new link voids the older ones.
    return [await queueVerificationMail(deps, tx, user)];
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
}

/** A new 24-hour verification token (older ones voided) and the mail carrying it; returns the mail id. */
async function queueVerificationMail(deps: Deps, tx: Transaction, user: User): Promise<string> {
  const token = await issueUserToken(tx, user.id, "VERIFY_EMAIL", expiresIn(VERIFY_EMAIL_TTL_SECONDS));
  return queueEmail(tx, deps.config, {
    to: user.email,
    template: "verify-email",
    params: { name: user.name },
    secretParams: { token },
  });
}
