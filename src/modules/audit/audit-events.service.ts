/**
 * Reading the audit trail (GET /api/admin/audit-events): a keyset-paginated list and a streamed NDJSON export.
 * Both read only the caller's workspace and order by (created_at DESC, id DESC), which the
 * `audit_events_workspace_created_idx` index serves directly.
 */
import { and, eq, type SQL, sql } from "drizzle-orm";
import { type Cursor, cursorTimeText, decodeCursor, pageOf } from "../../core/cursor";
import type { Deps } from "../../core/deps";
import { errorFields } from "../../core/logger";
import { createDb, type DbOrTx } from "../../db/client";
import { newestFirst } from "../../db/order";
import { type AuditEvent, auditEvents } from "../../db/schema";
import type { AuditEventDto, ListAuditEventsInput } from "./audit.schemas";

/** Rows per query of the NDJSON export: bounded memory whatever the trail's size. */
export const AUDIT_EXPORT_BATCH = 500;

type Filters = Pick<ListAuditEventsInput, "type" | "actor" | "from" | "to">;

const columns = {
  id: auditEvents.id,
  workspaceId: auditEvents.workspaceId,
  eventType: auditEvents.eventType,
  actorType: auditEvents.actorType,
  actorUserId: auditEvents.actorUserId,
  targetType: auditEvents.targetType,
  targetId: auditEvents.targetId,
  data: auditEvents.data,
  ip: auditEvents.ip,
  userAgent: auditEvents.userAgent,
  traceId: auditEvents.traceId,
  createdAt: auditEvents.createdAt,
  cursorTime: cursorTimeText(auditEvents.createdAt),
};
type Row = AuditEvent & { cursorTime: string };

export function toAuditEventDto(row: AuditEvent): AuditEventDto {
  return {
    id: row.id,
    workspaceId: row.workspaceId,
    type: row.eventType,
    actorType: row.actorType,
    actorUserId: row.actorUserId,
    targetType: row.targetType,
    targetId: row.targetId,
    data: row.data,
    ip: row.ip,
    userAgent: row.userAgent,
    traceId: row.traceId,
    createdAt: row.createdAt.toISOString(),
  };
}

/**
 * One page of the workspace's events after `after`, newest first. `workspaceId` is required: tenancy.
 * Exported for the EXPLAIN test (the page must come straight off the index).
 */
export function auditPageQuery(
  db: DbOrTx,
  workspaceId: string,
  filters: Filters,
  after: Cursor | undefined,
  limit: number,
) {
  const conditions: SQL[] = [eq(auditEvents.workspaceId, workspaceId)];
  if (filters.type) conditions.push(eq(auditEvents.eventType, filters.type));
  if (filters.actor) conditions.push(eq(auditEvents.actorUserId, filters.actor.toLowerCase()));
  // Compared in Postgres, so microseconds in `from`/`to` are honoured (a JS Date would truncate them).
  if (filters.from) conditions.push(sql`${auditEvents.createdAt} >= ${filters.from}::timestamptz`);
  if (filters.to) conditions.push(sql`${auditEvents.createdAt} < ${filters.to}::timestamptz`);
  if (after) {
    conditions.push(
      sql`(${auditEvents.createdAt}, ${auditEvents.id}) < (${after.k}::timestamptz, ${after.i}::uuid)`,
    );
  }
  return db
    .select(columns)
    .from(auditEvents)
    .where(and(...conditions))
    .orderBy(newestFirst(auditEvents.createdAt), newestFirst(auditEvents.id))
    .limit(limit);
}

const cursorOf = (row: Row): Cursor => ({ k: row.cursorTime, i: row.id });

/** A page of the caller's workspace's events, newest first, with the cursor of the next page. */
export async function listAuditEvents(
  deps: Pick<Deps, "db">,
  workspaceId: string,
  input: ListAuditEventsInput,
): Promise<{ items: AuditEventDto[]; nextCursor: string | null }> {
  const after = input.cursor ? decodeCursor(input.cursor, { key: "timestamp" }) : undefined;
  const rows = await auditPageQuery(deps.db, workspaceId, input, after, input.limit + 1);
  const { page, nextCursor } = pageOf(rows, input.limit, cursorOf);
  return { items: page.map(toAuditEventDto), nextCursor };
}

const encoder = new TextEncoder();
const ndjson = (rows: Row[]) =>
  encoder.encode(rows.map((r) => `${JSON.stringify(toAuditEventDto(r))}\n`).join(""));

/**
 * Every event of the workspace matching the filters as NDJSON (one AuditEventDto per line, newest first),
 * read in keyset batches of AUDIT_EXPORT_BATCH as the client consumes the stream — never the whole trail in
 * memory. The first batch is read before the response starts, so an unreachable database is still a proper
 * 503; later batches use a client of their own because the request's client is closed once the handler
 * returns, while the body is still streaming.
 */
export async function exportAuditEvents(
  deps: Pick<Deps, "db" | "env" | "log">,
  workspaceId: string,
  filters: Filters,
): Promise<ReadableStream<Uint8Array>> {
  const first = await auditPageQuery(deps.db, workspaceId, filters, undefined, AUDIT_EXPORT_BATCH);
  let pending: Row[] | null = first;
  let after: Cursor | undefined;
  let handle: ReturnType<typeof createDb> | undefined;
  const release = async () => {
    const h = handle;
    handle = undefined;
    await h?.close().catch(() => {});
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        try {
          let rows: Row[];
          if (pending) {
            rows = pending;
            pending = null;
          } else {
            handle ??= createDb(deps.env.HYPERDRIVE.connectionString);
            rows = await auditPageQuery(handle.db, workspaceId, filters, after, AUDIT_EXPORT_BATCH);
          }
          if (rows.length > 0) controller.enqueue(ndjson(rows));
          const last = rows.at(-1);
          if (rows.length < AUDIT_EXPORT_BATCH || !last) {
            await release();
            controller.close();
            return;
          }
          after = cursorOf(last);
        } catch (error) {
          // The status line is already sent: ending the body with an error is the only honest signal left.
          deps.log.error("audit export failed mid-stream", errorFields(error));
          await release();
          controller.error(error);
        }
      },
      async cancel() {
        await release();
      },
    },
    // Pull only when the client reads: backpressure keeps at most one batch in flight.
    { highWaterMark: 0 },
  );
}
