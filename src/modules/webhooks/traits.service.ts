/**
 * POST /api/webhooks/traits (API.md "Webhooks"): a persona's flow, or an admin, updates its traits.
 *
 * Two ways in:
 * - Signed: Standard Webhooks headers signed with the persona's OWN secret. The persona is the one candidate
 *   (active personas named by the body, any scope) whose secret verifies the signature, so a sender can only
 *   ever change the persona it holds the secret of, and names shared across workspaces need no extra key.
 *   Timestamp within ±5 minutes; the webhook-id is remembered by the persona's PersonaGate (≥ 10 minutes)
 *   and a second delivery of it is refused. Failures are audited as WEBHOOK_SIGNATURE_INVALID (once per
 *   persona and minute) and answer the same 401 whether or not the name exists (no catalogue probing without
 *   a secret). The route allows 60 requests per minute and IP (TRAITS_IP) before any lookup.
 * - Bearer: an ADMIN of the persona's workspace, or a platform admin for a global persona. The name is
 *   resolved among the personas the caller may edit: none → 404 (403 if the caller can see one it may not
 *   edit), several → 409 AMBIGUOUS_PERSONA.
 * Either way the change bumps the persona's version (messages record the version that answered) and is
 * audited as TRAITS_UPDATED.
 */
import { and, eq, isNull, or, type SQL, sql } from "drizzle-orm";
import { decrypt } from "../../core/crypto";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid } from "../../core/ids";
import { errorFields } from "../../core/logger";
import { type Persona, personas, workspaces } from "../../db/schema";
import type { AuthContext } from "../../middleware/auth";
import { auditInsertFrom, recordAudit } from "../audit/audit.service";
import {
  decodeWebhookSecret,
  isFreshTimestamp,
  type StandardWebhookHeaders,
  verifyStandardWebhook,
} from "./standard-webhooks";
import type { TraitsInput, TraitsUpdatedDto } from "./webhooks.schemas";

/** At most this many same-named personas are tried against a signature. */
const MAX_CANDIDATES = 50;
const VIA = "POST /api/webhooks/traits";

type Candidate = Pick<Persona, "id" | "workspaceId" | "webhookSecretEncrypted">;

/** The body's identifier as a condition on active personas. */
function identifies(input: TraitsInput): SQL | null {
  if (input.personaId !== undefined) return isUuid(input.personaId) ? eq(personas.id, input.personaId) : null;
  if (input.slug !== undefined) return eq(personas.slug, input.slug);
  return sql`lower(${personas.name}) = lower(${input.personaName ?? ""})`;
}

const unauthenticated = (detail: string) =>
  new ApiError("UNAUTHENTICATED", detail, { headers: { "WWW-Authenticate": "Bearer" } });

/**
 * Signed update. Missing headers → 401 (not audited: nothing was claimed); stale timestamp, bad signature or
 * a replayed webhook-id → 401 / 409 and a WEBHOOK_SIGNATURE_INVALID audit event.
 */
export async function updateTraitsSigned(
  deps: Deps,
  input: TraitsInput,
  headers: Partial<StandardWebhookHeaders>,
  rawBody: string,
): Promise<TraitsUpdatedDto> {
  if (!headers.id || !headers.timestamp || !headers.signature) {
    throw unauthenticated("A bearer token or Standard Webhooks signature headers are required.");
  }
  const signed = { id: headers.id, timestamp: headers.timestamp, signature: headers.signature };
  const condition = identifies(input);
  const candidates: Candidate[] = condition
    ? await deps.db
        .select({
          id: personas.id,
          workspaceId: personas.workspaceId,
          webhookSecretEncrypted: personas.webhookSecretEncrypted,
        })
        .from(personas)
        .where(and(eq(personas.isActive, true), condition))
        .limit(MAX_CANDIDATES)
    : [];

  const refuse = async (
    reason: string,
    detail: string,
    code: "UNAUTHENTICATED" | "CONFLICT" = "UNAUTHENTICATED",
  ) => {
    const only = candidates.length === 1 ? candidates[0] : undefined;
    // One event per persona (or per unnamed target) and minute: a flood of bad signatures must not write a
    // row per request. The insert is conditional on the last minute having none, in one statement.
    await deps.db.execute(
      auditInsertFrom(
        deps,
        {
          type: "WEBHOOK_SIGNATURE_INVALID",
          workspaceId: only?.workspaceId ?? null,
          actorType: "WEBHOOK",
          targetType: only ? "persona" : undefined,
          targetId: only?.id,
          data: { via: VIA, reason, webhookId: signed.id.slice(0, 100) },
        },
        sql`(SELECT 1) s WHERE NOT EXISTS (
          SELECT 1 FROM audit_events a
           WHERE a.workspace_id IS NOT DISTINCT FROM ${only?.workspaceId ?? null}::uuid
             AND a.event_type = 'WEBHOOK_SIGNATURE_INVALID'
             AND a.created_at > now() - interval '1 minute'
             AND a.target_id IS NOT DISTINCT FROM ${only?.id ?? null}::text)`,
      ),
    );
    return code === "CONFLICT" ? new ApiError("CONFLICT", detail) : unauthenticated(detail);
  };

  if (!isFreshTimestamp(signed.timestamp)) {
    throw await refuse("stale-timestamp", "The webhook timestamp is outside the 5-minute window.");
  }
  const matches: Candidate[] = [];
  for (const candidate of candidates) {
    const secret = await candidateSecret(deps, candidate);
    if (secret && (await verifyStandardWebhook(secret, signed, rawBody)) === "ok") matches.push(candidate);
  }
  if (matches.length === 0) throw await refuse("signature", "The webhook signature is invalid.");
  if (matches.length > 1) {
    throw new ApiError("AMBIGUOUS_PERSONA", "Several personas match; name it by personaId or slug.");
  }
  const persona = matches[0] as Candidate;
  await assertWorkspaceWritable(deps, persona.workspaceId);

  let replayed = false;
  try {
    return await applyTraits(deps, persona.id, input, { actorType: "WEBHOOK" }, async () => {
      const gate = deps.env.PERSONA_GATE.get(deps.env.PERSONA_GATE.idFromName(persona.id));
      // Fails closed: replay protection is an authentication control.
      replayed = !(await gate.rememberWebhookId(signed.id));
      if (replayed) throw new ApiError("CONFLICT", "This webhook-id was already accepted.");
    });
  } catch (error) {
    if (replayed)
      throw await refuse("replayed-webhook-id", "This webhook-id was already accepted.", "CONFLICT");
    throw error;
  }
}

