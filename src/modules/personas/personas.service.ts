/**
 * The persona catalogue (global personas + the caller's workspace's), favourites, management by workspace
 * admins and platform admins, and the delivery log. Webhook URLs and secrets are write-only: AES-GCM
 * encrypted with the persona id as context, never part of a DTO.
 */
import { and, asc, count, eq, isNull, or, type SQL, sql } from "drizzle-orm";
import { encrypt } from "../../core/crypto";
import { cursorTimeText, decodeCursor, pageOf } from "../../core/cursor";
import type { Deps } from "../../core/deps";
import { ApiError } from "../../core/errors";
import { isUuid, newId } from "../../core/ids";
import { checkOutboundUrl, type OutboundUrlPolicy } from "../../core/outbound-url";
import { type DbOrTx, lastStatements } from "../../db/client";
import { newestFirst } from "../../db/order";
import { rowDate } from "../../db/raw";
import { chatRuns, type Persona, personaFavourites, personas, workspaces } from "../../db/schema";
import type { Config } from "../../env";
import type { AuthContext, PendingCaller } from "../../middleware/auth";
import { auditInsertFrom, recordAudit } from "../audit/audit.service";
import { generateWebhookSecret } from "../webhooks/standard-webhooks";
import type {
  CreatePersonaInput,
  DeliveriesSchema,
  PersonaDto,
  UpdatePersonaInput,
} from "./personas.schemas";

/** API.md: at most 50 (active) personas per workspace. */
export const MAX_WORKSPACE_PERSONAS = 50;

type Caller = Pick<AuthContext, "userId" | "workspaceId" | "role" | "isPlatformAdmin">;
type DeliveriesDto = import("zod").infer<typeof DeliveriesSchema>;

const notFound = () => new ApiError("NOT_FOUND", "No such persona.");

/** The outbound URL rules of this deployment (DESIGN.md "Outbound calls"). */
export function outboundPolicy(config: Config): OutboundUrlPolicy {
  return { allowPrivate: config.ALLOW_PRIVATE_WEBHOOKS, ownOrigin: config.APP_BASE_URL };
}

/** Active personas the caller can see: the global catalogue and its own workspace's. */
export function visibleTo(workspaceId: string): SQL {
  return and(
    eq(personas.isActive, true),
    or(isNull(personas.workspaceId), eq(personas.workspaceId, workspaceId)),
  ) as SQL;
}

/**
 * One active persona visible to the workspace (full row, encrypted columns included — for services only),
 * or null. A malformed id is simply not found.
 */
export async function findVisiblePersona(
  db: DbOrTx,
  workspaceId: string,
  /** An id, or SQL naming one (e.g. a message's persona, so the read needs no earlier round trip). */
  personaId: string | SQL,
): Promise<Persona | null> {
  if (typeof personaId === "string" && !isUuid(personaId)) return null;
  const [row] = await db
    .select({ persona: personas, workspaceBreaker: workspaceBreakerSql(workspaceId) })
    .from(personas)
    .where(and(eq(personas.id, personaId), visibleTo(workspaceId)))
    .limit(1);
  if (!row) return null;
  // The breaker as this workspace sees it: a global persona has one per workspace (relay-gate.ts).
  if (row.persona.workspaceId !== null) return row.persona;
  return { ...row.persona, breakerOpenUntil: row.workspaceBreaker ? rowDate(row.workspaceBreaker) : null };
}

/** A global persona's breaker mirror for one workspace (persona_breakers), or NULL. */
const workspaceBreakerSql = (workspaceId: string) =>
  sql<Date | string | null>`(SELECT b.open_until FROM persona_breakers b
    WHERE b.persona_id = ${personas.id} AND b.workspace_id = ${workspaceId}::uuid)`;

// --- DTOs ---------------------------------------------------------------------------------------------------

const publicColumns = {
  id: personas.id,
  workspaceId: personas.workspaceId,
  slug: personas.slug,
  name: personas.name,
  personalName: personas.personalName,
  roleTitle: personas.roleTitle,
  about: personas.about,
  traits: personas.traits,
  painPoints: personas.painPoints,
  coreExpertise: personas.coreExpertise,
  keyResponsibilities: personas.keyResponsibilities,
  communicationStyle: personas.communicationStyle,
  avatarUrl: personas.avatarUrl,
  version: personas.version,
  createdAt: personas.createdAt,
  updatedAt: personas.updatedAt,
};
type PublicPersona = { [K in keyof typeof publicColumns]: Persona[K] };

