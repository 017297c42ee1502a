/**
 * Google sign-in (API.md "Auth": /google, /google/callback, /google/link, /oauth/exchange), safe against
 * pre-account takeover.
 *
 * Who Google may sign in (the linking rules):
 * - A Google account already linked (`oauth_accounts`, keyed by the stable `sub`, never the email) signs in
 *   as its user, whatever its email says today.
 * - Otherwise Google must be *authoritative* for the email: `email_verified` is true AND the address is
 *   @gmail.com or the `hd` (Workspace domain) claim equals the address's domain. Only then does the email
 *   prove the mailbox the way a verification link would:
 *   - an ACTIVE user with that email is linked and signed in;
 *   - a PENDING_VERIFY user is neutralised — whoever registered it never proved the mailbox, and may be an
 *     attacker waiting for the real owner to arrive: its password is cleared, its sessions and single-use
 *     tokens (verification and reset links) revoked, its name replaced by Google's — then it is verified
 *     (workspace assigned as at verification), linked and signed in;
 *   - no user → a new ACTIVE, verified user without a password, in the workspace verification would give it;
 *   - DEACTIVATED / PENDING_DELETION → refused with login's codes, nothing linked.
 * - A Google email Google is not authoritative for is refused (LINK_REQUIRES_LOGIN) unless already linked: the
 *   user signs in with the password and links Google from that session (`POST /google/link`).
 *
 * Decisions:
 * - **A Google account linked to another user** is never moved: the link flow refuses it with CONFLICT. A
 *   silent move would let whoever controls one account's session take over the other account's Google sign-in.
 * - **A link flow whose Google email differs from the user's email** is refused with FORBIDDEN. The link ticket
 *   travels in a URL, and a forwarded or leaked ticket must not be able to attach someone else's Google account
 *   to the ticket owner's user (classic account-linking CSRF: the victim's later Google sign-ins would land in
 *   the attacker's account). With the equality rule a ticket can only link a Google account carrying the
 *   user's own, already verified address, and only one Google has verified (anyone can open a Google account
 *   under an address they do not own). The link flow still admits what the automatic rules refuse — an
 *   address Google is not authoritative for — because the signed-in session proves the account and the
 *   Google sign-in proves the Google account. The ticket starts one flow only (the first browser to open it,
 *   bound from then on by the flow cookie set on that navigation). A cookie set by the XHR that asks for the
 *   ticket was considered instead: from a frontend on another site it is a third-party cookie, which
 *   browsers increasingly drop.
 * - **No token in a URL**: the callback ends with `FRONTEND_URL/oauth/callback#code=<one-time code>` (fragment:
 *   never sent to a server or in a Referer); the code (32 random bytes, SHA-256 stored as OAUTH_CODE, 60 s,
 *   single use) is exchanged for the normal login response. The session starts at the exchange, method GOOGLE,
 *   `auth_time` = then (at most 60 s after Google's sign-in), and LOGIN_SUCCESS is audited there.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { hashToken, randomToken, safeEqual } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError, type ErrorCode } from "../../core/errors";
import { errorFields } from "../../core/logger";
import { isDatabaseUnavailable, type Transaction } from "../../db/client";
import { oauthAccounts, sessions, type User, users, userTokens, workspaces } from "../../db/schema";
import { dispatchEmails, queueEmail } from "../../email/outbox";
import type { Config } from "../../env";
import type { AuthContext } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import { STATUS_REFUSALS } from "../auth/login.service";
import { activate } from "../auth/registration.service";
import { revokeUserSessions, startSession } from "../auth/sessions.service";
import { type Assignment, assignWorkspace, emailDomain } from "../auth/workspace-assignment.service";
import { toSignedUserDto } from "../users/users.service";
import { toWorkspaceSummaryDto } from "../workspaces/workspaces.service";
import {
  authorizationUrl,
  exchangeCode,
  type GoogleIdentity,
  loadDiscovery,
  OidcError,
  verifyIdToken,
} from "./google-oidc";
import {
  type FlowState,
  type LinkBinding,
  type OpenedLinkTicket,
  openFlow,
  openLinkTicket,
  sealFlow,
  sealLinkTicket,
} from "./oauth-flow";

export const PROVIDER = "google";
/** CONFIG.md "Lifetimes": OAuth one-time code 60 s. */
export const OAUTH_CODE_TTL_SECONDS = 60;

