/**
 * The relay's admission and its report (API.md "Outbound relay"): CHAT_USER (RateLimiter), then the persona's
 * PersonaGate (CHAT_PERSONA window and circuit breaker), before anything is stored; after the webhook's
 * answer, the outcome goes back to the gate and its `openUntil` is mirrored into personas.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { errorFields } from "../../core/logger";
import { enforceRateLimit } from "../../core/rate-limit";
import type { Persona } from "../../db/schema";

/** A probe lease outlives the relay's deadline plus the bookkeeping's waitUntil allowance. */
const PROBE_LEASE_MARGIN_SECONDS = 30;

export type Gate = { reachable: boolean; probeLease: string | null };

const personaGate = (deps: Pick<Deps, "env">, personaId: string) =>
  deps.env.PERSONA_GATE.get(deps.env.PERSONA_GATE.idFromName(personaId));

/**
 * CHAT_USER, then the PersonaGate (window + breaker). Refusals throw 429 / 503 with Retry-After before
 * anything is stored. Like the other rate limits (src/core/rate-limit.ts), an unreachable gate fails open
 * with an error log: it bounds load on the customer's webhook, it does not guard data.
 */
export async function admit(deps: Deps, caller: { userId: string }, personaId: string): Promise<Gate> {
  await enforceRateLimit(deps, "CHAT_USER", caller.userId);
  const leaseSeconds = Math.ceil(deps.config.WEBHOOK_TIMEOUT_MS / 1000) + PROBE_LEASE_MARGIN_SECONDS;
  let admission: Awaited<ReturnType<ReturnType<typeof personaGate>["admit"]>>;
  try {
    admission = await personaGate(deps, personaId).admit(deps.config.rateLimits.CHAT_PERSONA, leaseSeconds);
  } catch (error) {
    deps.log.error("persona gate unavailable; failing open", { personaId, ...errorFields(error) });
    return { reachable: false, probeLease: null };
  }
  if (admission.allowed) return { reachable: true, probeLease: admission.probeLease };
  const headers = { "Retry-After": String(admission.retryAfterSeconds) };
  if (admission.reason === "RATE_LIMITED") {
    throw new ApiError(
      "RATE_LIMITED",
      `This persona is receiving too many messages. Retry in ${admission.retryAfterSeconds} seconds.`,
      { headers },
    );
  }
  throw new ApiError(
    "PERSONA_UNAVAILABLE",
    `This persona is paused after repeated failures. Retry in ${admission.retryAfterSeconds} seconds.`,
    { headers },
  );
}

/**
 * Reports the outcome to the PersonaGate and mirrors its `openUntil` into personas.breaker_open_until (only
 * when it differs from what was read, so the common path writes nothing). Errors are logged, not thrown:
 * a lost report only delays the breaker; a lost probe lease expires by alarm.
 */
export async function reportToGate(
  deps: Deps,
  persona: Persona,
  success: boolean,
  gate: Gate,
): Promise<void> {
  if (!gate.reachable) return;
  try {
    const status = await personaGate(deps, persona.id).report(
      { success, probeLease: gate.probeLease },
      deps.config.BREAKER_OPEN_SECONDS,
    );
    const openUntil = status.openUntil ? new Date(status.openUntil) : null;
    if ((persona.breakerOpenUntil?.getTime() ?? null) !== (openUntil?.getTime() ?? null)) {
      // Raw SQL on purpose: the mirror is bookkeeping, not an edit (updated_at stays).
      await deps.db.execute(
        sql`UPDATE personas SET breaker_open_until = ${openUntil?.toISOString() ?? null}::timestamptz
            WHERE id = ${persona.id}`,
      );
    }
  } catch (error) {
    deps.log.error("persona gate report failed", { personaId: persona.id, ...errorFields(error) });
  }
}
