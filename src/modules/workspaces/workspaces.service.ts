/**
 * The caller's workspace (API.md "Workspaces"): details, settings, the LAST_ADMIN rule shared by every
 * membership change, and the workspace's deletion request (30-day grace) and its cancellation.
 */
import { and, eq, ne, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { lastStatements, type Transaction } from "../../db/client";
import { rawRows, rowDate } from "../../db/raw";
import {
  emailDeliveries,
  type User,
  type UserRole,
  type UserStatus,
  users,
  type Workspace,
  workspaces,
} from "../../db/schema";
import { dispatchEmails, emailRow } from "../../email/outbox";
import type { AuthContext } from "../../middleware/auth";
import { recordAudit } from "../audit/audit.service";
import type { UpdateWorkspaceInput, WorkspaceDto, WorkspaceSummaryDto } from "./workspaces.schemas";

/**
 * The one 404 of this module and the admin routes: the path check (`ownWorkspace`) and every service answer
 * a foreign, unknown or malformed id with this same body, so no two cases can be told apart.
 */
export const notFound = () => new ApiError("NOT_FOUND", "Not found.");

/** CONFIG.md "Lifetimes": deletion grace 30 days (accounts and workspaces). */
export const WORKSPACE_DELETION_GRACE_DAYS = 30;

export function toWorkspaceSummaryDto(workspace: Workspace): WorkspaceSummaryDto {
  return {
    id: workspace.id,
    name: workspace.name,
    kind: workspace.kind,
    domain: workspace.domain,
    joinPolicy: workspace.joinPolicy,
    status: workspace.status,
    timezone: workspace.timezone,
    locale: workspace.locale,
  };
}

export function toWorkspaceDto(workspace: Workspace, memberCount: number): WorkspaceDto {
  return {
    ...toWorkspaceSummaryDto(workspace),
    memberCount,
    deletionRequestedAt: workspace.deletionRequestedAt?.toISOString() ?? null,
    purgeAfter: workspace.purgeAfter?.toISOString() ?? null,
    createdAt: workspace.createdAt.toISOString(),
  };
}

/**
 * Serialises membership changes of one workspace (role, status, removal, self-deactivation, deletion): every
 * such transaction locks the workspace row first, so two admins demoting each other concurrently are judged
 * one after the other and exactly one ADMIN remains. A row lock, not an advisory lock: Hyperdrive pools
 * transactions, so session-level locks are unavailable (STACK.md).
 */
export async function lockWorkspace(tx: Transaction, workspaceId: string): Promise<Workspace> {
  const [workspace] = await tx.select().from(workspaces).where(eq(workspaces.id, workspaceId)).for("update");
  if (!workspace) throw new ApiError("NOT_FOUND", "No such workspace.");
  return workspace;
}

/**
 * Re-reads the acting admin inside a transaction that holds the workspace lock: the request passed
 * `requireAdmin` before the lock, and a concurrent change may since have demoted or deactivated it. Acting on
 * that stale authority is refused with 403, like any caller below the role.
 */
export async function assertStillAdmin(
  tx: Transaction,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
): Promise<User> {
  const [actor] = await tx
    .select()
    .from(users)
    .where(and(eq(users.id, auth.userId), eq(users.workspaceId, auth.workspaceId)));
  if (actor?.status !== "ACTIVE" || actor.role !== "ADMIN") {
    throw new ApiError("FORBIDDEN", "Workspace administrators only.");
  }
  return actor;
}

/** ACTIVE users of the workspace other than `userId`, and how many of them are ADMINs. */
export async function otherActiveMembers(tx: Transaction, workspaceId: string, userId: string) {
  const [counts] = await tx
    .select({
      members: sql<number>`count(*)::int`,
      admins: sql<number>`(count(*) FILTER (WHERE ${users.role} = 'ADMIN'))::int`,
    })
    .from(users)
    .where(and(eq(users.workspaceId, workspaceId), eq(users.status, "ACTIVE"), ne(users.id, userId)));
  return { members: counts?.members ?? 0, admins: counts?.admins ?? 0 };
}

/**
 * The LAST_ADMIN rule (API.md): an ACTIVE ADMIN may not stop being one (demotion, deactivation, removal,
 * deletion) while other ACTIVE members exist and none of them is an ADMIN. A sole member may leave.
 * Call with the workspace locked (`lockWorkspace`). Returns whether the user is the sole ACTIVE member.
 */
export async function assertAdminRemains(
  tx: Transaction,
  workspaceId: string,
  user: { id: string; role: UserRole; status: UserStatus },
): Promise<{ soleMember: boolean }> {
  return assertAdminRemainsAmong(await otherActiveMembers(tx, workspaceId, user.id), user);
}

/** `assertAdminRemains` on counts already read (`otherActiveMembers`, under the workspace lock). */
export function assertAdminRemainsAmong(
  others: { members: number; admins: number },
  user: { role: UserRole; status: UserStatus },
): { soleMember: boolean } {
  if (user.role === "ADMIN" && user.status === "ACTIVE" && others.members > 0 && others.admins === 0) {
    throw new ApiError(
      "LAST_ADMIN",
      "The workspace would be left without an active admin. Promote another member first.",
    );
  }
  return { soleMember: others.members === 0 };
}

// Plain SQL with an alias: drizzle leaves column names unqualified in a subquery, where they would bind to
// the wrong table.
const activeMemberCount = (workspaceId: string) =>
  sql<number>`(SELECT count(*)::int FROM users u WHERE u.workspace_id = ${workspaceId} AND u.status = 'ACTIVE')`;

/** The caller's workspace with its ACTIVE member count, in one query. */
export async function getWorkspace(deps: Deps, auth: AuthContext): Promise<WorkspaceDto> {
  const [row] = await deps.db
    .select({ workspace: workspaces, memberCount: activeMemberCount(auth.workspaceId) })
    .from(workspaces)
    .where(eq(workspaces.id, auth.workspaceId));
  if (!row) throw notFound();
  return toWorkspaceDto(row.workspace, row.memberCount);
}

/**
 * Changes the workspace's settings; WORKSPACE_UPDATED records each changed field's old and new value. Two
 * round trips behind requireAuthForWrite: the lock (with the session check), then the update, its audit and
 * the member count together with COMMIT.
 */
export async function updateWorkspace(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
  input: UpdateWorkspaceInput,
): Promise<WorkspaceDto> {
  const outcome = await deps.db.transaction(async (tx) => {
    const before = await lockWorkspace(tx, auth.workspaceId);
    const changes: Record<string, { from: string; to: string }> = {};
    for (const field of ["name", "timezone", "locale", "joinPolicy"] as const) {
      const to = input[field];
      if (to !== undefined && to !== before[field]) changes[field] = { from: before[field], to };
    }
    if (Object.keys(changes).length === 0) {
      return { before, last: lastStatements(tx, [memberCount(tx, auth.workspaceId)]) };
    }
    return {
      before,
      last: lastStatements(tx, [
        memberCount(tx, auth.workspaceId),
        tx
          .update(workspaces)
          .set({
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(input.timezone !== undefined ? { timezone: input.timezone } : {}),
            ...(input.locale !== undefined ? { locale: input.locale } : {}),
            ...(input.joinPolicy !== undefined ? { joinPolicy: input.joinPolicy } : {}),
          })
          .where(eq(workspaces.id, auth.workspaceId))
          .returning(),
        recordAudit(deps, tx, {
          type: "WORKSPACE_UPDATED",
          workspaceId: auth.workspaceId,
          actorUserId: auth.userId,
          targetType: "workspace",
          targetId: auth.workspaceId,
          data: { via: "updateWorkspace", changes },
        }),
      ]),
    };
  });
  const [[count], updated] = await outcome.last.results;
  return toWorkspaceDto(updated?.[0] ?? outcome.before, count?.memberCount ?? 0);
}

/** The workspace's ACTIVE member count (a statement: issue it with others). */
function memberCount(tx: Transaction, workspaceId: string) {
  return tx
    .select({ memberCount: activeMemberCount(workspaceId) })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
}

/**
 * Schedules the workspace's purge after the grace period: PENDING_DELETION (read-only for everyone until an
 * admin cancels, enforced by `requireAuth`), and a mail to every ACTIVE admin. Sessions stay valid so admins
 * can still read and cancel. Two round trips behind requireAuthForWrite: the lock, the admin re-read, the
 * admins to mail and the purge date (with the session check), then the schedule, its audit and the mails
 * together with COMMIT.
 */
export async function requestWorkspaceDeletion(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
  reason: string | undefined,
): Promise<{ purgeAfter: string }> {
  // now() is the transaction's start in every statement of it: the date read first is the one the update sets.
  const purgeAfterSql = sql`now() + make_interval(days => ${WORKSPACE_DELETION_GRACE_DAYS})`;
  const { purgeAfter, emailIds } = await deps.db.transaction(async (tx) => {
    // Read after the lock in the same flight, so they are judged with the workspace locked.
    const [workspace, , admins, [schedule]] = await Promise.all([
      lockWorkspace(tx, auth.workspaceId),
      assertStillAdmin(tx, auth),
      tx
        .select({ email: users.email, name: users.name })
        .from(users)
        .where(
          and(eq(users.workspaceId, auth.workspaceId), eq(users.status, "ACTIVE"), eq(users.role, "ADMIN")),
        ),
      rawRows<{ purge_after: Date | string }>(tx, sql`SELECT ${purgeAfterSql} AS purge_after`),
    ]);
    if (workspace.status === "PENDING_DELETION") {
      throw new ApiError("WORKSPACE_PENDING_DELETION", "This workspace is already scheduled for deletion.");
    }
    if (!schedule) throw new Error("the purge date query returned nothing");
    const purgeAfter = rowDate(schedule.purge_after);
    const mails = await Promise.all(
      admins.map((admin) =>
        emailRow(deps.config, {
          to: admin.email,
          template: "workspace-deletion-scheduled",
          params: {
            name: admin.name,
            workspaceName: workspace.name,
            purgeAfter: purgeAfter.toISOString(),
            reason: reason ?? null,
          },
        }),
      ),
    );
    lastStatements(tx, [
      tx
        .update(workspaces)
        .set({
          status: "PENDING_DELETION",
          deletionRequestedAt: sql`now()`,
          deletionRequestedBy: auth.userId,
          deletionReason: reason ?? null,
          purgeAfter: purgeAfterSql,
        })
        .where(eq(workspaces.id, workspace.id)),
      recordAudit(deps, tx, {
        type: "WORKSPACE_DELETION_REQUESTED",
        workspaceId: workspace.id,
        actorUserId: auth.userId,
        targetType: "workspace",
        targetId: workspace.id,
        data: {
          via: "requestWorkspaceDeletion",
          purgeAfter: purgeAfter.toISOString(),
          reason: reason ?? null,
        },
      }),
      ...(mails.length ? [tx.insert(emailDeliveries).values(mails)] : []),
    ]);
    return { purgeAfter, emailIds: mails.map((mail) => mail.id) };
  });
  await dispatchEmails(deps.env, deps.log, emailIds);
  return { purgeAfter: purgeAfter.toISOString() };
}

/**
 * Brings a PENDING_DELETION workspace back to ACTIVE; on an ACTIVE workspace it changes nothing. Two round
 * trips behind requireAuthForWrite: the lock and the admin re-read (with the session check), then the
 * restore, its audit and the member count together with COMMIT.
 */
export async function cancelWorkspaceDeletion(
  deps: Deps,
  auth: Pick<AuthContext, "userId" | "workspaceId">,
): Promise<WorkspaceDto> {
  const outcome = await deps.db.transaction(async (tx) => {
    // The admin re-read waits behind the lock in the same flight: it is judged with the workspace locked.
    const [workspace] = await Promise.all([lockWorkspace(tx, auth.workspaceId), assertStillAdmin(tx, auth)]);
    if (workspace.status !== "PENDING_DELETION") {
      return { workspace, last: lastStatements(tx, [memberCount(tx, auth.workspaceId)]) };
    }
    return {
      workspace,
      last: lastStatements(tx, [
        memberCount(tx, auth.workspaceId),
        tx
          .update(workspaces)
          .set({
            status: "ACTIVE",
            deletionRequestedAt: null,
            deletionRequestedBy: null,
            deletionReason: null,
            purgeAfter: null,
          })
          .where(eq(workspaces.id, workspace.id))
          .returning(),
        recordAudit(deps, tx, {
          type: "WORKSPACE_DELETION_CANCELLED",
          workspaceId: workspace.id,
          actorUserId: auth.userId,
          targetType: "workspace",
          targetId: workspace.id,
          data: { via: "cancelWorkspaceDeletion" },
        }),
      ]),
    };
  });
  const [[count], restored] = await outcome.last.results;
  return toWorkspaceDto(restored?.[0] ?? outcome.workspace, count?.memberCount ?? 0);
}