/**
 * `isAvailable` reads the breaker mirror (the PersonaGate DO stays authoritative for admission): the
 * persona's own for a workspace persona, the caller's workspace's row for a global one.
 */
const isAvailableSql = (workspaceId: string) =>
  sql<boolean>`(CASE WHEN ${personas.workspaceId} IS NULL
    THEN coalesce(${workspaceBreakerSql(workspaceId)} <= now(), true)
    ELSE (${personas.breakerOpenUntil} IS NULL OR ${personas.breakerOpenUntil} <= now()) END)`;

export function toPersonaDto(
  row: PublicPersona,
  state: { isFavourite: boolean; isAvailable: boolean },
): PersonaDto {
  return {
    id: row.id,
    scope: row.workspaceId === null ? "global" : "workspace",
    slug: row.slug,
    name: row.name,
    personalName: row.personalName,
    roleTitle: row.roleTitle,
    about: row.about,
    traits: row.traits,
    painPoints: row.painPoints,
    coreExpertise: row.coreExpertise,
    keyResponsibilities: row.keyResponsibilities,
    communicationStyle: row.communicationStyle,
    avatarUrl: row.avatarUrl,
    version: row.version,
    isFavourite: state.isFavourite,
    isAvailable: state.isAvailable,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

// --- catalogue ----------------------------------------------------------------------------------------------

/** The catalogue page: active global + own-workspace personas by name, with the caller's favourite flags. */
export async function listPersonas(
  deps: Pick<Deps, "db">,
  caller: Pick<Caller, "userId" | "workspaceId">,
  query: { favouritesOnly?: "true" | "false"; limit: number; cursor?: string },
): Promise<{ items: PersonaDto[]; nextCursor: string | null }> {
  const conditions: SQL[] = [visibleTo(caller.workspaceId)];
  if (query.cursor) {
    const after = decodeCursor(query.cursor, { key: "text" });
    conditions.push(sql`(${personas.name}, ${personas.id}) > (${after.k}, ${after.i}::uuid)`);
  }
  const favouritesOnly = query.favouritesOnly === "true";
  const favouriteJoin = and(
    eq(personaFavourites.personaId, personas.id),
    eq(personaFavourites.userId, caller.userId),
  );
  const base = deps.db
    .select({
      ...publicColumns,
      isFavourite: sql<boolean>`(${personaFavourites.userId} IS NOT NULL)`,
      isAvailable: isAvailableSql(caller.workspaceId),
    })
    .from(personas);
  const rows = await (favouritesOnly
    ? base.innerJoin(personaFavourites, favouriteJoin)
    : base.leftJoin(personaFavourites, favouriteJoin)
  )
    .where(and(...conditions))
    .orderBy(asc(personas.name), asc(personas.id))
    .limit(query.limit + 1);
  const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ k: last.name, i: last.id }));
  return { items: page.map((row) => toPersonaDto(row, row)), nextCursor };
}

/** One visible active persona with the caller's favourite flag; 404 otherwise. */
export async function getPersona(
  deps: Pick<Deps, "db">,
  caller: Caller,
  personaId: string,
): Promise<PersonaDto> {
  if (!isUuid(personaId)) throw notFound();
  const [row] = await personaDtoRow(deps.db, caller, personaId);
  if (!row) throw notFound();
  return toPersonaDto(row, row);
}

/** GET's row of one visible persona (favourite flag, availability), as a statement not yet run. */
function personaDtoRow(db: DbOrTx, caller: Pick<Caller, "userId" | "workspaceId">, personaId: string) {
  return db
    .select({
      ...publicColumns,
      isFavourite: sql<boolean>`(${personaFavourites.userId} IS NOT NULL)`,
      isAvailable: isAvailableSql(caller.workspaceId),
    })
    .from(personas)
    .leftJoin(
      personaFavourites,
      and(eq(personaFavourites.personaId, personas.id), eq(personaFavourites.userId, caller.userId)),
    )
    .where(and(eq(personas.id, personaId), visibleTo(caller.workspaceId)))
    .limit(1);
}

