/**
 * The maintenance jobs of CONFIG.md, each doing exactly the work listed there. Every job takes bounded
 * batches (`batchSize` rows per statement, at most `maxBatches` statements per run) and claims rows with
 * `FOR UPDATE SKIP LOCKED`, so running twice or concurrently never processes a row twice, and a backlog larger
 * than one run continues at the next. R2 objects are deleted only after the rows that referenced them are gone.
 */
import { and, eq, inArray, isNull, lt, ne, or, type SQL, sql } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { Deps } from "../core/deps";
import { errorFields } from "../core/logger";
import type { DbOrTx } from "../db/client";
import {
  auditEvents,
  chatRuns,
  emailDeliveries,
  files,
  invitations,
  jobRuns,
  sessions,
  users,
  userTokens,
  workspaces,
} from "../db/schema";
import { dispatchEmails } from "../email/outbox";
import { isRotationDue, rotateSigningKeys } from "../modules/auth/signing-keys.service";
import {
  claimDeletedConversations,
  conversationsOwnedBy,
  deleteConversations,
  deleteConversationsOwnedBy,
  deleteExpiredShareLinks,
  deleteWorkspaceConversationBatch,
  failPendingMessages,
  reassignSharedConversations,
} from "../modules/conversations/store/maintenance";
import type { JobName } from "./schedule";

export type JobOptions = {
  /** Rows per statement (default 500; purges use smaller units). */
  batchSize?: number;
  /** Statements per run (default 20). */
  maxBatches?: number;
  /** orphan-objects: objects younger than this are left alone (default one day; tests use 0). */
  minObjectAgeMs?: number;
};
type Stats = Record<string, number>;
type Job = (deps: Deps, options: JobOptions) => Promise<Stats>;

const DEFAULT_BATCH = 500;
const DEFAULT_MAX_BATCHES = 20;
const limits = (options: JobOptions, batch = DEFAULT_BATCH) => ({
  batchSize: options.batchSize ?? batch,
  maxBatches: options.maxBatches ?? DEFAULT_MAX_BATCHES,
});
const ago = (interval: string) => sql`now() - ${interval}::interval`;

/** Deletes rows matching `where` in batches of claimed (SKIP LOCKED) ids; returns how many went. */
async function deleteInBatches(
  db: DbOrTx,
  table: PgTable & { id: PgColumn },
  where: SQL | undefined,
  options: JobOptions,
): Promise<number> {
  const { batchSize, maxBatches } = limits(options);
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const claimed = db
      .select({ id: table.id })
      .from(table)
      .where(where)
      .limit(batchSize)
      .for("update", { skipLocked: true });
    const deleted = await db.delete(table).where(inArray(table.id, claimed)).returning({ id: table.id });
    total += deleted.length;
    if (deleted.length < batchSize) break;
  }
  return total;
}

/** Deletes R2 objects (1000 keys per call); a failure is logged and left to the orphan-objects job. */
async function deleteObjects(deps: Pick<Deps, "env" | "log">, keys: string[]): Promise<number> {
  let deleted = 0;
  for (let start = 0; start < keys.length; start += 1000) {
    const chunk = keys.slice(start, start + 1000);
    try {
      await deps.env.FILES.delete(chunk);
      deleted += chunk.length;
    } catch (error) {
      deps.log.warn("R2 delete failed; the orphan-objects job will retry", {
        count: chunk.length,
        ...errorFields(error),
      });
    }
  }
  return deleted;
}

/** Expired single-use tokens (verification, reset, OAuth codes, cancel links) and invitations. */
const tokens: Job = async ({ db }, options) => ({
  userTokens: await deleteInBatches(db, userTokens, lt(userTokens.expiresAt, sql`now()`), options),
  invitations: await deleteInBatches(db, invitations, lt(invitations.expiresAt, sql`now()`), options),
});

/** Upload slots never used within an hour: rows, then any object a half-finished upload left. */
const pendingFiles: Job = async (deps, options) => {
  const { batchSize, maxBatches } = limits(options);
  const stats = { files: 0, objects: 0 };
  for (let batch = 0; batch < maxBatches; batch++) {
    const claimed = deps.db
      .select({ id: files.id })
      .from(files)
      .where(and(eq(files.status, "PENDING"), lt(files.createdAt, ago("1 hour"))))
      .limit(batchSize)
      .for("update", { skipLocked: true });
    const deleted = await deps.db
      .delete(files)
      .where(inArray(files.id, claimed))
      .returning({ key: files.r2Key });
    stats.files += deleted.length;
    stats.objects += await deleteObjects(
      deps,
      deleted.map((row) => row.key),
    );
    if (deleted.length < batchSize) break;
  }
  return stats;
};

