/** Query-plan checks: whether a list walks its index in order (a page read off the index, no sort of all rows). */
import { type SQL, sql } from "drizzle-orm";
import type { Database } from "../../src/db/client";

export type PlanNode = { "Node Type": string; "Index Name"?: string; Plans?: PlanNode[] };

/** `EXPLAIN (FORMAT JSON)` of a query: the root plan node and the raw JSON (for assertion messages). */
export async function explain(db: Database, query: SQL): Promise<{ root: PlanNode; json: string }> {
  const { rows } = await db.execute(sql`EXPLAIN (FORMAT JSON) ${query}`);
  const root = (rows[0] as { "QUERY PLAN": Array<{ Plan: PlanNode }> })["QUERY PLAN"][0]?.Plan;
  if (!root) throw new Error("EXPLAIN returned no plan");
  return { root, json: JSON.stringify(rows) };
}

/** The node directly above the scan of `index` ("Limit" when the page comes straight off the index). */
export function parentOfIndexScan(node: PlanNode, index: string): PlanNode | undefined {
  for (const child of node.Plans ?? []) {
    if (child["Index Name"] === index) return node;
    const found = parentOfIndexScan(child, index);
    if (found) return found;
  }
  return undefined;
}
