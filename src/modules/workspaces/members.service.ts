/**
 * Members of the caller's workspace (API.md "Workspaces" and "Admin"): the filtered keyset list, one member,
 * and the membership changes — role, status, removal — each serialised by the workspace row lock and judged
 * by the LAST_ADMIN rule. The admin routes call the same functions, so rules and audit names are identical;
 * only `data.via` tells the routes apart.
 */
import { and, asc, desc, eq, ilike, or, type SQL, sql } from "drizzle-orm";
import { cursorTimeText, decodeCursor, pageOf } from "../../core/cursor";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import { lastStatements, type Transaction } from "../../db/client";
import { escapeLike } from "../../db/order";
import { type User, type UserRole, users } from "../../db/schema";
import type { AuthContext } from "../../middleware/auth";
import { auditInsertFrom, recordAudit } from "../audit/audit.service";
import { revokeMemberSessions } from "../auth/sessions.service";
import type { UserDto } from "../users/users.schemas";
import { toSignedUserDto } from "../users/users.service";
import type { ListMembersInput } from "./workspaces.schemas";
import {
  assertAdminRemainsAmong,
  assertStillAdmin,
  lockWorkspace,
  notFound,
  otherActiveMembers,
} from "./workspaces.service";

/** A member as lists and details show it: the user DTO with a signed avatar URL. */
export const toMemberDto = (deps: Pick<Deps, "config">, user: User): Promise<UserDto> =>
  toSignedUserDto(deps, user);

// --- keyset cursor -----------------------------------------------------------------------------------------

/**
 * The sort key of each sort field, as SQL and as the text the cursor carries. `createdAt` travels as ISO
 * text with microseconds formatted by Postgres, so the round trip is exact (a JS Date would drop the
 * microseconds and repeat or skip rows that share a millisecond).
 */
const SORT_KEYS: Record<"name" | "email" | "createdAt", SQL> = {
  name: sql`lower(coalesce(${users.name}, ${users.email}))`,
  email: sql`${users.email}`,
  createdAt: sql`${users.createdAt}`,
};
const SORT_KEY_TEXT: Record<"name" | "email" | "createdAt", SQL<string>> = {
  name: sql<string>`lower(coalesce(${users.name}, ${users.email}))`,
  email: sql<string>`${users.email}`,
  createdAt: cursorTimeText(users.createdAt),
};

export type MemberPage = { items: UserDto[]; nextCursor: string | null };

/**
 * One page of the workspace's users (verified ones: every user with this workspace id), filtered and sorted,
 * by keyset: `(key, id)` after the cursor's — no OFFSET, so a page costs the same wherever it is.
 */
export async function listMembers(
  deps: Deps,
  workspaceId: string,
  input: ListMembersInput,
): Promise<MemberPage> {
  const descending = input.sort.startsWith("-");
  const field = (descending ? input.sort.slice(1) : input.sort) as keyof typeof SORT_KEYS;
  const key = SORT_KEYS[field];
  const cursor = input.cursor
    ? decodeCursor(input.cursor, { key: field === "createdAt" ? "timestamp" : "text", sort: input.sort })
    : null;
  const cast = field === "createdAt" ? sql`::timestamptz` : sql``;

  const conditions: (SQL | undefined)[] = [eq(users.workspaceId, workspaceId)];
  if (input.status) conditions.push(eq(users.status, input.status));
  if (input.role) conditions.push(eq(users.role, input.role));
  if (input.search) {
    const pattern = `%${escapeLike(input.search)}%`;
    conditions.push(or(ilike(users.name, pattern), ilike(users.email, pattern)));
  }
  if (cursor) {
    conditions.push(
      descending
        ? sql`(${key}, ${users.id}) < (${cursor.k}${cast}, ${cursor.i}::uuid)`
        : sql`(${key}, ${users.id}) > (${cursor.k}${cast}, ${cursor.i}::uuid)`,
    );
  }
  const order = descending ? [desc(key), desc(users.id)] : [asc(key), asc(users.id)];
  const rows = await deps.db
    .select({ user: users, sortKey: SORT_KEY_TEXT[field] })
    .from(users)
    .where(and(...conditions))
    .orderBy(...order)
    .limit(input.limit + 1);

  const { page, nextCursor } = pageOf(rows, input.limit, (last) => ({
    s: input.sort,
    k: last.sortKey,
    i: last.user.id,
  }));
  return { items: await Promise.all(page.map((row) => toMemberDto(deps, row.user))), nextCursor };
}