/** Toggles the caller's favourite; a deactivated or foreign persona is 404. Audited either way. */
export async function toggleFavourite(
  deps: Deps,
  caller: Pick<Caller, "userId" | "workspaceId">,
  personaId: string,
): Promise<{ isFavourite: boolean }> {
  if (!isUuid(personaId)) throw notFound();
  // Two round trips behind requireAuthForWrite: the visibility check and the insert together (with the session
  // check), then the delete when it was already a favourite, and the audit, with COMMIT.
  const outcome = await deps.db.transaction(async (tx) => {
    const [visible, inserted] = await Promise.allSettled([
      findVisiblePersona(tx, caller.workspaceId, personaId),
      tx
        .insert(personaFavourites)
        .values({ userId: caller.userId, personaId, workspaceId: caller.workspaceId })
        .onConflictDoNothing()
        .returning({ personaId: personaFavourites.personaId }),
    ]);
    if (visible.status === "rejected") throw visible.reason;
    if (!visible.value) throw notFound(); // an insert for a persona out of sight rolls back with it
    if (inserted.status === "rejected") throw inserted.reason;
    const isFavourite = inserted.value.length > 0;
    const audit = recordAudit(deps, tx, {
      type: isFavourite ? "PERSONA_FAVOURITED" : "PERSONA_UNFAVOURITED",
      workspaceId: caller.workspaceId,
      actorUserId: caller.userId,
      targetType: "persona",
      targetId: personaId,
      data: { via: "POST /api/personas/{id}/favourite" },
    });
    const unfavourite = tx
      .delete(personaFavourites)
      .where(and(eq(personaFavourites.userId, caller.userId), eq(personaFavourites.personaId, personaId)));
    return { isFavourite, last: lastStatements(tx, isFavourite ? [audit] : [unfavourite, audit]) };
  });
  await outcome.last.results;
  return { isFavourite: outcome.isFavourite };
}

// --- management ---------------------------------------------------------------------------------------------

function assertCanManage(caller: Pick<Caller, "role" | "isPlatformAdmin">, workspaceId: string | null) {
  if (workspaceId === null && !caller.isPlatformAdmin) {
    throw new ApiError("FORBIDDEN", "Only platform administrators manage global personas.");
  }
  if (workspaceId !== null && caller.role !== "ADMIN") {
    throw new ApiError("FORBIDDEN", "Only workspace administrators manage the workspace's personas.");
  }
}

function checkedWebhookUrl(config: Config, url: string): string {
  const check = checkOutboundUrl(url, outboundPolicy(config));
  if (!check.ok) {
    throw new ApiError("VALIDATION_FAILED", "The webhook URL is not allowed.", {
      errors: [{ path: "webhookUrl", message: check.reason }],
    });
  }
  return check.url.toString();
}

/**
 * Moves every persona of a personal workspace whose user is moving into `to` (accept-invitation), so that
 * their conversations keep pointing at them — deactivated: their webhooks are the invitee's, chosen where the
 * invitee was ADMIN, and the new workspace's admins never vetted them; an active one would let any member of
 * the company relay chats to them (an exfiltration channel looking like a company persona). Inactive, they
 * are in no catalogue and take no chat, while the moved conversations stay readable. Their slugs get the
 * persona id appended (`<first 30>-<32 hex>`, collision-free), so they never block a slug the workspace's
 * admins want. Returns how many moved.
 */
export async function movePersonas(tx: DbOrTx, from: string, to: string): Promise<number> {
  const moved = await tx.execute(sql`
    UPDATE personas p
       SET workspace_id = ${to}::uuid, is_active = false,
           slug = left(p.slug, 30) || '-' || replace(p.id::text, '-', '')
     WHERE p.workspace_id = ${from}::uuid`);
  return moved.rowCount ?? 0;
}

/** A slug from a name: ASCII letters and digits joined by hyphens ("Ünïcode Coach!" → "unicode-coach"). */
export function slugify(name: string): string {
  const slug = name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 50)
    .replace(/-+$/, "");
  return slug || "persona";
}

const randomSuffix = () => crypto.randomUUID().slice(0, 6);

function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === "23505") return true;
  }
  return false;
}

