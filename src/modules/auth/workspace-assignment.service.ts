/**
 * Which workspace a user lands in once the mailbox is proven (API.md `POST /api/auth/verify-email`; the Google
 * sign-in reuses it). Invitations are not looked at here: they apply only with their token (registration's
 * `inviteToken`, accept-invitation) or by the signed-in invitee's choice. A public mail domain gets a new
 * PERSONAL workspace; a corporate domain gets its CORPORATE workspace — created with the user as ADMIN when
 * none exists, joined as MEMBER when its join policy is AUTO, refused (PERSONAL instead, plus a mail saying
 * to ask for an invitation) when INVITE_ONLY.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import publicMailDomains from "email-providers/all.json";
import type { DbOrTx, Transaction } from "../../db/client";
import { invitations, type UserRole, users, workspaces } from "../../db/schema";
import { isRelayMailDomain } from "./relay-mail-domains";

export type Assignment = {
  workspaceId: string;
  workspaceName: string;
  role: UserRole;
  /** How the workspace was chosen (recorded in audit data). */
  via: "invitation" | "personal" | "domain-created" | "domain-joined" | "invite-only" | "domain-unavailable";
  /** True when this call created the workspace (audit WORKSPACE_CREATED). */
  workspaceCreated: boolean;
  invitationId?: string;
  invitedBy?: string;
  /** The domain's workspace that refused the user (INVITE_ONLY), for the "ask for an invitation" mail. */
  refusedBy?: { workspaceName: string; domain: string };
};

// Built on first use: 8.8k domains, needed only at verification.
let publicDomains: Set<string> | undefined;

/**
 * True for free-mail providers (gmail.com, gmx.de, proton.me, …) and for the relay and alias providers that
 * list misses (relay-mail-domains.ts: duck.com, mozmail.com, simplelogin.com, …, and their per-user
 * subdomains): their users never share a workspace.
 */
export function isPublicMailDomain(domain: string): boolean {
  publicDomains ??= new Set(publicMailDomains as string[]);
  return publicDomains.has(domain.toLowerCase()) || isRelayMailDomain(domain);
}

export const emailDomain = (email: string): string => email.slice(email.lastIndexOf("@") + 1).toLowerCase();

/**
 * Picks (and when needed creates) the workspace for a newly verified user. Runs inside the caller's
 * transaction, which also activates the user, so a failure leaves neither a half-made workspace nor a
 * verified user without one.
 *
 * Race-safe for the first users of a domain: `INSERT … ON CONFLICT (domain) DO NOTHING` makes concurrent
 * verifications wait on the unique index; exactly one creates the workspace (ADMIN), the others then find it
 * and join per its policy.
 */
export async function assignWorkspace(
  tx: Transaction,
  person: { email: string; name: string | null },
): Promise<Assignment> {
  const domain = emailDomain(person.email);
  if (isPublicMailDomain(domain)) return createPersonal(tx, person, "personal");

  const [created] = await tx
    .insert(workspaces)
    .values({ name: domain, domain, kind: "CORPORATE" })
    .onConflictDoNothing({ target: workspaces.domain })
    .returning({ id: workspaces.id, name: workspaces.name });
  if (created) {
    return {
      workspaceId: created.id,
      workspaceName: created.name,
      role: "ADMIN",
      via: "domain-created",
      workspaceCreated: true,
    };
  }

  // FOR SHARE: the workspace cannot be deleted or change policy under us until the user has joined.
  const [existing] = await tx
    .select({
      id: workspaces.id,
      name: workspaces.name,
      joinPolicy: workspaces.joinPolicy,
      status: workspaces.status,
    })
    .from(workspaces)
    .where(eq(workspaces.domain, domain))
    .for("share");
  if (!existing) throw new Error(`workspace for ${domain} vanished during assignment`);
  // A domain workspace scheduled for deletion takes no new members; the domain stays reserved by it until
  // the purge, so the user gets a PERSONAL workspace meanwhile.
  if (existing.status !== "ACTIVE") return createPersonal(tx, person, "domain-unavailable");
  if (existing.joinPolicy === "INVITE_ONLY") {
    const personal = await createPersonal(tx, person, "invite-only");
    return { ...personal, refusedBy: { workspaceName: existing.name, domain } };
  }
  return {
    workspaceId: existing.id,
    workspaceName: existing.name,
    role: "MEMBER",
    via: "domain-joined",
    workspaceCreated: false,
  };
}