/** The Google client of this deployment; 501 NOT_CONFIGURED when GOOGLE_CLIENT_ID is unset. */
export function googleClient(config: Config) {
  if (!config.GOOGLE_CLIENT_ID) {
    throw new ApiError("NOT_CONFIGURED", "Google sign-in is not configured on this deployment.");
  }
  return {
    clientId: config.GOOGLE_CLIENT_ID,
    clientSecret: config.GOOGLE_CLIENT_SECRET ?? null,
    redirectUri: `${config.APP_BASE_URL}/api/auth/google/callback`,
  };
}

/** Where every flow ends: the frontend's (or built-in) callback page, with a code or an error in the fragment. */
const frontendCallback = (config: Config, fragment: { code: string } | { error: ErrorCode }) =>
  `${config.FRONTEND_URL}/oauth/callback#${new URLSearchParams(fragment).toString()}`;

/** A refusal that ends the flow with `#error=<code>`; `reason` is for logs and audit data only. */
class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly reason: string,
    readonly user?: Pick<User, "id" | "workspaceId">,
  ) {
    super(reason);
    this.name = "Refusal";
  }
}

/** A concurrent callback inserted the same user or link first; the transaction is run again and sees it. */
class RaceLost extends Error {}

// ---------------------------------------------------------------------------------------------------------
// Start

export type FlowStart = { location: string; cookie?: string };

/**
 * Starts a flow: a fresh state, nonce and PKCE verifier, sealed into the browser's cookie, and the issuer's
 * authorization URL. With a link ticket (from `POST /google/link`) the flow is bound to that user's live
 * session; a bad or expired ticket, or an ended session, ends at the callback page with an error instead.
 */
export async function startGoogleFlow(deps: Deps, linkTicket: string | undefined): Promise<FlowStart> {
  const client = googleClient(deps.config);
  let link: LinkBinding | undefined;
  let loginHint: string | undefined;
  if (linkTicket !== undefined) {
    const ticket = await openLinkTicket(deps.config.ENCRYPTION_KEY, linkTicket);
    if (!ticket) return { location: frontendCallback(deps.config, { error: "INVALID_TOKEN" }) };
    const user = await liveLinkUser(deps.db, ticket.binding);
    if (!user) return { location: frontendCallback(deps.config, { error: "UNAUTHENTICATED" }) };
    // The ticket is a URL for 2 minutes: it starts one flow, in the first browser that opens it, which the
    // flow cookie set on this navigation then binds. A forwarded or leaked URL opened later starts nothing.
    if (!(await spendLinkTicket(deps, user.id, ticket))) {
      return { location: frontendCallback(deps.config, { error: "INVALID_TOKEN" }) };
    }
    link = ticket.binding;
    loginHint = user.email;
  }
  let discovery: Awaited<ReturnType<typeof loadDiscovery>>;
  try {
    discovery = await loadDiscovery(deps.config.GOOGLE_ISSUER);
  } catch (error) {
    deps.log.error("google sign-in: issuer unavailable", errorFields(error));
    return { location: frontendCallback(deps.config, { error: "INTERNAL" }) };
  }
  const flow: Omit<FlowState, "exp"> = {
    state: randomToken(),
    nonce: randomToken(),
    codeVerifier: randomToken(),
    ...(link ? { link } : {}),
  };
  return {
    location: authorizationUrl(discovery, { ...client, ...flow, loginHint }),
    cookie: await sealFlow(deps.config.ENCRYPTION_KEY, flow),
  };
}

