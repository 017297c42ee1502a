/**
 * The relay's admission and its report (API.md "Outbound relay"): CHAT_USER (RateLimiter), then the persona's
 * PersonaGate (CHAT_PERSONA window and circuit breaker; per workspace for a global persona, plus its shared
 * gate), before anything is stored; after the webhook's answer, the outcome goes back to the gate and its
 * `openUntil` is mirrored into Postgres.
 */
import { sql } from "drizzle-orm";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { errorFields } from "../../core/logger";
import { enforceRateLimit } from "../../core/rate-limit";
import type { Persona } from "../../db/schema";
import type { Admission, SharedAdmission } from "../../durable-objects/persona-gate";
import type { AuthContext } from "../../middleware/auth";
import { personaGateName } from "../personas/personas.service";
import type { DeliveryOutcome, RelayErrorClass } from "./webhook-client";

/** A probe lease outlives the relay's deadline plus the bookkeeping's waitUntil allowance. */
const PROBE_LEASE_MARGIN_SECONDS = 30;

/**
 * What the relay learnt at admission and reports back with: the gate's name, the probe lease (when this chat
 * is its breaker's probe) and, for a global persona, whether the shared gate counted it.
 */
export type Gate = {
  reachable: boolean;
  name: string;
  probeLease: string | null;
  /** When the workspace gate counted the chat (names it for `releaseGate`); null when it failed open. */
  admittedAt: number | null;
  /** Global personas: when the shared gate counted it; null otherwise (or when that gate failed open). */
  sharedAt: number | null;
  /** Global personas: this chat holds the shared probe slot, so its outcome is reported there too. */
  sharedProbe: boolean;
};

type GateCaller = Pick<AuthContext, "userId" | "workspaceId" | "workspaceKind">;

const gateNamed = (deps: Pick<Deps, "env">, name: string) =>
  deps.env.PERSONA_GATE.get(deps.env.PERSONA_GATE.idFromName(name));

/**
 * Whether the workspace's chats count against the restricted half of a global persona's window: PERSONAL
 * workspaces (anyone can make one) and workspaces without a verified domain. No workspace can prove a domain
 * yet (the verified-domains issue), so today every workspace is restricted and the effective global cap is
 * half of RATE_LIMIT_CHAT_PERSONA_GLOBAL.
 */
export function isRestrictedWorkspace(caller: Pick<AuthContext, "workspaceKind">): boolean {
  return caller.workspaceKind === "PERSONAL" || !hasVerifiedDomain(caller);
}

/** Until workspaces can prove a domain by DNS (the verified-domains issue), none has. */
const hasVerifiedDomain = (_caller: Pick<AuthContext, "workspaceKind">): boolean => false;

/**
 * CHAT_USER, then the workspace's PersonaGate (window + breaker), then for a global persona its shared gate
 * (CHAT_PERSONA_GLOBAL and the shared probe slot; a refusal there gives the workspace gate's admission back).
 * Refusals throw 429 / 503 with Retry-After before anything is stored. Like the other rate limits
 * (src/core/rate-limit.ts), an unreachable gate fails open with an error log: it bounds load on the
 * customer's webhook, it does not guard data.
 */
export async function admit(deps: Deps, caller: GateCaller, persona: Persona): Promise<Gate> {
  await enforceRateLimit(deps, "CHAT_USER", caller.userId);
  const name = personaGateName(persona, caller.workspaceId);
  const leaseSeconds = Math.ceil(deps.config.WEBHOOK_TIMEOUT_MS / 1000) + PROBE_LEASE_MARGIN_SECONDS;
  let admission: Admission;
  try {
    admission = await gateNamed(deps, name).admit(deps.config.rateLimits.CHAT_PERSONA, leaseSeconds);
  } catch (error) {
    deps.log.error("persona gate unavailable; failing open", {
      personaId: persona.id,
      ...errorFields(error),
    });
    return { reachable: false, name, probeLease: null, admittedAt: null, sharedAt: null, sharedProbe: false };
  }
  if (!admission.allowed) throw refusal(admission);
  const gate: Gate = {
    reachable: true,
    name,
    probeLease: admission.probeLease,
    admittedAt: admission.at,
    sharedAt: null,
    sharedProbe: false,
  };
  if (persona.workspaceId !== null) return gate;

  const rule = deps.config.rateLimits.CHAT_PERSONA_GLOBAL;
  let shared: SharedAdmission;
  try {
    shared = await gateNamed(deps, persona.id).admitShared(rule, {
      restricted: isRestrictedWorkspace(caller),
      // At least one: a tiny override must not shut every restricted workspace out.
      restrictedLimit: Math.max(1, Math.floor(rule.limit / 2)),
      probeLease: admission.probeLease,
      leaseSeconds,
    });
  } catch (error) {
    deps.log.error("shared persona gate unavailable; failing open", {
      personaId: persona.id,
      ...errorFields(error),
    });
    return gate;
  }
  if (shared.allowed) return { ...gate, sharedAt: shared.at, sharedProbe: admission.probeLease !== null };
  await gateNamed(deps, name)
    .release(admission.at, admission.probeLease)
    .catch((error: unknown) =>
      deps.log.error("persona gate release failed", { personaId: persona.id, ...errorFields(error) }),
    );
  throw refusal(shared);
}

