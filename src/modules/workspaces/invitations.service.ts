/**
 * Invitations (API.md "Workspaces" POST /:id/members, /:id/invitations, and POST /api/auth/accept-invitation).
 * Inviting answers the same for every address (no account oracle) except members of this very workspace;
 * a new address registers with the mailed token, an existing account accepts it while signed in.
 */
import { and, asc, desc, eq, gt, inArray, isNull, ne, sql } from "drizzle-orm";
import { hashToken, randomToken } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import { errorFields } from "../../core/logger";
import { enforceRateLimit } from "../../core/rate-limit";
import { lastStatements, type Transaction } from "../../db/client";
import {
  emailDeliveries,
  type Invitation,
  invitations,
  users,
  type Workspace,
  workspaces,
} from "../../db/schema";
import { dispatchEmails, emailRow } from "../../email/outbox";
import type { AuthContext } from "../../middleware/auth";
import { auditInsertFrom, recordAudit } from "../audit/audit.service";
import { signAccessToken } from "../auth/access-token";
import {
  backedByInviter,
  type InvitationMatch,
  inviter,
  liveInvitation,
  takeOpenInvitation,
} from "../auth/workspace-assignment.service";
import { privatiseMovedConversations } from "../conversations/store/lifecycle";
import { movePersonas } from "../personas/personas.service";
import { moveAvatar } from "../users/avatar.service";
import type { InvitationDto, InviteMemberInput } from "./invitations.schemas";
import { toMemberDto } from "./members.service";
import { notFound, toWorkspaceSummaryDto } from "./workspaces.service";

/** CONFIG.md "Lifetimes": invitation 7 days. */
export const INVITATION_TTL_DAYS = 7;

/** Open invitations listed at most (a small fixed list, API.md intro). */
const INVITATION_LIST_LIMIT = 200;

export function toInvitationDto(invitation: Invitation): InvitationDto {
  return {
    id: invitation.id,
    email: invitation.email,
    role: invitation.role,
    invitedBy: invitation.invitedBy,
    expiresAt: invitation.expiresAt.toISOString(),
    createdAt: invitation.createdAt.toISOString(),
  };
}

const isOpen = and(isNull(invitations.acceptedAt), isNull(invitations.revokedAt));

/**
 * Invites an address into the caller's workspace with a role and mails it a link (7 days). 201 for any
 * address — with an account elsewhere or none — so the answer reveals nothing; only a user of THIS workspace
 * is 409 ALREADY_MEMBER. An open invitation for the same address is replaced in place (new token, expiry,
 * role and inviter): the older link stops working. The upsert on the "one open invitation per address"
 * index makes concurrent invitations of one address converge on one row.
 */