const slugTaken = () => new ApiError("CONFLICT", "This slug is already taken in this scope.");

/**
 * Creates a persona in the caller's workspace (ADMIN; at most 50 active, counted under a lock on the
 * workspace row so parallel creates cannot overshoot) or in the global catalogue (platform admin). The secret
 * is generated when absent and returned exactly once.
 */
export async function createPersona(
  deps: Deps,
  caller: Manager,
  input: CreatePersonaInput,
): Promise<PersonaDto & { webhookSecret?: string }> {
  const workspaceId = input.scope === "workspace" ? caller.workspaceId : null;
  const webhookUrl = checkedWebhookUrl(deps.config, input.webhookUrl);
  const generatedSecret = input.webhookSecret ? undefined : generateWebhookSecret();
  const secret = input.webhookSecret ?? (generatedSecret as string);
  const id = newId();
  const [webhookUrlEncrypted, webhookSecretEncrypted] = await Promise.all([
    encrypt(deps.config.ENCRYPTION_KEY, "webhook-url", webhookUrl, id),
    encrypt(deps.config.ENCRYPTION_KEY, "webhook-secret", secret, id),
  ]);

  // A given slug must be free; a derived one gets a short random suffix until it is (a retry is a new
  // transaction: rare, and it keeps the common path at two round trips).
  const baseSlug = input.slug ?? slugify(input.name);
  for (let attempt = 0; attempt < 5; attempt++) {
    const slug = attempt === 0 ? baseSlug : `${baseSlug}-${randomSuffix()}`;
    // Two round trips: the workspace lock and the limit count (with the session check), then the insert and
    // its audit with COMMIT. The audit is written only when the insert took the slug (it reads the new row).
    const outcome = await deps.db.transaction(async (tx) => {
      if (workspaceId) {
        const [, [active], authorized] = await Promise.all([
          tx.execute(
            sql`SELECT 1 FROM ${workspaces} WHERE ${workspaces.id} = ${workspaceId} FOR NO KEY UPDATE`,
          ),
          tx
            .select({ n: count() })
            .from(personas)
            .where(and(eq(personas.workspaceId, workspaceId), eq(personas.isActive, true))),
          caller.authorized(),
        ]);
        assertCanManage(authorized, workspaceId);
        if ((active?.n ?? 0) >= MAX_WORKSPACE_PERSONAS) {
          throw new ApiError(
            "PERSONA_LIMIT_REACHED",
            `A workspace may have at most ${MAX_WORKSPACE_PERSONAS} personas. Deactivate one first.`,
          );
        }
      } else {
        assertCanManage(await caller.authorized(), null);
      }
      return lastStatements(tx, [
        tx
          .insert(personas)
          .values({
            id,
            workspaceId,
            slug,
            name: input.name,
            personalName: input.personalName ?? null,
            roleTitle: input.roleTitle ?? null,
            about: input.about ?? null,
            traits: input.traits ?? [],
            painPoints: input.painPoints ?? [],
            coreExpertise: input.coreExpertise ?? [],
            keyResponsibilities: input.keyResponsibilities ?? [],
            communicationStyle: input.communicationStyle ?? null,
            avatarUrl: input.avatarUrl ?? null,
            webhookUrlEncrypted,
            webhookSecretEncrypted,
          })
          .onConflictDoNothing()
          .returning(),
        tx.execute(
          auditInsertFrom(
            deps,
            {
              type: "PERSONA_CREATED",
              workspaceId,
              actorUserId: caller.userId,
              targetType: "persona",
              targetId: id,
              data: {
                via: "POST /api/personas",
                scope: input.scope,
                slug,
                secretGenerated: !input.webhookSecret,
              },
            },
            sql`${personas} WHERE ${personas.id} = ${id}`,
          ),
        ),
      ]);
    });
    const [[created]] = await outcome.results;
    if (created) {
      const dto = toPersonaDto(created, { isFavourite: false, isAvailable: true });
      return generatedSecret ? { ...dto, webhookSecret: generatedSecret } : dto;
    }
    if (input.slug) throw slugTaken();
  }
  throw slugTaken();
}

/**
 * The persona the caller may manage, locked for the change. Not visible (foreign, deactivated, unknown) →
 * 404; visible but the caller's role is too low → 403.
 */