/** Sessions 7 days past their absolute expiry (kept that long for the sessions list and investigations). */
const oldSessions: Job = async ({ db }, options) => ({
  sessions: await deleteInBatches(db, sessions, lt(sessions.absoluteExpiresAt, ago("7 days")), options),
});

/** Share links past their expiry. */
const expiredShares: Job = async ({ db }, options) => {
  const { batchSize, maxBatches } = limits(options);
  let total = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const gone = await deleteExpiredShareLinks(db, batchSize);
    total += gone;
    if (gone < batchSize) break;
  }
  return { shareLinks: total };
};

/** Relays stuck PENDING for 5 minutes (their isolate died): TIMEOUT, and the user message FAILED (retryable). */
const stuckChatRuns: Job = async ({ db }, options) => {
  const { batchSize, maxBatches } = limits(options);
  const stats = { chatRuns: 0, messages: 0 };
  for (let batch = 0; batch < maxBatches; batch++) {
    const done = await db.transaction(async (tx) => {
      const claimed = tx
        .select({ id: chatRuns.id })
        .from(chatRuns)
        .where(and(eq(chatRuns.status, "PENDING"), lt(chatRuns.startedAt, ago("5 minutes"))))
        .limit(batchSize)
        .for("update", { skipLocked: true });
      const timedOut = await tx
        .update(chatRuns)
        .set({ status: "TIMEOUT", errorClass: "TIMEOUT", finishedAt: sql`now()` })
        .where(inArray(chatRuns.id, claimed))
        .returning({ messageId: chatRuns.userMessageId });
      const failed = await failPendingMessages(
        tx,
        timedOut.map((r) => r.messageId),
      );
      return { runs: timedOut.length, messages: failed };
    });
    stats.chatRuns += done.runs;
    stats.messages += done.messages;
    if (done.runs < batchSize) break;
  }
  return stats;
};

/**
 * QUEUED mails never attempted 10 minutes after they were written (their queue message was lost): sent to the
 * queue again. `claimed_at` marks the re-enqueue, so the next run leaves them alone for another 10 minutes;
 * a duplicate message is harmless anyway (the consumer claims each row once).
 */
const requeueEmails: Job = async (deps, options) => {
  const { batchSize, maxBatches } = limits(options);
  let requeued = 0;
  for (let batch = 0; batch < maxBatches; batch++) {
    const claimed = deps.db
      .select({ id: emailDeliveries.id })
      .from(emailDeliveries)
      .where(
        and(
          eq(emailDeliveries.status, "QUEUED"),
          eq(emailDeliveries.attempts, 0),
          lt(emailDeliveries.createdAt, ago("10 minutes")),
          or(isNull(emailDeliveries.claimedAt), lt(emailDeliveries.claimedAt, ago("10 minutes"))),
        ),
      )
      .limit(batchSize)
      .for("update", { skipLocked: true });
    const marked = await deps.db
      .update(emailDeliveries)
      .set({ claimedAt: sql`now()` })
      .where(and(inArray(emailDeliveries.id, claimed), eq(emailDeliveries.status, "QUEUED")))
      .returning({ id: emailDeliveries.id });
    await dispatchEmails(
      deps.env,
      deps.log,
      marked.map((row) => row.id),
    );
    requeued += marked.length;
    if (marked.length < batchSize) break;
  }
  return { requeued };
};

/** Registrations never verified within 7 days (they own nothing yet: no workspace). */
const unverifiedAccounts: Job = async ({ db }, options) => ({
  users: await deleteInBatches(
    db,
    users,
    and(eq(users.status, "PENDING_VERIFY"), lt(users.createdAt, ago("7 days"))),
    options,
  ),
});

/**
 * Accounts past their deletion grace, one transaction each: SHARED conversations they own pass to an ACTIVE
 * ADMIN of the workspace (or are deleted when none is left), PRIVATE ones are deleted with their messages,
 * reactions and files; sessions, tokens, favourites, reactions and OAuth links go with the user row (cascades);
 * messages, files and links they authored elsewhere keep existing without an author (SET NULL); audit events
 * keep the event but lose the IP and user agent. R2 objects (avatar, deleted attachments) go after commit.
 */