/** Records the ticket as used (user_tokens OAUTH_LINK, by the hash of its id); false when it already was. */
async function spendLinkTicket(deps: Deps, userId: string, ticket: OpenedLinkTicket): Promise<boolean> {
  const spent = await deps.db
    .insert(userTokens)
    .values({
      purpose: "OAUTH_LINK",
      tokenHash: await hashToken(ticket.jti),
      userId,
      expiresAt: ticket.expiresAt,
      usedAt: sql`now()`,
    })
    .onConflictDoNothing({ target: userTokens.tokenHash })
    .returning({ id: userTokens.id });
  return spent.length === 1;
}

/** `POST /google/link`: the URL that starts a flow bound to the caller's user and session. */
export async function createLinkUrl(deps: Deps, auth: Pick<AuthContext, "userId" | "sessionId">) {
  googleClient(deps.config);
  const ticket = await sealLinkTicket(deps.config.ENCRYPTION_KEY, {
    userId: auth.userId,
    sessionId: auth.sessionId,
  });
  const url = new URL(`${deps.config.APP_BASE_URL}/api/auth/google`);
  url.searchParams.set("link", ticket);
  return { url: url.toString() };
}

/** The ACTIVE user behind a link binding whose session is still live (database clock), or null. */
async function liveLinkUser(db: Deps["db"] | Transaction, binding: LinkBinding, lock = false) {
  const query = db
    .select({ user: users })
    .from(sessions)
    .innerJoin(users, and(eq(users.id, sessions.userId), eq(users.workspaceId, sessions.workspaceId)))
    .where(
      and(
        eq(sessions.id, binding.sessionId),
        eq(sessions.userId, binding.userId),
        isNull(sessions.revokedAt),
        gt(sessions.idleExpiresAt, sql`now()`),
        gt(sessions.absoluteExpiresAt, sql`now()`),
        eq(users.status, "ACTIVE"),
      ),
    );
  const [row] = lock ? await query.for("update", { of: users }) : await query;
  return row?.user ?? null;
}

// ---------------------------------------------------------------------------------------------------------
// Callback

export type CallbackQuery = {
  code?: string;
  state?: string;
  error?: string;
  iss?: string;
};

/**
 * Finishes a flow and returns where to send the browser: `#code=` on success, `#error=<CODE>` on any refusal.
 * Order: the state must match this browser's sealed cookie (else INVALID_TOKEN) before anything is sent to
 * the issuer; then the code is redeemed with the PKCE verifier and the ID token verified (UNAUTHENTICATED
 * when either is refused); then the linking rules decide.
 */
export async function finishGoogleFlow(
  deps: Deps,
  query: CallbackQuery,
  cookie: string | undefined,
): Promise<string> {
  const client = googleClient(deps.config);
  try {
    const flow = await openFlow(deps.config.ENCRYPTION_KEY, cookie);
    if (!flow) throw new Refusal("INVALID_TOKEN", "missing_or_expired_flow_cookie");
    if (!query.state || !safeEqual(query.state, flow.state))
      throw new Refusal("INVALID_TOKEN", "state_mismatch");
    if (query.error) throw new Refusal("UNAUTHENTICATED", `provider_error:${query.error.slice(0, 64)}`);
    if (!query.code) throw new Refusal("UNAUTHENTICATED", "missing_code");

    const discovery = await loadDiscovery(deps.config.GOOGLE_ISSUER);
    // RFC 9207: an `iss` in the response must be our issuer (mix-up defence); Google sends it.
    if (query.iss !== undefined && query.iss.replace(/\/+$/, "") !== discovery.issuer) {
      throw new Refusal("UNAUTHENTICATED", "issuer_mismatch");
    }
    const idToken = await exchangeCode(discovery, { ...client, codeVerifier: flow.codeVerifier }, query.code);
    const identity = await verifyIdToken(discovery, idToken, {
      clientId: client.clientId,
      nonce: flow.nonce,
    });
    const code = await signInWithGoogle(deps, identity, flow.link);
    return frontendCallback(deps.config, { code });
  } catch (error) {
    return frontendCallback(deps.config, { error: refusalCode(deps, error) });
  }
}