/**
 * Gives an admission back when the chat will not be relayed after all (storing it failed): its chat leaves
 * both windows and its probe lease and shared slot are freed at once, rather than when they expire. Logged,
 * never thrown: the caller is already failing.
 */
export async function releaseGate(deps: Deps, persona: Pick<Persona, "id">, gate: Gate): Promise<void> {
  try {
    await Promise.all([
      gate.admittedAt !== null
        ? gateNamed(deps, gate.name).release(gate.admittedAt, gate.probeLease)
        : undefined,
      gate.sharedAt !== null
        ? gateNamed(deps, persona.id).releaseShared(gate.sharedAt, gate.sharedProbe ? gate.probeLease : null)
        : undefined,
    ]);
  } catch (error) {
    deps.log.error("persona gate release failed", { personaId: persona.id, ...errorFields(error) });
  }
}

/** Outcomes that mean the webhook itself is down (no answer, 5xx, 429), not an answer to this chat's content. */
const WEBHOOK_DOWN: ReadonlySet<RelayErrorClass> = new Set([
  "CONNECTION",
  "TIMEOUT",
  "HTTP_5XX",
  "HTTP_429",
  "CONFIG",
  "URL_REFUSED",
]);

function refusal(admission: { reason: "RATE_LIMITED" | "BREAKER_OPEN"; retryAfterSeconds: number }) {
  const headers = { "Retry-After": String(admission.retryAfterSeconds) };
  if (admission.reason === "RATE_LIMITED") {
    return new ApiError(
      "RATE_LIMITED",
      `This persona is receiving too many messages. Retry in ${admission.retryAfterSeconds} seconds.`,
      { headers },
    );
  }
  return new ApiError(
    "PERSONA_UNAVAILABLE",
    `This persona is paused after repeated failures. Retry in ${admission.retryAfterSeconds} seconds.`,
    { headers },
  );
}

/**
 * Reports the outcome to the PersonaGate that admitted the chat (and a shared probe's to the shared gate),
 * and mirrors the gate's `openUntil` for lists and health — into personas.breaker_open_until for a workspace
 * persona, into persona_breakers (this workspace's row) for a global one — only when it differs from what
 * was read (`persona.breakerOpenUntil` is the caller's workspace's view, see findVisiblePersona), so the
 * common path writes nothing. Errors are logged, not thrown: a lost report only delays the breaker; a lost
 * probe lease expires by alarm.
 */
export async function reportToGate(
  deps: Deps,
  persona: Persona,
  workspaceId: string,
  outcome: Pick<DeliveryOutcome, "ok"> & { errorClass?: RelayErrorClass },
  gate: Gate,
): Promise<void> {
  if (!gate.reachable) return;
  const success = outcome.ok;
  try {
    const [status] = await Promise.all([
      gateNamed(deps, gate.name).report(
        { success, probeLease: gate.probeLease },
        deps.config.BREAKER_OPEN_SECONDS,
      ),
      gate.sharedProbe && gate.probeLease
        ? gateNamed(deps, persona.id).reportSharedProbe({
            lease: gate.probeLease,
            webhookDown: !success && outcome.errorClass !== undefined && WEBHOOK_DOWN.has(outcome.errorClass),
            cooldownSeconds: deps.config.BREAKER_OPEN_SECONDS,
          })
        : undefined,
    ]);
    const openUntil = status.openUntil ? new Date(status.openUntil) : null;
    if ((persona.breakerOpenUntil?.getTime() ?? null) === (openUntil?.getTime() ?? null)) return;
    const until = openUntil?.toISOString() ?? null;
    // Raw SQL on purpose: the mirror is bookkeeping, not an edit (updated_at stays).
    if (persona.workspaceId !== null) {
      await deps.db.execute(
        sql`UPDATE personas SET breaker_open_until = ${until}::timestamptz WHERE id = ${persona.id}`,
      );
    } else if (until === null) {
      await deps.db.execute(
        sql`DELETE FROM persona_breakers WHERE persona_id = ${persona.id} AND workspace_id = ${workspaceId}`,
      );
    } else {
      await deps.db.execute(
        sql`INSERT INTO persona_breakers (persona_id, workspace_id, open_until)
            VALUES (${persona.id}, ${workspaceId}, ${until}::timestamptz)
            ON CONFLICT (persona_id, workspace_id) DO UPDATE SET open_until = excluded.open_until`,
      );
    }
  } catch (error) {
    deps.log.error("persona gate report failed", { personaId: persona.id, ...errorFields(error) });
  }
}
