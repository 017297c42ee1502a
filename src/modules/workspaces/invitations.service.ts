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
import { lastStatements, type Transaction } from "../../db/client";
import {
  emailDeliveries,
  type Invitation,
  invitations,
  personaFavourites,
  users,
  type Workspace,
  workspaces,
} from "../../db/schema";
import { dispatchEmails, emailRow } from "../../email/outbox";
import type { AuthContext } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import { signAccessToken } from "../auth/access-token";
import { takeOpenInvitation } from "../auth/workspace-assignment.service";
import { deleteWorkspaceConversations } from "../conversations/store/lifecycle";
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
  // names the mail needs and the upsert, which rolls back when the address turns out to be a member. Then the
  // audit event and the mail's outbox row, together with COMMIT.
  const { invitation, emailIds } = await deps.db.transaction(async (tx) => {
    const [[member], [workspace], [inviter], [row]] = await Promise.all([
      tx
        .select({ status: users.status })
        .from(users)
        .where(and(eq(users.email, input.email), eq(users.workspaceId, auth.workspaceId))),
      tx.select({ name: workspaces.name }).from(workspaces).where(eq(workspaces.id, auth.workspaceId)),
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

const invalidInvitation = () =>
  new ApiError("INVALID_TOKEN", "This invitation is invalid, expired, revoked or meant for another address.");

/**
 * Moves a signed-in user into the workspace that invited them (API.md POST /api/auth/accept-invitation).
 * Only the sole user of a PERSONAL workspace can move: that workspace and what is in it (its conversations,
 * favourites, invitations, personas, audit trail) are deleted, because a workspace without users could never
 * be administered again. Anyone else is 409 ALREADY_IN_WORKSPACE: leaving a company workspace, or one with
 * other (even deactivated) accounts, is not something an invitation can decide.
 *
 * The move is `users.workspace_id` changing; sessions follow by ON UPDATE CASCADE, so the refresh token keeps
 * working, and the response carries a fresh access token for the new workspace (the old one names the old
 * workspace and stops working). Both workspace rows are locked first (in id order): nobody can join the
 * personal workspace while it is being deleted, and the inviting one cannot be scheduled for deletion midway.
 */
export async function acceptInvitation(deps: Deps, auth: AuthContext, token: string) {
  const tokenHash = await hashToken(token);
  // Unlocked look-up only to learn which workspace to lock; everything is re-checked under the locks.
  const [candidate] = await deps.db
    .select({ workspaceId: invitations.workspaceId })
    .from(invitations)
    .where(and(eq(invitations.tokenHash, tokenHash), eq(invitations.email, auth.email)));
  if (!candidate) throw invalidInvitation();

  const { user, workspace, previousWorkspaceId } = await deps.db.transaction(async (tx) => {
    const locked = await lockWorkspacesInOrder(tx, [auth.workspaceId, candidate.workspaceId]);
    const current = locked.get(auth.workspaceId);
    const target = locked.get(candidate.workspaceId);
    if (!current) throw new ApiError("UNAUTHENTICATED", "The session has ended. Sign in again.");
    if (!target) throw invalidInvitation();

    const invited = await takeOpenInvitation(tx, auth.email, tokenHash);
    if (!invited || invited.workspaceId !== target.id) throw invalidInvitation();

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

    // Rows that reference the user together with the old workspace id (composite FKs without ON UPDATE
    // CASCADE) must go before the move; deleting conversations cascades to their messages, reactions,
    // files and share links. The rest of the workspace goes with its row below.
    await deleteWorkspaceConversations(tx, current.id);
    await tx.delete(personaFavourites).where(eq(personaFavourites.workspaceId, current.id));
    await tx.delete(invitations).where(eq(invitations.workspaceId, current.id));
    const [moved] = await tx
      .update(users)
      .set({ workspaceId: target.id, role: invited.role })
      .where(eq(users.id, auth.userId))
      .returning();
    if (!moved) throw new Error("user move returned nothing");
    await tx.delete(workspaces).where(eq(workspaces.id, current.id));

    await recordAudit(deps, tx, {
      type: "INVITATION_ACCEPTED",
      workspaceId: target.id,
      actorUserId: auth.userId,
      targetType: "invitation",
      targetId: invited.invitationId,
      data: { via: "acceptInvitation", role: invited.role, invitedBy: invited.invitedBy ?? null },
    });
    return { user: moved, workspace: target, previousWorkspaceId: current.id };
  });

  deps.log.info("invitation accepted; personal workspace deleted", {
    userId: user.id,
    workspaceId: workspace.id,
    previousWorkspaceId,
  });
  // The user's avatar moves to the new workspace's prefix; what is left under the deleted workspace's two
  // prefixes has no rows any more (the weekly orphan-objects job would find it, but nothing needs it now).
  let avatarKey = user.avatarKey;
  const cleanups = [deleteR2Prefix(deps, `attachments/${previousWorkspaceId}/`)];
  try {
    avatarKey = await moveAvatar(deps, user, workspace.id);
    cleanups.push(deleteR2Prefix(deps, `avatars/${previousWorkspaceId}/`));
  } catch (error) {
    // The move is bookkeeping: the user keeps the avatar where it is, and accepting still succeeds.
    deps.log.warn("avatar move failed; kept under the previous prefix", {
      userId: user.id,
      ...errorFields(error),
    });
  }
  deps.waitUntil(Promise.all(cleanups));
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