const accountPurge: Job = async (deps, options) => {
  const { batchSize, maxBatches } = limits(options, 25);
  const stats = { users: 0, conversationsDeleted: 0, conversationsReassigned: 0, objects: 0 };
  for (let i = 0; i < batchSize * maxBatches; i++) {
    const purged = await deps.db.transaction(async (tx) => {
      const [user] = await tx
        .select({ id: users.id, workspaceId: users.workspaceId, avatarKey: users.avatarKey })
        .from(users)
        .where(and(eq(users.status, "PENDING_DELETION"), lt(users.purgeAfter, sql`now()`)))
        .limit(1)
        .for("update", { skipLocked: true });
      if (!user) return null;
      const keys: string[] = user.avatarKey ? [user.avatarKey] : [];
      let reassigned = 0;
      let deleted = 0;
      if (user.workspaceId) {
        const [heir] = await tx
          .select({ id: users.id })
          .from(users)
          .where(
            and(
              eq(users.workspaceId, user.workspaceId),
              eq(users.role, "ADMIN"),
              eq(users.status, "ACTIVE"),
              ne(users.id, user.id),
            ),
          )
          .orderBy(users.createdAt)
          .limit(1);
        if (heir) reassigned = await reassignSharedConversations(tx, user.id, heir.id);
        const owned = conversationsOwnedBy(tx, user.id);
        const fileKeys = await tx
          .select({ key: files.r2Key })
          .from(files)
          .where(inArray(files.conversationId, owned));
        keys.push(...fileKeys.map((row) => row.key));
        deleted = await deleteConversationsOwnedBy(tx, user.id);
      }
      await tx
        .update(auditEvents)
        .set({ ip: null, userAgent: null })
        .where(
          or(
            eq(auditEvents.actorUserId, user.id),
            and(eq(auditEvents.targetType, "user"), eq(auditEvents.targetId, user.id)),
          ),
        );
      await tx.delete(users).where(eq(users.id, user.id));
      return { keys, reassigned, deleted };
    });
    if (!purged) break;
    stats.users += 1;
    stats.conversationsReassigned += purged.reassigned;
    stats.conversationsDeleted += purged.deleted;
    stats.objects += await deleteObjects(deps, purged.keys);
  }
  return stats;
};

/**
 * Workspaces past their deletion grace: first every R2 object under both prefixes (paged listing), then
 * conversations in batches (each cascading messages, files, links, runs), then the workspace row, which takes
 * every remaining tenant row with it. A large workspace takes several runs; nothing is half-deleted in a way
 * a later run cannot finish.
 */
const workspacePurge: Job = async (deps, options) => {
  const { batchSize, maxBatches } = limits(options, 200);
  const stats = { workspaces: 0, conversations: 0, objects: 0 };
  // A few workspaces per run; each phase has its own bounded budget, so every run makes progress.
  for (let round = 0; round < 5; round++) {
    const [due] = await deps.db
      .select({ id: workspaces.id })
      .from(workspaces)
      .where(and(eq(workspaces.status, "PENDING_DELETION"), lt(workspaces.purgeAfter, sql`now()`)))
      .orderBy(workspaces.purgeAfter)
      .limit(1);
    // Two runs may work on the same workspace at once: every step below is idempotent (objects deleted twice,
    // conversations claimed with SKIP LOCKED, the final delete conditional).
    if (!due) break;
    let objectsLeft = false;
    for (const prefix of [`avatars/${due.id}/`, `attachments/${due.id}/`]) {
      for (let page = 0; ; page++) {
        if (page >= maxBatches) {
          objectsLeft = true;
          break;
        }
        // Always the first page: what was deleted no longer lists.
        const listing = await deps.env.FILES.list({ prefix, limit: 1000 });
        stats.objects += await deleteObjects(
          deps,
          listing.objects.map((object) => object.key),
        );
        if (!listing.truncated) break;
      }
    }
    let conversationsLeft = true;
    for (let batch = 0; batch < maxBatches; batch++) {
      const gone = await deleteWorkspaceConversationBatch(deps.db, due.id, batchSize);
      stats.conversations += gone;
      if (gone < batchSize) {
        conversationsLeft = false;
        break;
      }
    }
    // The rest of the run's budget is spent; the next run continues where this one stopped.
    if (objectsLeft || conversationsLeft) break;
    const [purged] = await deps.db
      .delete(workspaces)
      .where(
        and(
          eq(workspaces.id, due.id),
          eq(workspaces.status, "PENDING_DELETION"),
          lt(workspaces.purgeAfter, sql`now()`),
        ),
      )
      .returning({ id: workspaces.id });
    if (purged) {
      stats.workspaces += 1;
      deps.log.info("workspace purged", { workspaceId: purged.id });
    }
  }
  return stats;
};

