/**
 * Workspace statistics for admins (API.md "Admin" GET /stats), in exactly two statements whatever the size of
 * the workspace: a snapshot (members by status and role, conversations, messages, active personas) and the
 * 30-day activity with its daily series. Members and lifecycle routes reuse the member services.
 */
import { eq, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { users } from "../../db/schema";
import {
  conversationCount,
  conversationsCreatedSince,
  messageCount,
  userMessagesSince,
} from "../conversations/store/stats";
import type { AdminStatsDto } from "./admin.schemas";

/** The activity window: today (UTC) and the 29 days before it. */
export const ACTIVITY_DAYS = 30;

const int = (expression: ReturnType<typeof sql>) => sql<number>`(${expression})::int`;

export async function workspaceStats(deps: Deps, workspaceId: string): Promise<AdminStatsDto> {
  const statusIs = (status: string) => int(sql`count(*) FILTER (WHERE ${users.status} = ${status})`);
  const roleIs = (role: string) => int(sql`count(*) FILTER (WHERE ${users.role} = ${role})`);

  // Both statements are issued together (one round trip; with readAfterAuth, the session check's).
  // Statement 1: the snapshot. An aggregate without GROUP BY always returns one row.
  const snapshotQuery = deps.db
    .select({
      total: int(sql`count(*)`),
      active: statusIs("ACTIVE"),
      deactivated: statusIs("DEACTIVATED"),
      pendingDeletion: statusIs("PENDING_DELETION"),
      admins: roleIs("ADMIN"),
      members: roleIs("MEMBER"),
      activeAdmins: int(sql`count(*) FILTER (WHERE ${users.role} = 'ADMIN' AND ${users.status} = 'ACTIVE')`),
      // Plain SQL with aliases: drizzle leaves column names unqualified inside a subquery.
      conversations: int(conversationCount(workspaceId)),
      messages: int(messageCount(workspaceId)),
      workspacePersonas: int(sql`(SELECT count(*) FROM personas p
        WHERE p.workspace_id = ${workspaceId} AND p.is_active)`),
      globalPersonas: int(
        sql`(SELECT count(*) FROM personas p WHERE p.workspace_id IS NULL AND p.is_active)`,
      ),
    })
    .from(users)
    .where(eq(users.workspaceId, workspaceId));

  // Statement 2: the window's USER messages once (CTE), counted per day and overall.
  const since = sql`(SELECT since FROM window_start)`;
  const activityQuery = deps.db.execute<{
    since: string;
    messages_sent: number;
    active_members: number;
    conversations_created: number;
    signed_in_members: number;
    new_members: number;
    daily: { date: string; messagesSent: number; activeMembers: number }[];
  }>(sql`
    WITH window_start AS (
      SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - make_interval(days => ${ACTIVITY_DAYS - 1}))
        AT TIME ZONE 'UTC' AS since
    ),
    recent AS (${userMessagesSince(workspaceId, since)}),
    days AS (
      SELECT since + make_interval(days => n) AS day
      FROM window_start, generate_series(0, ${ACTIVITY_DAYS - 1}::int) AS n
    )
    SELECT
      to_char((SELECT since FROM window_start) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS since,
      (SELECT count(*)::int FROM recent) AS messages_sent,
      (SELECT count(DISTINCT author_id)::int FROM recent) AS active_members,
      ${conversationsCreatedSince(workspaceId, since)} AS conversations_created,
      (SELECT count(*)::int FROM users u
        WHERE u.workspace_id = ${workspaceId} AND u.last_login_at >= (SELECT since FROM window_start))
        AS signed_in_members,
      (SELECT count(*)::int FROM users u
        WHERE u.workspace_id = ${workspaceId} AND u.created_at >= (SELECT since FROM window_start))
        AS new_members,
      (SELECT json_agg(json_build_object(
          'date', to_char(d.day AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
          'messagesSent', (SELECT count(*) FROM recent r
            WHERE r.created_at >= d.day AND r.created_at < d.day + interval '1 day'),
          'activeMembers', (SELECT count(DISTINCT r.author_id) FROM recent r
            WHERE r.created_at >= d.day AND r.created_at < d.day + interval '1 day')
        ) ORDER BY d.day) FROM days d) AS daily
  `);
  const [[snapshot], activity] = await Promise.all([snapshotQuery, activityQuery]);
  if (!snapshot) throw new Error("stats snapshot returned nothing");
  const recent = activity.rows[0];
  if (!recent) throw new Error("stats activity returned nothing");

  return {
    members: {
      total: snapshot.total,
      byStatus: {
        ACTIVE: snapshot.active,
        DEACTIVATED: snapshot.deactivated,
        PENDING_DELETION: snapshot.pendingDeletion,
      },
      byRole: { ADMIN: snapshot.admins, MEMBER: snapshot.members },
      activeAdmins: snapshot.activeAdmins,
    },
    conversations: snapshot.conversations,
    messages: snapshot.messages,
    activePersonas: {
      total: snapshot.workspacePersonas + snapshot.globalPersonas,
      workspace: snapshot.workspacePersonas,
      global: snapshot.globalPersonas,
    },
    activity: {
      since: recent.since,
      messagesSent: recent.messages_sent,
      activeMembers: recent.active_members,
      conversationsCreated: recent.conversations_created,
      signedInMembers: recent.signed_in_members,
      newMembers: recent.new_members,
      daily: recent.daily,
    },
  };
}
