import { is, SQL, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { newId } from "../../core/ids";
import type { DbOrTx } from "../../db/client";
import { type ActorType, auditEvents, type NewAuditEvent } from "../../db/schema";

/** Every audit event name of API.md; one name per action whatever the route (`data.via` names the route). */
export const AUDIT_EVENTS = [
  "REGISTER",
  "VERIFY_EMAIL",
  "LOGIN_SUCCESS",
  "LOGIN_FAILED",
  "LOGOUT",
  "REFRESH_TOKEN",
  "REQUEST_PASSWORD_RESET",
  "RESET_PASSWORD",
  "CHANGE_PASSWORD",
  "DEACTIVATE_ACCOUNT",
  "REACTIVATE_ACCOUNT",
  "ROLE_CHANGED",
  "SESSION_REVOKED",
  "ACCOUNT_LOCKED",
  "ACCOUNT_UNLOCKED",
  "PROFILE_UPDATED",
  "AVATAR_UPLOADED",
  "WORKSPACE_UPDATED",
  "MEMBER_REMOVED",
  "WORKSPACE_DELETION_REQUESTED",
  "PERSONA_FAVOURITED",
  "PERSONA_UNFAVOURITED",
  "CHAT_MESSAGE_SENT",
  "WEBHOOK_FAILED",
  "WEBHOOK_SUCCESS",
  "WEBHOOK_SIGNATURE_INVALID",
  "CONVERSATION_VISIBILITY_CHANGED",
  "CONVERSATION_ARCHIVED",
  "CONVERSATION_TITLE_UPDATED",
  "MESSAGE_EDITED",
  "FILE_UPLOADED",
  "REACTION_ADDED",
  "SHARED_LINK_CREATED",
  "SHARED_LINK_ACCESSED",
  "REFRESH_TOKEN_REUSE",
  "ACCOUNT_DELETION_REQUESTED",
  "WORKSPACE_CREATED",
  "MEMBER_INVITED",
  "INVITATION_ACCEPTED",
  "INVITATION_REVOKED",
  "INVITATION_DECLINED",
  "WORKSPACE_DELETION_CANCELLED",
  "PERSONA_CREATED",
  "PERSONA_UPDATED",
  "TRAITS_UPDATED",
  "SIGNING_KEY_ROTATED",
  "SHARED_LINK_REVOKED",
  "CONVERSATION_CREATED",
  "CONVERSATION_DELETED",
  "REACTION_REMOVED",
  "MESSAGE_RETRIED",
  "OAUTH_LINKED",
  "JOB_RUN",
] as const;
export type AuditEventType = (typeof AUDIT_EVENTS)[number];

/** An id that only the statement knows yet: a column of the source CTE of `auditInsertFrom` (`sql\`s.user_id\``). */
type StatementId = SQL;

type AuditFields<Id extends string | StatementId> = {
  type: AuditEventType;
  workspaceId: Id | null;
  actorUserId?: Id | null;
  /** Defaults to USER when an actor id is given, else ANONYMOUS. */
  actorType?: ActorType;
  targetType?: string;
  targetId?: Id;
  /** Never tokens, passwords, secrets or message content. */
  data?: Record<string, unknown>;
};
export type AuditInput = AuditFields<string>;

export type AuditDeps = Pick<Deps, "traceId" | "clientIp" | "userAgent">;

/** The row of one audit event: the input plus the request's IP, user agent and trace id. */
function auditRow<Id extends string | StatementId>(deps: AuditDeps, input: AuditFields<Id>) {
  return {
    id: newId(),
    workspaceId: input.workspaceId,
    actorUserId: input.actorUserId ?? null,
    actorType: input.actorType ?? (input.actorUserId ? "USER" : "ANONYMOUS"),
    eventType: input.type,
    targetType: input.targetType ?? null,
    targetId: input.targetId ?? null,
    data: input.data ?? {},
    // Jobs and other system work have no client: no IP rather than a made-up one.
    ip: deps.clientIp || null,
    userAgent: deps.userAgent ?? null,
    traceId: deps.traceId ?? null,
  };
}

/**
 * Writes one audit event with the request's IP, user agent and trace id. Pass the transaction as `db` when
 * the audited change runs in one, so the event commits (or rolls back) with it.
 */
export function recordAudit(deps: AuditDeps, db: DbOrTx, input: AuditInput) {
  // The statement itself (a thenable: `await` runs it), so it can also be one of `lastStatements`.
  return db.insert(auditEvents).values(auditRow(deps, input) satisfies NewAuditEvent);
}

/**
 * The same event as an `INSERT … SELECT … FROM <source>` for a single-statement write (a data-modifying CTE):
 * one row per row of `source` — none when the statement's guard CTE matched nothing. The workspace, actor and
 * target ids may be columns of `source`.
 */
export function auditInsertFrom(
  deps: AuditDeps,
  input: Omit<AuditFields<string | StatementId>, "data"> & { data?: Record<string, unknown> | SQL },
  source: SQL,
): SQL {
  // `data` may be a jsonb expression over `source` when the statement alone knows it (e.g. links revoked).
  const { data, ...fields } = input;
  const row = auditRow(deps, { ...fields, data: is(data, SQL) ? {} : data });
  const dataSql = is(data, SQL) ? data : sql`${JSON.stringify(row.data)}::jsonb`;
  return sql`INSERT INTO audit_events (id, workspace_id, actor_user_id, actor_type, event_type, target_type,
      target_id, data, ip, user_agent, trace_id)
    SELECT ${row.id}::uuid, ${row.workspaceId}::uuid, ${row.actorUserId}::uuid, ${row.actorType}::actor_type,
      ${row.eventType}, ${row.targetType}, ${row.targetId}, ${dataSql}, ${row.ip}::inet,
      ${row.userAgent}, ${row.traceId}
    FROM ${source}`;
}