async function lockManageable(tx: DbOrTx, manager: Manager, personaId: string): Promise<Persona> {
  if (!isUuid(personaId)) throw notFound();
  // The lock travels with the session check (requireAuthForWrite); the rule needs the checked role, which
  // has arrived by then (the check was written first), so waiting for it costs no round trip.
  const [[row], caller] = await Promise.all([
    tx
      .select()
      .from(personas)
      .where(and(eq(personas.id, personaId), visibleTo(manager.workspaceId)))
      .for("update"),
    manager.authorized(),
  ]);
  if (!row) throw notFound();
  assertCanManage(caller, row.workspaceId);
  return row;
}

/** Who manages personas on a requireAuthForWrite route: the token's identity, the checked role later. */
export type Manager = Pick<PendingCaller, "userId" | "workspaceId" | "authorized">;

const PROFILE_FIELDS = [
  "name",
  "slug",
  "personalName",
  "roleTitle",
  "about",
  "traits",
  "painPoints",
  "coreExpertise",
  "keyResponsibilities",
  "communicationStyle",
  "avatarUrl",
] as const;

/**
 * Changes profile, traits or webhook settings. A change to what the persona is (any profile field) bumps
 * `version`; webhook changes alone do not. `rotateWebhookSecret` returns the new secret once.
 */
export async function updatePersona(
  deps: Deps,
  caller: Manager,
  personaId: string,
  input: UpdatePersonaInput,
): Promise<PersonaDto & { webhookSecret?: string }> {
  const webhookUrl =
    input.webhookUrl === undefined ? undefined : checkedWebhookUrl(deps.config, input.webhookUrl);
  const rotatedSecret = input.rotateWebhookSecret ? generateWebhookSecret() : undefined;
  const newSecret = input.webhookSecret ?? rotatedSecret;
  try {
    // Two round trips: the lock (with the session check), then the update, its audit and GET's read-back
    // together with COMMIT.
    const outcome = await deps.db.transaction(async (tx) => {
      const current = await lockManageable(tx, caller, personaId);
      const changes: Partial<typeof personas.$inferInsert> = {};
      const changed: string[] = [];
      for (const field of PROFILE_FIELDS) {
        const value = input[field];
        if (value === undefined || JSON.stringify(value) === JSON.stringify(current[field])) continue;
        (changes as Record<string, unknown>)[field] = value;
        changed.push(field);
      }
      const profileChanged = changed.length > 0;
      if (webhookUrl !== undefined) {
        changes.webhookUrlEncrypted = await encrypt(
          deps.config.ENCRYPTION_KEY,
          "webhook-url",
          webhookUrl,
          personaId,
        );
        changed.push("webhookUrl");
      }
      if (newSecret !== undefined) {
        changes.webhookSecretEncrypted = await encrypt(
          deps.config.ENCRYPTION_KEY,
          "webhook-secret",
          newSecret,
          personaId,
        );
        changed.push("webhookSecret");
      }
      // Read back like GET does (favourite flag, breaker mirror), after the update (statements run in order).
      const readBack = personaDtoRow(tx, caller, personaId);
      if (changed.length === 0) return lastStatements(tx, [readBack]);
      return lastStatements(tx, [
        tx
          .update(personas)
          .set({ ...changes, ...(profileChanged ? { version: sql`${personas.version} + 1` } : {}) })
          .where(eq(personas.id, personaId)),
        recordAudit(deps, tx, {
          type: "PERSONA_UPDATED",
          workspaceId: current.workspaceId,
          actorUserId: caller.userId,
          targetType: "persona",
          targetId: personaId,
          data: { via: "PATCH /api/personas/{id}", fields: changed },
        }),
        readBack,
      ]);
    });
    // The read-back is the last statement either way.
    const [row] = (await outcome.results).at(-1) as Awaited<ReturnType<typeof personaDtoRow>>;
    if (!row) throw notFound();
    const dto = toPersonaDto(row, row);
    return rotatedSecret ? { ...dto, webhookSecret: rotatedSecret } : dto;
  } catch (error) {
    if (isUniqueViolation(error)) throw slugTaken();
    throw error;
  }
}

/**
 * Deactivates a persona (DELETE): from now on it behaves as missing everywhere. Its slug is renamed out of
 * the way, so the scope can reuse it; conversations keep pointing at the row.
 */
