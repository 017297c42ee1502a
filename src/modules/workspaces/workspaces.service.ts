import { and, eq, ne, sql } from "drizzle-orm";
import { ApiError } from "../../core/errors";
import type { Transaction } from "../../db/client";
import { type UserRole, type UserStatus, users, type Workspace, workspaces } from "../../db/schema";
import type { WorkspaceSummaryDto } from "./workspaces.schemas";

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
  const others = await otherActiveMembers(tx, workspaceId, user.id);
  if (user.role === "ADMIN" && user.status === "ACTIVE" && others.members > 0 && others.admins === 0) {
    throw new ApiError(
      "LAST_ADMIN",
      "The workspace would be left without an active admin. Promote another member first.",
    );
  }
  return { soleMember: others.members === 0 };
}