/** The `#error=` code for a failed callback, logged (and audited for refusals of a known identity). */
function refusalCode(deps: Deps, error: unknown): ErrorCode {
  if (error instanceof Refusal) {
    deps.log.warn("google sign-in refused", { code: error.code, reason: error.reason });
    return error.code;
  }
  if (error instanceof OidcError) {
    if (error.kind === "rejected") {
      deps.log.warn("google sign-in refused", { code: "UNAUTHENTICATED", reason: error.message });
      return "UNAUTHENTICATED";
    }
    deps.log.error("google sign-in: issuer unavailable", errorFields(error));
    return "INTERNAL";
  }
  if (error instanceof ApiError) return error.code;
  if (isDatabaseUnavailable(error)) {
    deps.log.error("database unavailable", errorFields(error));
    return "DATABASE_UNAVAILABLE";
  }
  deps.log.error("google sign-in failed", errorFields(error));
  return "INTERNAL";
}

/** Gmail addresses, or addresses of the Workspace domain (`hd`) that issued the account, and only verified. */
export function isAuthoritative(identity: Pick<GoogleIdentity, "email" | "emailVerified" | "hostedDomain">) {
  if (!identity.emailVerified) return false;
  const domain = emailDomain(identity.email);
  return domain === "gmail.com" || (identity.hostedDomain !== null && identity.hostedDomain === domain);
}

/**
 * Applies the linking rules in one transaction (rerun once when a concurrent callback for the same email or
 * Google account wins a unique index) and returns a fresh one-time code. Refusals of a known identity are
 * audited as LOGIN_FAILED.
 */
async function signInWithGoogle(
  deps: Deps,
  identity: GoogleIdentity,
  link: LinkBinding | undefined,
): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { code, mailIds } = await deps.db.transaction((tx) => resolveInTx(deps, tx, identity, link));
      await dispatchEmails(deps.env, deps.log, mailIds);
      return code;
    } catch (error) {
      if (error instanceof RaceLost && attempt < 2) continue;
      if (error instanceof Refusal) {
        await recordAudit(deps, deps.db, {
          type: "LOGIN_FAILED",
          workspaceId: error.user?.workspaceId ?? null,
          actorType: "ANONYMOUS",
          targetType: error.user ? "user" : undefined,
          targetId: error.user?.id,
          data: { via: "google", reason: error.reason },
        });
      }
      throw error;
    }
  }
}

type Resolved = { code: string; mailIds: string[] };

async function resolveInTx(
  deps: Deps,
  tx: Transaction,
  identity: GoogleIdentity,
  link: LinkBinding | undefined,
): Promise<Resolved> {
  const [linked] = await tx
    .select({ user: users, email: oauthAccounts.email })
    .from(oauthAccounts)
    .innerJoin(users, eq(users.id, oauthAccounts.userId))
    .where(and(eq(oauthAccounts.provider, PROVIDER), eq(oauthAccounts.providerSubject, identity.subject)))
    .for("update", { of: users });

  if (link) {
    const user = await liveLinkUser(tx, link, true);
    if (!user) throw new Refusal("UNAUTHENTICATED", "link_session_ended");
    if (linked && linked.user.id !== user.id) {
      throw new Refusal("CONFLICT", "google_account_linked_to_another_user", user);
    }
    if (!linked) {
      if (identity.email !== user.email) throw new Refusal("FORBIDDEN", "link_email_mismatch", user);
      // Anyone can create a Google account under someone else's address without proving it: only an
      // address Google has verified may be attached to an account here.
      if (!identity.emailVerified) throw new Refusal("FORBIDDEN", "link_email_not_verified", user);
      await linkAccount(deps, tx, user, identity, { via: "link" });
    }
    return { code: await issueCode(tx, user), mailIds: [] };
  }

  if (linked) {
    refuseUnlessActive(linked.user);
    if (linked.email !== identity.email) {
      await tx
        .update(oauthAccounts)
        .set({ email: identity.email })
        .where(
          and(eq(oauthAccounts.provider, PROVIDER), eq(oauthAccounts.providerSubject, identity.subject)),
        );
    }
    return { code: await issueCode(tx, linked.user), mailIds: [] };
  }

  if (!isAuthoritative(identity)) {
    // The answer is the same whether or not an account has this email; only the audit names it, so its
    // workspace sees the attempt like a failed password login.
    const [holder] = await tx
      .select({ id: users.id, workspaceId: users.workspaceId })
      .from(users)
      .where(eq(users.email, identity.email));
    throw new Refusal(
      "LINK_REQUIRES_LOGIN",
      identity.emailVerified ? "email_domain_not_authoritative" : "email_not_verified_by_google",
      holder,
    );
  }

  const [existing] = await tx.select().from(users).where(eq(users.email, identity.email)).for("update");
  if (!existing) return createGoogleUser(deps, tx, identity);
  if (existing.status === "PENDING_VERIFY") return claimPendingAccount(deps, tx, existing, identity);
  refuseUnlessActive(existing);
  await linkAccount(deps, tx, existing, identity, { via: "verified-email" });
  return { code: await issueCode(tx, existing), mailIds: [] };
}