async function createPersonal(
  tx: Transaction,
  person: { email: string; name: string | null },
  via: Assignment["via"],
): Promise<Assignment> {
  const owner = person.name?.trim() || person.email.slice(0, person.email.lastIndexOf("@"));
  const [workspace] = await tx
    .insert(workspaces)
    .values({ name: `${owner}'s workspace`, kind: "PERSONAL" })
    .returning({ id: workspaces.id, name: workspaces.name });
  if (!workspace) throw new Error("workspace insert returned nothing");
  return {
    workspaceId: workspace.id,
    workspaceName: workspace.name,
    role: "ADMIN",
    via,
    workspaceCreated: true,
  };
}

/** An invitation that can still be taken: neither accepted nor revoked, and not expired. */
export const liveInvitation = and(
  isNull(invitations.acceptedAt),
  isNull(invitations.revokedAt),
  gt(invitations.expiresAt, sql`now()`),
);

/** The inviter of an invitation, as a join alias for `backedByInviter`. */
export const inviter = alias(users, "inviter");

/**
 * Joins `inviter` only while they are an ACTIVE ADMIN of the invitation's workspace: a demoted, deactivated
 * or departed admin's invitations lapse, whichever path changed them.
 */
export const backedByInviter = and(
  eq(inviter.id, invitations.invitedBy),
  eq(inviter.workspaceId, invitations.workspaceId),
  eq(inviter.role, "ADMIN"),
  eq(inviter.status, "ACTIVE"),
);

/** Whether this token names an open, unexpired invitation for this email (a read only; nothing is taken). */
export async function isLiveInvitation(db: DbOrTx, email: string, tokenHash: string): Promise<boolean> {
  const [row] = await db
    .select({ id: invitations.id })
    .from(invitations)
    .where(and(eq(invitations.tokenHash, tokenHash), eq(invitations.email, email), liveInvitation));
  return row !== undefined;
}

/** How an invitation is named when it is taken: by its mailed token, or by id from the invitee's list. */
export type InvitationMatch = { tokenHash: string } | { invitationId: string };

/**
 * The open, unexpired invitation for this email named by `match`, into an ACTIVE workspace and still backed
 * by its inviter (an ACTIVE ADMIN of that workspace: a demoted, deactivated or departed admin's invitations
 * lapse, whichever path changed them) — locked and marked accepted. Null when there is none. An invitation for
 * another email never matches: its token does not prove this mailbox. Never taken by email alone (issue 16):
 * anyone can invite any address into a workspace they name "Target Inc".
 */
export async function takeOpenInvitation(
  tx: Transaction,
  email: string,
  match: InvitationMatch,
): Promise<Assignment | null> {
  const [open] = await tx
    .select({
      id: invitations.id,
      workspaceId: invitations.workspaceId,
      role: invitations.role,
      invitedBy: invitations.invitedBy,
      workspaceName: workspaces.name,
    })
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .innerJoin(inviter, backedByInviter)
    .where(
      and(
        eq(invitations.email, email),
        liveInvitation,
        eq(workspaces.status, "ACTIVE"),
        "tokenHash" in match
          ? eq(invitations.tokenHash, match.tokenHash)
          : eq(invitations.id, match.invitationId),
      ),
    )
    .for("update", { of: invitations });
  if (!open) return null;
  await tx.update(invitations).set({ acceptedAt: sql`now()` }).where(eq(invitations.id, open.id));
  return {
    workspaceId: open.workspaceId,
    workspaceName: open.workspaceName,
    role: open.role,
    via: "invitation",
    workspaceCreated: false,
    invitationId: open.id,
    invitedBy: open.invitedBy,
  };
}