/** One user of the caller's workspace; another workspace's id, or none, is the same 404. */
export async function getMember(deps: Deps, workspaceId: string, userId: string): Promise<UserDto> {
  if (!isUuid(userId)) throw notFound();
  const [user] = await deps.db
    .select()
    .from(users)
    .where(and(eq(users.id, userId), eq(users.workspaceId, workspaceId)));
  if (!user) throw notFound();
  return toMemberDto(deps, user);
}

// --- membership changes ------------------------------------------------------------------------------------

export type MemberChange = { role?: UserRole; status?: "ACTIVE" | "DEACTIVATED" };

type Actor = Pick<AuthContext, "userId" | "workspaceId">;

/**
 * Everything a membership change decides on, in one flight (the first, beside the session check behind
 * requireAuthForWrite): the workspace lock, the acting admin re-read, the target member locked (404 unless it
 * is a user of this workspace) and the other ACTIVE members. Postgres runs them in this order, so all but
 * the lock are read under it. `revokeSessions` also revokes the target's sessions in that flight: only when
 * the change deactivates, and undone with the rest when a rule refuses it.
 */
async function readForChange(tx: Transaction, auth: Actor, userId: string, revokeSessions?: string) {
  if (!isUuid(userId)) throw notFound();
  const [, , [target], others, revoked] = await Promise.all([
    lockWorkspace(tx, auth.workspaceId),
    assertStillAdmin(tx, auth),
    tx
      .select()
      .from(users)
      .where(and(eq(users.id, userId), eq(users.workspaceId, auth.workspaceId)))
      .for("update"),
    otherActiveMembers(tx, auth.workspaceId, userId),
    revokeSessions ? revokeMemberSessions(tx, auth.workspaceId, userId, revokeSessions) : undefined,
  ]);
  if (!target) throw notFound();
  return { target, others, sessionsRevoked: revoked?.length ?? 0 };
}

/**
 * The statement that revokes the open invitations `inviter` sent, once they stop being an ACTIVE ADMIN
 * (demoted, deactivated, removed), with one INVITATION_REVOKED event listing them — none when there were
 * none. Accepting re-checks the inviter anyway (`takeOpenInvitation`), which also covers the paths that do
 * not come through here (self-deactivation, account deletion); this keeps the admins' list honest.
 */
function revokeInvitationsSentBy(deps: Deps, tx: Transaction, actor: Actor, inviterId: string, via: string) {
  return tx.execute(sql`
    WITH revoked AS (
      UPDATE invitations SET revoked_at = now()
       WHERE workspace_id = ${actor.workspaceId}::uuid AND invited_by = ${inviterId}::uuid
         AND accepted_at IS NULL AND revoked_at IS NULL
      RETURNING id
    )
    ${auditInsertFrom(
      deps,
      {
        type: "INVITATION_REVOKED",
        workspaceId: actor.workspaceId,
        actorUserId: actor.userId,
        targetType: "user",
        targetId: inviterId,
        data: sql`jsonb_build_object('via', ${via}::text, 'reason', 'inviter_no_longer_admin',
          'invitations', s.ids)`,
      },
      sql`(SELECT jsonb_agg(id) AS ids FROM revoked) s WHERE s.ids IS NOT NULL`,
    )}`);
}

/** Refuses to touch the status of an account its owner scheduled for deletion (only they can cancel it). */
function assertStatusChangeable(target: User) {
  if (target.status === "PENDING_DELETION") {
    throw new ApiError(
      "CONFLICT",
      "This account is scheduled for deletion by its owner; only they can cancel it (POST /api/auth/cancel-deletion).",
    );
  }
}