function refuseUnlessActive(user: User): void {
  if (user.status === "ACTIVE" && user.workspaceId) return;
  const [code] = STATUS_REFUSALS[user.status as keyof typeof STATUS_REFUSALS] ?? ["UNAUTHENTICATED"];
  throw new Refusal(code, `account_${user.status.toLowerCase()}`, user);
}

async function linkAccount(
  deps: Deps,
  tx: Transaction,
  user: Pick<User, "id" | "workspaceId">,
  identity: GoogleIdentity,
  data: Record<string, unknown>,
): Promise<void> {
  const inserted = await tx
    .insert(oauthAccounts)
    .values({ provider: PROVIDER, providerSubject: identity.subject, userId: user.id, email: identity.email })
    .onConflictDoNothing()
    .returning({ userId: oauthAccounts.userId });
  if (inserted.length === 0) throw new RaceLost();
  await recordAudit(deps, tx, {
    type: "OAUTH_LINKED",
    workspaceId: user.workspaceId,
    actorUserId: user.id,
    targetType: "user",
    targetId: user.id,
    data: { provider: PROVIDER, ...data },
  });
}

/** No account for a Google-proven address: a verified user without a password, placed as at verification. */
async function createGoogleUser(deps: Deps, tx: Transaction, identity: GoogleIdentity): Promise<Resolved> {
  const [created] = await tx
    .insert(users)
    .values({ email: identity.email, name: identity.name, passwordHash: null })
    .onConflictDoNothing({ target: users.email })
    .returning();
  if (!created) throw new RaceLost();
  const assignment = await assignWorkspace(tx, created);
  const active = await activate(deps, tx, created, assignment, "google");
  await recordAudit(deps, tx, {
    type: "REGISTER",
    workspaceId: assignment.workspaceId,
    actorUserId: active.id,
    targetType: "user",
    targetId: active.id,
    data: { outcome: "created", via: "google" },
  });
  await linkAccount(deps, tx, active, identity, { via: "new-account" });
  return { code: await issueCode(tx, active), mailIds: await refusalMail(deps, tx, active, assignment) };
}

/**
 * The pre-account-takeover defence: a PENDING_VERIFY account for a Google-proven address was registered by
 * someone who never proved the mailbox. Nothing they set survives: password cleared, sessions revoked, every
 * single-use token (verification and reset links) deleted, name replaced. Then it is verified and placed as at
 * verification, linked and signed in.
 */
async function claimPendingAccount(
  deps: Deps,
  tx: Transaction,
  pending: User,
  identity: GoogleIdentity,
): Promise<Resolved> {
  const [cleared] = await tx
    .update(users)
    .set({ passwordHash: null, name: identity.name })
    .where(eq(users.id, pending.id))
    .returning();
  if (!cleared) throw new Error("pending user vanished during Google sign-in");
  const sessionsRevoked = await revokeUserSessions(tx, pending.id, "google_verified_owner");
  const voided = await tx
    .delete(userTokens)
    .where(eq(userTokens.userId, pending.id))
    .returning({ id: userTokens.id });
  const assignment = await assignWorkspace(tx, cleared);
  const active = await activate(deps, tx, cleared, assignment, "google");
  await linkAccount(deps, tx, active, identity, {
    via: "pending-account",
    passwordCleared: pending.passwordHash !== null,
    sessionsRevoked,
    tokensVoided: voided.length,
  });
  return { code: await issueCode(tx, active), mailIds: await refusalMail(deps, tx, active, assignment) };
}

