import { and, count, eq, gt, isNotNull, sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { personaBreakers, personas } from "../../db/schema";

/**
 * Counts only: how many active personas have an open breaker (the relay's mirrors of the PersonaGates). For a
 * caller's workspace: its personas, and the global personas' breakers of that workspace (persona_breakers).
 * Anonymous: every workspace persona's breaker and no global persona's (theirs are per workspace: one
 * tenant's view is not the persona's health).
 */
export async function webhooksHealth(
  deps: Pick<Deps, "db">,
  workspaceId?: string,
): Promise<{ status: "ok" | "degraded"; openBreakers: number }> {
  const open = gt(personas.breakerOpenUntil, sql`now()`);
  const [row] = workspaceId
    ? await deps.db
        .select({ n: count() })
        .from(personas)
        .leftJoin(
          personaBreakers,
          and(eq(personaBreakers.personaId, personas.id), eq(personaBreakers.workspaceId, workspaceId)),
        )
        .where(
          and(
            eq(personas.isActive, true),
            sql`((${personas.workspaceId} = ${workspaceId}::uuid AND ${open})
              OR (${personas.workspaceId} IS NULL AND ${personaBreakers.openUntil} > now()))`,
          ),
        )
    : await deps.db
        .select({ n: count() })
        .from(personas)
        .where(and(eq(personas.isActive, true), isNotNull(personas.workspaceId), open));
  const openBreakers = row?.n ?? 0;
  return { status: openBreakers === 0 ? "ok" : "degraded", openBreakers };
}