async function candidateSecret(deps: Deps, candidate: Candidate): Promise<Uint8Array<ArrayBuffer> | null> {
  try {
    const secret = await decrypt(
      deps.config.ENCRYPTION_KEY,
      "webhook-secret",
      candidate.webhookSecretEncrypted,
      candidate.id,
    );
    return decodeWebhookSecret(secret);
  } catch (error) {
    deps.log.error("persona webhook secret cannot be decrypted", {
      personaId: candidate.id,
      ...errorFields(error),
    });
    return null;
  }
}

/** Writes to a workspace in PENDING_DELETION are refused for signed callers too (API.md status table). */
async function assertWorkspaceWritable(deps: Deps, workspaceId: string | null) {
  if (workspaceId === null) return;
  const [workspace] = await deps.db
    .select({ status: workspaces.status })
    .from(workspaces)
    .where(eq(workspaces.id, workspaceId));
  if (workspace?.status === "PENDING_DELETION") {
    throw new ApiError(
      "WORKSPACE_PENDING_DELETION",
      "This workspace is scheduled for deletion: it is read-only until an admin cancels the deletion.",
    );
  }
}

/** Bearer update by a workspace ADMIN (its personas) or a platform admin (global personas). */
export async function updateTraitsAsAdmin(
  deps: Deps,
  caller: Pick<AuthContext, "userId" | "workspaceId" | "role" | "isPlatformAdmin">,
  input: TraitsInput,
): Promise<TraitsUpdatedDto> {
  const condition = identifies(input);
  const visible = condition
    ? await deps.db
        .select({ id: personas.id, workspaceId: personas.workspaceId })
        .from(personas)
        .where(
          and(
            eq(personas.isActive, true),
            or(isNull(personas.workspaceId), eq(personas.workspaceId, caller.workspaceId)),
            condition,
          ),
        )
        .limit(MAX_CANDIDATES)
    : [];
  const editable = visible.filter((p) =>
    p.workspaceId === null ? caller.isPlatformAdmin : caller.role === "ADMIN",
  );
  if (editable.length > 1) {
    throw new ApiError("AMBIGUOUS_PERSONA", "Several personas match; name it by personaId or slug.");
  }
  const [persona] = editable;
  if (!persona) {
    if (visible.length > 0) throw new ApiError("FORBIDDEN", "You may not edit this persona's traits.");
    throw new ApiError("NOT_FOUND", "No such persona.");
  }
  return applyTraits(deps, persona.id, input, { actorType: "USER", actorUserId: caller.userId });
}

/**
 * Applies the metadata and bumps the version in one transaction with its TRAITS_UPDATED audit. `beforeCommit`
 * runs last inside it (the replay check), so a refused replay rolls the change back and a failed write does
 * not burn the webhook-id (the row lock makes concurrent deliveries of one id queue behind each other).
 */
async function applyTraits(
  deps: Deps,
  personaId: string,
  input: TraitsInput,
  actor: { actorType: "USER" | "WEBHOOK"; actorUserId?: string },
  beforeCommit?: () => Promise<void>,
): Promise<TraitsUpdatedDto> {
  const metadata = input.metadata;
  const fields = Object.keys(metadata).filter((key) => metadata[key as keyof typeof metadata] !== undefined);
  return deps.db.transaction(async (tx) => {
    const [updated] = await tx
      .update(personas)
      .set({
        ...(metadata.about !== undefined ? { about: metadata.about } : {}),
        ...(metadata.coreExpertise !== undefined ? { coreExpertise: metadata.coreExpertise } : {}),
        ...(metadata.communicationStyle !== undefined
          ? { communicationStyle: metadata.communicationStyle }
          : {}),
        ...(metadata.traits !== undefined ? { traits: metadata.traits } : {}),
        ...(metadata.painPoints !== undefined ? { painPoints: metadata.painPoints } : {}),
        ...(metadata.keyResponsibilities !== undefined
          ? { keyResponsibilities: metadata.keyResponsibilities }
          : {}),
        version: sql`${personas.version} + 1`,
      })
      .where(and(eq(personas.id, personaId), eq(personas.isActive, true)))
      .returning({
        id: personas.id,
        workspaceId: personas.workspaceId,
        slug: personas.slug,
        name: personas.name,
        version: personas.version,
        updatedAt: personas.updatedAt,
      });
    if (!updated) throw new ApiError("NOT_FOUND", "No such persona.");
    await recordAudit(deps, tx, {
      type: "TRAITS_UPDATED",
      workspaceId: updated.workspaceId,
      actorType: actor.actorType,
      actorUserId: actor.actorUserId ?? null,
      targetType: "persona",
      targetId: personaId,
      data: { via: VIA, fields, version: updated.version },
    });
    await beforeCommit?.();
    return {
      id: updated.id,
      slug: updated.slug,
      name: updated.name,
      version: updated.version,
      updatedAt: updated.updatedAt.toISOString(),
    };
  });
}