/** As at verification: an INVITE_ONLY domain's refusal is explained by mail. */
async function refusalMail(deps: Deps, tx: Transaction, user: User, assignment: Assignment) {
  if (!assignment.refusedBy) return [];
  return [
    await queueEmail(tx, deps.config, {
      to: user.email,
      template: "invite-only-domain",
      params: { name: user.name, ...assignment.refusedBy },
    }),
  ];
}

/** A one-time code for `POST /oauth/exchange`: 32 random bytes, only the SHA-256 stored, 60 s, single use. */
async function issueCode(tx: Transaction, user: Pick<User, "id">): Promise<string> {
  const code = randomToken();
  await tx.insert(userTokens).values({
    purpose: "OAUTH_CODE",
    tokenHash: await hashToken(code),
    userId: user.id,
    expiresAt: sql`now() + make_interval(secs => ${OAUTH_CODE_TTL_SECONDS})`,
  });
  return code;
}

// ---------------------------------------------------------------------------------------------------------
// Exchange

const invalidCode = () =>
  new ApiError("INVALID_TOKEN", "This sign-in code is invalid, expired or already used. Sign in again.");

/**
 * Redeems a one-time code for the login response (a new GOOGLE session). The code is claimed by one
 * conditional update, so two concurrent exchanges get one session; an account deactivated or scheduled for
 * deletion since the callback is refused with login's codes (the code is spent all the same).
 */
export async function exchangeOauthCode(deps: Deps, code: string) {
  const tokenHash = await hashToken(code);
  const outcome = await deps.db.transaction(async (tx) => {
    const [claimed] = await tx
      .update(userTokens)
      .set({ usedAt: sql`now()` })
      .where(
        and(
          eq(userTokens.tokenHash, tokenHash),
          eq(userTokens.purpose, "OAUTH_CODE"),
          isNull(userTokens.usedAt),
          gt(userTokens.expiresAt, sql`now()`),
        ),
      )
      .returning({ userId: userTokens.userId });
    if (!claimed) throw invalidCode();
    const [user] = await tx.select().from(users).where(eq(users.id, claimed.userId)).for("update");
    if (!user) throw invalidCode();
    if (user.status !== "ACTIVE" || !user.workspaceId) return { refused: user.status } as const;
    const workspaceId = user.workspaceId;

    // The workspace read and the sign-in statement (last login, session, LOGIN_SUCCESS) share a flight.
    const [[workspace], signedIn] = await Promise.all([
      tx.select().from(workspaces).where(eq(workspaces.id, workspaceId)),
      startSession(deps, tx, { userId: user.id, workspaceId, method: "GOOGLE" }),
    ]);
    if (!signedIn || !workspace) throw new Error("user or workspace vanished during the OAuth exchange");
    const tokens = signedIn.tokens;
    return { tokens, signedIn: { ...user, lastLoginAt: signedIn.lastLoginAt }, workspace } as const;
  });

  if ("refused" in outcome) {
    const [errorCode, detail] = STATUS_REFUSALS[outcome.refused as keyof typeof STATUS_REFUSALS] ?? [
      "INVALID_TOKEN",
      "This sign-in code is invalid, expired or already used. Sign in again.",
    ];
    throw new ApiError(errorCode, detail);
  }
  const { sessionId: _sessionId, ...pair } = outcome.tokens;
  return {
    ...pair,
    user: await toSignedUserDto(deps, outcome.signedIn),
    workspace: toWorkspaceSummaryDto(outcome.workspace),
  };
}