export async function inviteMember(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
  input: InviteMemberInput,
): Promise<InvitationDto> {
  const token = randomToken();
  const tokenHash = await hashToken(token);
  const expiresAt = sql`now() + make_interval(days => ${INVITATION_TTL_DAYS})`;
  // Two round trips behind requireAuthForWrite. First (with the session check): the membership check, the
  // names the mail needs and the upsert, which rolls back when the address turns out to be a member or the
  // daily limit is reached (a Durable Object call, no round trip to the database). Then the audit event and
  // the mail's outbox row, together with COMMIT.
  const { invitation, emailIds } = await deps.db.transaction(async (tx) => {
    const [[member], [workspace], [inviter], [row]] = await Promise.all([
      tx
        .select({ status: users.status })
        .from(users)
        .where(and(eq(users.email, input.email), eq(users.workspaceId, auth.workspaceId))),
      tx
        .select({ name: workspaces.name, kind: workspaces.kind })
        .from(workspaces)
        .where(eq(workspaces.id, auth.workspaceId)),
      tx
        .select({ name: users.name })
        .from(users)
        .where(and(eq(users.id, auth.userId), eq(users.workspaceId, auth.workspaceId))),
      tx
        .insert(invitations)
        .values({
          workspaceId: auth.workspaceId,
          email: input.email,
          role: input.role,
          tokenHash,
          invitedBy: auth.userId,
          expiresAt,
        })
        .onConflictDoUpdate({
          target: [invitations.workspaceId, invitations.email],
          targetWhere: isOpen,
          set: { role: input.role, tokenHash, invitedBy: auth.userId, expiresAt, createdAt: sql`now()` },
        })
        // xmax is non-zero on a row the upsert updated: tells a re-invitation from a first one.
        .returning({
          id: invitations.id,
          workspaceId: invitations.workspaceId,
          email: invitations.email,
          role: invitations.role,
          tokenHash: invitations.tokenHash,
          invitedBy: invitations.invitedBy,
          expiresAt: invitations.expiresAt,
          acceptedAt: invitations.acceptedAt,
          revokedAt: invitations.revokedAt,
          createdAt: invitations.createdAt,
          replaced: sql<boolean>`(xmax::text <> '0')`,
        }),
    ]);
    if (member) {
      throw new ApiError(
        "ALREADY_MEMBER",
        member.status === "DEACTIVATED"
          ? "This address belongs to a deactivated member of this workspace; reactivate them instead."
          : "This address already belongs to a member of this workspace.",
      );
    }
    if (!workspace) throw notFound();
    if (!row) throw new Error("invitation upsert returned nothing");
    // Counted once the workspace's kind is known (the upsert above rolls back if refused, so a refused
    // invitation stores nothing): any account is ADMIN of a personal workspace, so those get a tenth.
    await enforceRateLimit(
      deps,
      workspace.kind === "PERSONAL" ? "INVITE_PERSONAL" : "INVITE_WORKSPACE",
      auth.workspaceId,
    );
    const { replaced, ...invitation } = row;

    const mail = await emailRow(deps.config, {
      to: input.email,
      template: "invitation",
      params: { workspaceName: workspace.name, inviterName: inviter?.name ?? null, role: input.role },
      secretParams: { token },
    });
    lastStatements(tx, [
      recordAudit(deps, tx, {
        type: "MEMBER_INVITED",
        workspaceId: auth.workspaceId,
        actorUserId: auth.userId,
        targetType: "invitation",
        targetId: invitation.id,
        data: { via: "inviteWorkspaceMember", email: input.email, role: input.role, replaced },
      }),
      tx.insert(emailDeliveries).values(mail),
    ]);
    return { invitation, emailIds: [mail.id] };
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
  return toInvitationDto(invitation);
}

/** The workspace's invitations that can still be accepted, newest first; never a token. */
export async function listInvitations(deps: Deps, workspaceId: string): Promise<InvitationDto[]> {
  const rows = await deps.db
    .select()
    .from(invitations)
    .where(and(eq(invitations.workspaceId, workspaceId), isOpen, gt(invitations.expiresAt, sql`now()`)))
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(INVITATION_LIST_LIMIT);
  return rows.map(toInvitationDto);
}

/** Revokes an open invitation of the caller's workspace (its link stops working); anything else is 404. */
export async function revokeInvitation(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
  invitationId: string,
): Promise<void> {
  if (!isUuid(invitationId)) throw notFound();
  await deps.db.transaction(async (tx) => {
    const [revoked] = await tx
      .update(invitations)
      .set({ revokedAt: sql`now()` })
      .where(and(eq(invitations.id, invitationId), eq(invitations.workspaceId, auth.workspaceId), isOpen))
      .returning();
    if (!revoked) throw notFound();
    return lastStatements(tx, [
      recordAudit(deps, tx, {
        type: "INVITATION_REVOKED",
        workspaceId: auth.workspaceId,
        actorUserId: auth.userId,
        targetType: "invitation",
        targetId: revoked.id,
        data: { via: "revokeWorkspaceInvitation", email: revoked.email, role: revoked.role },
      }),
    ]);
  });
}

/** Locks workspace rows in id order, so two transactions locking the same pair cannot deadlock. */
async function lockWorkspacesInOrder(tx: Transaction, ids: string[]): Promise<Map<string, Workspace>> {
  const rows = await tx
    .select()
    .from(workspaces)
    .where(inArray(workspaces.id, ids))
    .orderBy(asc(workspaces.id))
    .for("update");
  return new Map(rows.map((row) => [row.id, row]));
}

const invitationNotFound = () =>
  new ApiError("NOT_FOUND", "No open invitation with this id for your address.");

/** By token: 400 INVALID_TOKEN, like any mailed link; by id from the invitee's list: 404 like any foreign id. */
const invalidInvitation = (match: InvitationMatch) =>
  "tokenHash" in match
    ? new ApiError(
        "INVALID_TOKEN",
        "This invitation is invalid, expired, revoked or meant for another address.",
      )
    : invitationNotFound();

/**
 * Moves a signed-in user into the workspace that invited them (API.md POST /api/auth/accept-invitation, and
 * POST /api/users/me/invitations/:id/accept). Only the sole user of a PERSONAL workspace can move, and what
 * they own moves with them (issue 16): conversations with their messages, reactions, attachments, share
 * links and chat runs, their favourites, and the personas they created (deactivated, see movePersonas). Their
 * SHARED conversations become PRIVATE and lose their share links: "shared" meant "with nobody else" in a
 * personal workspace, and must not turn into "with the whole company" by accepting. The emptied personal
 * workspace is then deleted (its audit trail and the invitations it sent go with it). Anyone else is 409
 * ALREADY_IN_WORKSPACE: leaving a company workspace, or one with other (even deactivated) accounts, is not
 * something an invitation can decide.
 *
 * The move is `users.workspace_id` changing: sessions and the conversation tree follow by ON UPDATE CASCADE
 * (migration 0001; those keys are checked at COMMIT, see there), so the refresh token keeps working, and the
 * response carries a fresh access token for the new workspace (the old one names the old workspace and stops
 * working). Both workspace rows are locked first (in id order): nobody can join the personal workspace while
 * it is being emptied, and the inviting one cannot be scheduled for deletion midway. Attachment objects keep
 * their R2 keys (under the old workspace's prefix; rows store the key).
 */
export async function acceptInvitation(deps: Deps, auth: AuthContext, match: InvitationMatch) {
  // Unlocked look-up only to learn which workspace to lock; everything is re-checked under the locks.
  const [candidate] = await deps.db
    .select({ workspaceId: invitations.workspaceId })
    .from(invitations)
    .where(
      and(
        "tokenHash" in match
          ? eq(invitations.tokenHash, match.tokenHash)
          : eq(invitations.id, match.invitationId),
        eq(invitations.email, auth.email),
      ),
    );
  if (!candidate) throw invalidInvitation(match);

  const { user, workspace, previousWorkspaceId, moved } = await deps.db.transaction(async (tx) => {
    const locked = await lockWorkspacesInOrder(tx, [auth.workspaceId, candidate.workspaceId]);
    const current = locked.get(auth.workspaceId);
    const target = locked.get(candidate.workspaceId);
    if (!current) throw new ApiError("UNAUTHENTICATED", "The session has ended. Sign in again.");
    if (!target) throw invalidInvitation(match);

    const invited = await takeOpenInvitation(tx, auth.email, match);
    if (!invited || invited.workspaceId !== target.id) throw invalidInvitation(match);

    if (target.id === current.id) {
      throw new ApiError("ALREADY_IN_WORKSPACE", "You are already a member of this workspace.");
    }
    const [others] = await tx
      .select({ count: sql<number>`count(*)::int` })
      .from(users)
      .where(and(eq(users.workspaceId, current.id), ne(users.id, auth.userId)));
    if (current.kind !== "PERSONAL" || (others?.count ?? 0) > 0) {
      throw new ApiError(
        "ALREADY_IN_WORKSPACE",
        "Your account belongs to a workspace it cannot leave by accepting an invitation. Ask an admin of " +
          "the inviting workspace to invite another address, or leave your workspace first.",
      );
    }

    // The cascading keys are checked at COMMIT: rows reachable by two of them (reactions, attachment links)
    // are half moved in between.
    await tx.execute(sql`SET CONSTRAINTS ALL DEFERRED`);
    const personasMoved = await movePersonas(tx, current.id, target.id);
    // The invitations the user sent from the personal workspace are void with it (and would block the move).
    await tx.delete(invitations).where(eq(invitations.workspaceId, current.id));
    const [movedUser] = await tx
      .update(users)
      .set({ workspaceId: target.id, role: invited.role })
      .where(eq(users.id, auth.userId))
      .returning();
    if (!movedUser) throw new Error("user move returned nothing");
    const privatised = await privatiseMovedConversations(tx, target.id, auth.userId);
    await tx.delete(workspaces).where(eq(workspaces.id, current.id));

    const summary = { ...privatised, personas: personasMoved };
    await recordAudit(deps, tx, {
      type: "INVITATION_ACCEPTED",
      workspaceId: target.id,
      actorUserId: auth.userId,
      targetType: "invitation",
      targetId: invited.invitationId,
      data: {
        via: "tokenHash" in match ? "acceptInvitation" : "acceptMyInvitation",
        role: invited.role,
        invitedBy: invited.invitedBy ?? null,
        moved: summary,
      },
    });
    return { user: movedUser, workspace: target, previousWorkspaceId: current.id, moved: summary };
  });

  deps.log.info("invitation accepted; personal workspace emptied into the new one and deleted", {
    userId: user.id,
    workspaceId: workspace.id,
    previousWorkspaceId,
    ...moved,
  });
  // The user's avatar moves to the new workspace's prefix. Attachments stay where they are: their rows moved
  // and keep pointing at the same objects.
  let avatarKey = user.avatarKey;
  try {
    avatarKey = await moveAvatar(deps, user, workspace.id);
    deps.waitUntil(deleteR2Prefix(deps, `avatars/${previousWorkspaceId}/`));
  } catch (error) {
    // The move is bookkeeping: the user keeps the avatar where it is, and accepting still succeeds.
    deps.log.warn("avatar move failed; kept under the previous prefix", {
      userId: user.id,
      ...errorFields(error),
    });
  }
  const access = await signAccessToken(deps, {
    userId: user.id,
    sessionId: auth.sessionId,
    workspaceId: workspace.id,
    authTime: auth.authTime,
  });
  return {
    message: `Welcome to ${workspace.name}.`,
    user: await toMemberDto(deps, { ...user, avatarKey }),
    workspace: toWorkspaceSummaryDto(workspace),
    accessToken: access.accessToken,
    tokenType: "Bearer" as const,
    expiresIn: access.expiresIn,
  };
}

/**
 * The open invitations addressed to the signed-in user's (verified) email, for them to accept or decline:
 * unexpired, into another ACTIVE workspace, and still backed by an ACTIVE admin there. Each names the
 * inviter's address and the workspace, so that an invitation into a workspace called "Target Inc" from
 * `someone@gmail.com` looks like what it is. `verifiedDomain` stays null until workspaces can prove a domain
 * (the verified-domains issue).
 */
export async function listMyInvitations(deps: Deps, auth: Pick<AuthContext, "email" | "workspaceId">) {
  const rows = await deps.db
    .select({
      id: invitations.id,
      role: invitations.role,
      expiresAt: invitations.expiresAt,
      createdAt: invitations.createdAt,
      workspaceId: workspaces.id,
      workspaceName: workspaces.name,
      workspaceKind: workspaces.kind,
      inviterEmail: inviter.email,
      inviterName: inviter.name,
    })
    .from(invitations)
    .innerJoin(workspaces, eq(workspaces.id, invitations.workspaceId))
    .innerJoin(inviter, backedByInviter)
    .where(
      and(
        eq(invitations.email, auth.email),
        liveInvitation,
        eq(workspaces.status, "ACTIVE"),
        ne(invitations.workspaceId, auth.workspaceId),
      ),
    )
    .orderBy(desc(invitations.createdAt), desc(invitations.id))
    .limit(INVITATION_LIST_LIMIT);
  return rows.map((row) => ({
    id: row.id,
    role: row.role,
    workspace: {
      id: row.workspaceId,
      name: row.workspaceName,
      kind: row.workspaceKind,
      verifiedDomain: null,
    },
    invitedBy: { email: row.inviterEmail, name: row.inviterName },
    expiresAt: row.expiresAt.toISOString(),
    createdAt: row.createdAt.toISOString(),
  }));
}

/**
 * Declines an open invitation addressed to the caller: it is closed (its link stops working) and
 * INVITATION_DECLINED is audited in the inviting workspace. Any other id — another address's, closed, unknown
 * — is 404 alike.
 */
export async function declineInvitation(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "email">,
  invitationId: string,
): Promise<void> {
  if (!isUuid(invitationId)) throw invitationNotFound();
  // One statement: the close and its audit event, or nothing at all.
  const result = await deps.db.execute(sql`
    WITH declined AS (
      UPDATE invitations SET revoked_at = now()
       WHERE id = ${invitationId}::uuid AND email = ${auth.email}
         AND accepted_at IS NULL AND revoked_at IS NULL
      RETURNING id, workspace_id, role
    )
    ${auditInsertFrom(
      deps,
      {
        type: "INVITATION_DECLINED",
        workspaceId: sql`declined.workspace_id`,
        actorUserId: auth.userId,
        targetType: "invitation",
        targetId: sql`declined.id::text`,
        data: sql`jsonb_build_object('via', 'declineMyInvitation', 'role', declined.role)`,
      },
      sql`declined`,
    )}`);
  if (!result.rowCount) throw invitationNotFound();
}

/** Deletes every object under an R2 prefix, in listing pages of up to 1000; failures are only logged. */
async function deleteR2Prefix(deps: Pick<Deps, "env" | "log">, prefix: string): Promise<void> {
  try {
    let cursor: string | undefined;
    do {
      const page = await deps.env.FILES.list({ prefix, cursor, limit: 1000 });
      if (page.objects.length > 0) await deps.env.FILES.delete(page.objects.map((object) => object.key));
      cursor = page.truncated ? page.cursor : undefined;
    } while (cursor);
  } catch (error) {
    deps.log.warn("R2 prefix cleanup failed; the orphan-objects job will retry", {
      prefix,
      ...errorFields(error),
    });
  }
}
