import { sql } from "drizzle-orm";
import type { Database } from "../../db/client";

/** One round trip to Postgres; throws (→ 503 DATABASE_UNAVAILABLE) when it cannot be reached. */
export async function checkDatabase(db: Database): Promise<void> {
  await db.execute(sql`SELECT 1`);
}