/**
 * Changes a member's role and/or status. Demoting or deactivating the last ACTIVE admin while other members
 * remain is 409 LAST_ADMIN (judged under the workspace lock, so concurrent requests cannot both pass).
 * Deactivation revokes every session at once. One audit event per effective change: ROLE_CHANGED,
 * DEACTIVATE_ACCOUNT, REACTIVATE_ACCOUNT, each with `data.via` naming the route. Unchanged values are no-ops.
 * Two round trips: `readForChange`, then the update and its audit events together with COMMIT.
 */
export async function updateMember(
  deps: Deps,
  auth: Actor,
  userId: string,
  change: MemberChange,
  via: string,
): Promise<UserDto> {
  const deactivating = change.status === "DEACTIVATED";
  const outcome = await deps.db.transaction(async (tx) => {
    const { target, others, sessionsRevoked } = await readForChange(
      tx,
      auth,
      userId,
      deactivating ? "deactivated_by_admin" : undefined,
    );
    const role = change.role ?? target.role;
    let status = target.status;
    if (change.status !== undefined && change.status !== target.status) {
      assertStatusChangeable(target);
      status = change.status;
    }
    if (role === target.role && status === target.status) return { unchanged: target };

    const staysActiveAdmin = role === "ADMIN" && status === "ACTIVE";
    if (!staysActiveAdmin) assertAdminRemainsAmong(others, target);

    const event = {
      workspaceId: auth.workspaceId,
      actorUserId: auth.userId,
      targetType: "user",
      targetId: target.id,
    };
    const audits = [];
    if (role !== target.role) {
      audits.push(
        recordAudit(deps, tx, { ...event, type: "ROLE_CHANGED", data: { via, from: target.role, to: role } }),
      );
    }
    if (status === "DEACTIVATED" && target.status !== "DEACTIVATED") {
      audits.push(
        recordAudit(deps, tx, { ...event, type: "DEACTIVATE_ACCOUNT", data: { via, sessionsRevoked } }),
      );
    } else if (status === "ACTIVE" && target.status !== "ACTIVE") {
      audits.push(recordAudit(deps, tx, { ...event, type: "REACTIVATE_ACCOUNT", data: { via } }));
    }
    if (target.role === "ADMIN" && !staysActiveAdmin) {
      audits.push(revokeInvitationsSentBy(deps, tx, auth, target.id, via));
    }
    return lastStatements(tx, [
      tx.update(users).set({ role, status }).where(eq(users.id, target.id)).returning(),
      ...audits,
    ]);
  });
  const updated = "unchanged" in outcome ? outcome.unchanged : (await outcome.results)[0][0];
  if (!updated) throw new Error("member update returned nothing");
  return toMemberDto(deps, updated);
}

/**
 * Removes a member from the workspace: DEACTIVATED and every session revoked, MEMBER_REMOVED audited (the
 * LAST_ADMIN rule applies). Removing an already deactivated member changes nothing. Two round trips, like
 * `updateMember`.
 */
export async function removeMember(deps: Deps, auth: Actor, userId: string): Promise<void> {
  const outcome = await deps.db.transaction(async (tx) => {
    const { target, others, sessionsRevoked } = await readForChange(tx, auth, userId, "removed_by_admin");
    if (target.status === "DEACTIVATED") return null; // a deactivated member has no live session either
    assertStatusChangeable(target);
    assertAdminRemainsAmong(others, target);
    return lastStatements(tx, [
      tx.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, target.id)),
      recordAudit(deps, tx, {
        type: "MEMBER_REMOVED",
        workspaceId: auth.workspaceId,
        actorUserId: auth.userId,
        targetType: "user",
        targetId: target.id,
        data: { via: "removeWorkspaceMember", role: target.role, sessionsRevoked },
      }),
      ...(target.role === "ADMIN"
        ? [revokeInvitationsSentBy(deps, tx, auth, target.id, "removeWorkspaceMember")]
        : []),
    ]);
  });
  await outcome?.results;
}
