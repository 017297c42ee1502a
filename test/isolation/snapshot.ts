/**
 * Everything a workspace owns, as comparable data: every row of every table with a `workspace_id` column
 * (found from the drizzle schema, so new tables are included automatically), the workspace row itself, and the
 * R2 objects under its two prefixes (DESIGN.md: a workspace's objects are exactly those). Two snapshots taken
 * around a foreign caller's request must be equal.
 */
import { env } from "cloudflare:test";
import { eq, is } from "drizzle-orm";
import { getTableConfig, type PgColumn, PgTable } from "drizzle-orm/pg-core";
import * as schema from "../../src/db/schema";
import { withDb } from "../helpers/db";

type TenantTable = { name: string; table: PgTable; column: PgColumn };

const TENANT_TABLES: TenantTable[] = (Object.values(schema) as unknown[])
  .filter((value): value is PgTable => is(value, PgTable))
  .flatMap((table) => {
    const config = getTableConfig(table);
    const column =
      config.name === "workspaces"
        ? config.columns.find((c) => c.name === "id")
        : config.columns.find((c) => c.name === "workspace_id");
    return column ? [{ name: config.name, table, column }] : [];
  })
  .sort((a, b) => a.name.localeCompare(b.name));

/** Names of the tables the snapshot covers (for the suite's log line and a sanity test). */
export const snapshotTables = () => TENANT_TABLES.map((t) => t.name);

const stable = (rows: unknown[]) => rows.map((row) => JSON.stringify(row)).sort();

export async function snapshotWorkspace(workspaceId: string): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  await withDb(async (db) => {
    for (const { name, table, column } of TENANT_TABLES) {
      out[name] = stable(await db.select().from(table).where(eq(column, workspaceId)));
    }
  });
  for (const prefix of [`avatars/${workspaceId}/`, `attachments/${workspaceId}/`]) {
    const listed = await env.FILES.list({ prefix });
    out[`r2:${prefix}`] = listed.objects.map((o) => `${o.key} ${o.httpEtag} ${o.size}`).sort();
  }
  return out;
}