export async function deactivatePersona(deps: Deps, caller: Manager, personaId: string): Promise<void> {
  // Two round trips: the lock (with the session check), then the update and its audit with COMMIT.
  await deps.db.transaction(async (tx) => {
    const current = await lockManageable(tx, caller, personaId);
    return lastStatements(tx, [
      tx
        .update(personas)
        .set({ isActive: false, slug: `${current.slug.slice(0, 48)}-deleted-${randomSuffix()}` })
        .where(eq(personas.id, personaId)),
      recordAudit(deps, tx, {
        type: "PERSONA_UPDATED",
        workspaceId: current.workspaceId,
        actorUserId: caller.userId,
        targetType: "persona",
        targetId: personaId,
        data: { via: "DELETE /api/personas/{id}", deactivated: true, slug: current.slug },
      }),
    ]);
  });
}

// --- deliveries ---------------------------------------------------------------------------------------------

/**
 * The breaker of a gate (`personaGateName`: the caller's workspace's view) as it is now. Asking settles the
 * gate's state (a write in the object), so only for a visible persona and an authorised caller.
 */
export function personaBreaker(deps: Pick<Deps, "env">, gateName: string): Promise<DeliveriesDto["breaker"]> {
  return deps.env.PERSONA_GATE.get(deps.env.PERSONA_GATE.idFromName(gateName)).status();
}

/**
 * The PersonaGate that admits a workspace's chats with this persona: the persona's own for a workspace
 * persona; for a global persona (shared by every tenant) one per (persona, workspace), so that one tenant's
 * traffic or failures neither use up nor open another's (issue 16). The persona's own instance is then its
 * shared gate (chat/relay-gate.ts).
 */
export function personaGateName(persona: Pick<Persona, "id" | "workspaceId">, workspaceId: string): string {
  return persona.workspaceId === null ? `${persona.id}:${workspaceId}` : persona.id;
}

/**
 * The caller's workspace's recent chat runs for a visible persona, newest first (database only: it may run
 * beside the session check, see readAfterAuth). Runs of other workspaces (global personas are shared) are
 * never included. The breaker comes from `personaBreaker`, once the caller is known.
 */
export async function listDeliveries(
  deps: Deps,
  caller: Pick<Caller, "workspaceId">,
  personaId: string,
  query: { limit: number; cursor?: string },
): Promise<Omit<DeliveriesDto, "breaker"> & { gateName: string }> {
  const conditions: SQL[] = [eq(chatRuns.personaId, personaId), eq(chatRuns.workspaceId, caller.workspaceId)];
  if (query.cursor) {
    const after = decodeCursor(query.cursor, { key: "timestamp" });
    conditions.push(
      sql`(${chatRuns.startedAt}, ${chatRuns.id}) < (${after.k}::timestamptz, ${after.i}::uuid)`,
    );
  }
  // The visibility check and the page in one flight (the session check's, with readAfterAuth): the page is
  // scoped to the caller's workspace, so it is empty for a foreign persona and dropped with the 404 anyway.
  const [visible, rows] = await Promise.all([
    findVisiblePersona(deps.db, caller.workspaceId, personaId),
    deps.db
      .select({
        run: chatRuns,
        // Microsecond precision, so the keyset never skips runs started in the same millisecond.
        cursorAt: cursorTimeText(chatRuns.startedAt),
      })
      .from(chatRuns)
      .where(and(...conditions))
      .orderBy(newestFirst(chatRuns.startedAt), newestFirst(chatRuns.id))
      .limit(query.limit + 1),
  ]);
  if (!visible) throw notFound();
  const { page, nextCursor } = pageOf(rows, query.limit, (last) => ({ k: last.cursorAt, i: last.run.id }));
  return {
    gateName: personaGateName(visible, caller.workspaceId),
    items: page.map(({ run }) => ({
      id: run.id,
      conversationId: run.conversationId,
      userMessageId: run.userMessageId,
      status: run.status,
      attempts: run.attempts,
      latencyMs: run.latencyMs,
      errorClass: run.errorClass,
      startedAt: run.startedAt.toISOString(),
      finishedAt: run.finishedAt?.toISOString() ?? null,
    })),
    nextCursor,
  };
}
