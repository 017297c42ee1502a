import { and, count, eq, gt, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { personas } from "../../db/schema";

/** Counts only: how many active personas have an open breaker (the relay's mirror of the PersonaGates). */
export async function webhooksHealth(
  deps: Pick<Deps, "db">,
): Promise<{ status: "ok" | "degraded"; openBreakers: number }> {
  const [row] = await deps.db
    .select({ n: count() })
    .from(personas)
    .where(and(eq(personas.isActive, true), gt(personas.breakerOpenUntil, sql`now()`)));
  const openBreakers = row?.n ?? 0;
  return { status: openBreakers === 0 ? "ok" : "degraded", openBreakers };
}