/** Conversations their owners deleted: rows (cascading messages, reactions, files, links) and R2 objects. */
const conversationPurge: Job = async (deps, options) => {
  const { batchSize, maxBatches } = limits(options, 100);
  const stats = { conversations: 0, objects: 0 };
  for (let batch = 0; batch < maxBatches; batch++) {
    const done = await deps.db.transaction(async (tx) => {
      const ids = await claimDeletedConversations(tx, batchSize);
      if (ids.length === 0) return { count: 0, keys: [] as string[] };
      const keys = await tx
        .select({ key: files.r2Key })
        .from(files)
        .where(inArray(files.conversationId, ids));
      await deleteConversations(tx, ids);
      return { count: ids.length, keys: keys.map((row) => row.key) };
    });
    stats.conversations += done.count;
    stats.objects += await deleteObjects(deps, done.keys);
    if (done.count < batchSize) break;
  }
  return stats;
};

/** Rotates the signing keys when the CURRENT key is 30 days old. */
const keyRotation: Job = async (deps) => {
  if (!(await isRotationDue(deps))) return { rotated: 0 };
  await rotateSigningKeys(deps, null);
  return { rotated: 1 };
};

/** Retention: audit 365 days, job runs 90 days, sent (and dead) mail rows 30 days. */
const retention: Job = async ({ db }, options) => ({
  auditEvents: await deleteInBatches(db, auditEvents, lt(auditEvents.createdAt, ago("365 days")), options),
  jobRuns: await deleteInBatches(
    db,
    jobRuns,
    and(lt(jobRuns.startedAt, ago("90 days")), ne(jobRuns.status, "RUNNING")),
    options,
  ),
  emails: await deleteInBatches(
    db,
    emailDeliveries,
    or(
      and(eq(emailDeliveries.status, "SENT"), lt(emailDeliveries.sentAt, ago("30 days"))),
      and(eq(emailDeliveries.status, "DEAD"), lt(emailDeliveries.createdAt, ago("30 days"))),
    ),
    options,
  ),
});

/**
 * R2 objects under avatars/ and attachments/ that no row references (left by crashes between an R2 write and
 * its database update). Objects younger than a day are skipped: an upload may be between its two steps.
 * The listing is paged; a bucket too large for one run's pages is finished by the following weeks' runs.
 */
const orphanObjects: Job = async (deps, options) => {
  const { maxBatches } = limits(options);
  const stats = { scanned: 0, deleted: 0 };
  const cutoff = Date.now() - (options.minObjectAgeMs ?? 86_400_000);
  for (const prefix of ["avatars/", "attachments/"]) {
    let cursor: string | undefined;
    for (let page = 0; page < maxBatches; page++) {
      const listing = await deps.env.FILES.list({ prefix, cursor, limit: 1000 });
      const keys = listing.objects
        .filter((object) => object.uploaded.getTime() < cutoff)
        .map((object) => object.key);
      stats.scanned += listing.objects.length;
      if (keys.length > 0) {
        const referenced =
          prefix === "avatars/"
            ? await deps.db.select({ key: users.avatarKey }).from(users).where(inArray(users.avatarKey, keys))
            : await deps.db.select({ key: files.r2Key }).from(files).where(inArray(files.r2Key, keys));
        const known = new Set(referenced.map((row) => row.key));
        stats.deleted += await deleteObjects(
          deps,
          keys.filter((key) => !known.has(key)),
        );
      }
      if (!listing.truncated) break;
      cursor = listing.cursor;
    }
  }
  return stats;
};

/** Job name → function (the names of CONFIG.md and wrangler.toml's cron schedule). */
export const JOBS: Record<JobName, Job> = {
  tokens,
  files: pendingFiles,
  sessions: oldSessions,
  shares: expiredShares,
  "chat-runs": stuckChatRuns,
  emails: requeueEmails,
  "unverified-accounts": unverifiedAccounts,
  "account-purge": accountPurge,
  "workspace-purge": workspacePurge,
  "conversation-purge": conversationPurge,
  "key-rotation": keyRotation,
  retention,
  "orphan-objects": orphanObjects,
};
