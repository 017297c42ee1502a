/**
 * Queue consumer of the email outbox (CONFIG.md "Email queue"). Queue messages carry only a delivery id; the
 * `email_deliveries` row is the source of truth, and a conditional update that claims it (QUEUED/FAILED →
 * SENDING) decides who sends, so a redelivered or duplicated message sends nothing twice. Every message is
 * acked or retried on its own — one bad mail never holds back or repeats the others of its batch.
 */
import { and, eq, inArray, lt, ne, or, sql } from "drizzle-orm";
import { decrypt } from "../core/crypto";
import { createLogger, errorFields, type Logger } from "../core/logger";
import { createDb, type Database } from "../db/client";
import { emailDeliveries } from "../db/schema";
import { type Config, ConfigError, type Env, loadConfig } from "../env";
import { EmailQueueMessage } from "./queue-messages";
import { EmailRenderError, isValidRecipient, type RenderedEmail, renderEmail } from "./templates";
import { createTransport, type MailTransport } from "./transport";

export const EMAIL_QUEUE = "email-queue";
export const EMAIL_DLQ = "email-dlq";

/**
 * A row left in SENDING for longer than this is reclaimed: its consumer died between claim and result. A live
 * consumer holds a claim for one send (≤ 30 s, SMTP_SEND_DEADLINE_MS) plus two short statements, so 5 minutes
 * is a wide margin against sending a mail twice while still recovering a crashed send within minutes.
 */
export const CLAIM_STALE_MINUTES = 5;

/** Queues refuses delays above 12 hours. */
const MAX_DELAY_SECONDS = 43_200;
const LAST_ERROR_MAX = 300;

/** CONFIG.md: a failed send retries after 30 × 2^attempts seconds (60 s after the first attempt). */
export const retryDelaySeconds = (attempts: number): number =>
  Math.min(30 * 2 ** Math.max(attempts, 1), MAX_DELAY_SECONDS);

type Deps = { db: Database; config: Config; log: Logger; transport: MailTransport };
type Job = { message: Message<unknown>; deliveryId: string };

/**
 * The Worker's `queue()` handler: `email-queue` delivers, `email-dlq` marks deliveries DEAD. Malformed bodies
 * are logged and acked (they can never succeed). Opens one database client per batch and closes it at the end.
 */
export async function consumeEmailBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (error) {
    // Nothing can be sent or recorded without a valid configuration; keep the mails for after the fix.
    createLogger("error", { queue: batch.queue }).error("email consumer: invalid configuration", {
      problems: error instanceof ConfigError ? error.problems : undefined,
      ...errorFields(error),
    });
    for (const message of batch.messages)
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    return;
  }
  const log = createLogger(config.LOG_LEVEL, { queue: batch.queue });

  const jobs: Job[] = [];
  for (const message of batch.messages) {
    const parsed = EmailQueueMessage.safeParse(message.body);
    if (parsed.success) {
      jobs.push({ message, deliveryId: parsed.data.deliveryId });
    } else {
      // A malformed body can never succeed: drop it instead of retrying it into the DLQ.
      log.error("dropping malformed queue message", { messageId: message.id });
      message.ack();
    }
  }
  if (jobs.length === 0) return;

  if (batch.queue !== EMAIL_QUEUE && batch.queue !== EMAIL_DLQ) {
    log.error("queue not consumed by this Worker; dropping its messages", { count: jobs.length });
    for (const { message } of jobs) message.ack();
    return;
  }

  const handle = createDb(env.HYPERDRIVE.connectionString);
  const transport = createTransport(config, log);
  const deps: Deps = { db: handle.db, config, log, transport };
  try {
    // One at a time: the batch shares one SMTP connection, and a delivery id repeated within the batch must
    // see the first copy's result.
    for (const job of jobs) {
      if (batch.queue === EMAIL_QUEUE) await deliver(deps, job);
      else await bury(deps, job);
    }
  } finally {
    await transport.close();
    // Every message is already acked or retried: a failing close must not turn into a batch-wide retry.
    await handle
      .close()
      .catch((error: unknown) => log.warn("closing the database client failed", errorFields(error)));
  }
}

/** Claim → decrypt and render → send → record. Never throws: every outcome is an ack or a retry. */
async function deliver(deps: Deps, { message, deliveryId }: Job): Promise<void> {
  const { db, config, log, transport } = deps;
  const fields = { deliveryId, messageId: message.id, attempt: message.attempts };

  let row: Claimed | undefined;
  try {
    row = await claim(db, deliveryId);
    if (!row) {
      const [current] = await db
        .select({ status: emailDeliveries.status })
        .from(emailDeliveries)
        .where(eq(emailDeliveries.id, deliveryId));
      if (current?.status === "SENDING") {
        // Another consumer holds a fresh claim. Acking would lose the mail if that consumer crashed, so look
        // again once the claim can go stale: by then the row is SENT (→ ack) or reclaimable (→ send).
        message.retry({ delaySeconds: CLAIM_STALE_MINUTES * 60 + 30 });
        log.info("email is being sent elsewhere; checking again later", fields);
      } else {
        // SENT, DEAD, or no such row (e.g. its workspace was purged): nothing to send.
        message.ack();
        log.info("email already handled", { ...fields, status: current?.status ?? "missing" });
      }
      return;
    }
  } catch (error) {
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log.warn("email claim failed; retrying", { ...fields, ...errorFields(error) });
    return;
  }

  let mail: RenderedEmail;
  try {
    mail = await render(config, row);
  } catch (error) {
    // Permanent: the same row renders the same way next time. Bury it now instead of retrying 4 times.
    const lastError = error instanceof EmailRenderError ? shorten(error.message) : "secret params unreadable";
    await record(deps, fields, () => markDead(db, row, lastError));
    message.ack();
    log.error("email cannot be rendered; marked DEAD", { ...fields, template: row.template, lastError });
    return;
  }

  try {
    await transport.send({ ...mail, to: row.recipient, deliveryId });
  } catch (error) {
    const lastError = shorten(error instanceof Error ? error.message : String(error));
    const delaySeconds = retryDelaySeconds(message.attempts);
    await record(deps, fields, () => markFailed(db, row, lastError));
    message.retry({ delaySeconds });
    log.warn("email send failed; retrying", { ...fields, template: row.template, lastError, delaySeconds });
    return;
  }

  // The mail is out: even if recording fails, a retry would only send it twice, so ack regardless.
  await record(deps, fields, () => markSent(db, row.id));
  message.ack();
  log.info("email sent", { ...fields, template: row.template });
}

/** DLQ: the mail exhausted its retries. Mark it DEAD (keeping last_error) and erase its secrets. */
async function bury({ db, log }: Deps, { message, deliveryId }: Job): Promise<void> {
  const fields = { deliveryId, messageId: message.id };
  try {
    const [row] = await db
      .update(emailDeliveries)
      .set({ status: "DEAD", secretParamsEncrypted: null })
      // A concurrent send that succeeded wins: SENT is never overwritten.
      .where(and(eq(emailDeliveries.id, deliveryId), ne(emailDeliveries.status, "SENT")))
      .returning({ lastError: emailDeliveries.lastError });
    message.ack();
    if (row) log.error("email undeliverable; marked DEAD", { ...fields, lastError: row.lastError });
    else log.info("dead-lettered email already sent or gone", fields);
  } catch (error) {
    message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    log.warn("marking email DEAD failed; retrying", { ...fields, ...errorFields(error) });
  }
}

type Claimed = Awaited<ReturnType<typeof claim>>;

/**
 * The one conditional update that decides who sends: QUEUED or FAILED rows, and SENDING rows whose claim is
 * older than CLAIM_STALE_MINUTES (a crashed consumer), become SENDING with a fresh claim. No row returned →
 * someone else has it, or it is SENT/DEAD/gone.
 */
async function claim(db: Database, deliveryId: string) {
  const [row] = await db
    .update(emailDeliveries)
    .set({ status: "SENDING", claimedAt: sql`now()`, attempts: sql`${emailDeliveries.attempts} + 1` })
    .where(
      and(
        eq(emailDeliveries.id, deliveryId),
        or(
          inArray(emailDeliveries.status, ["QUEUED", "FAILED"]),
          and(
            eq(emailDeliveries.status, "SENDING"),
            lt(
              emailDeliveries.claimedAt,
              sql`now() - ${sql.raw(`interval '${CLAIM_STALE_MINUTES} minutes'`)}`,
            ),
          ),
        ),
      ),
    )
    .returning({
      id: emailDeliveries.id,
      recipient: emailDeliveries.recipient,
      template: emailDeliveries.template,
      params: emailDeliveries.params,
      secretParamsEncrypted: emailDeliveries.secretParamsEncrypted,
      attempts: emailDeliveries.attempts,
    });
  return row;
}

async function render(config: Config, row: NonNullable<Claimed>): Promise<RenderedEmail> {
  if (!isValidRecipient(row.recipient)) throw new EmailRenderError("invalid recipient address");
  // The delivery id is the encryption context: a ciphertext copied from another row does not decrypt.
  const secret = row.secretParamsEncrypted
    ? JSON.parse(await decrypt(config.ENCRYPTION_KEY, "email-params", row.secretParamsEncrypted, row.id))
    : undefined;
  return renderEmail(config, row.template, row.params, secret);
}

/** Only our own claim is released: a row reclaimed meanwhile by another consumer is left alone. */
const ownClaim = (row: NonNullable<Claimed>) =>
  and(
    eq(emailDeliveries.id, row.id),
    eq(emailDeliveries.status, "SENDING"),
    eq(emailDeliveries.attempts, row.attempts),
  );

async function markFailed(db: Database, row: NonNullable<Claimed>, lastError: string): Promise<void> {
  await db.update(emailDeliveries).set({ status: "FAILED", lastError }).where(ownClaim(row));
}

async function markDead(db: Database, row: NonNullable<Claimed>, lastError: string): Promise<void> {
  await db
    .update(emailDeliveries)
    .set({ status: "DEAD", lastError, secretParamsEncrypted: null })
    .where(ownClaim(row));
}

/** Unconditional on purpose: the mail went out, so SENT is the truth whatever happened to the row meanwhile. */
async function markSent(db: Database, id: string): Promise<void> {
  await db
    .update(emailDeliveries)
    .set({ status: "SENT", sentAt: sql`now()`, secretParamsEncrypted: null })
    .where(eq(emailDeliveries.id, id));
}

/**
 * Runs a bookkeeping update; a failure is logged, not thrown, because the queue outcome is decided by what
 * happened to the mail. After a failed send the row stays SENDING and the retried message reclaims it once
 * stale; after a successful send it stays SENDING for an operator to see (sending twice would be worse).
 */
async function record(
  { log }: Deps,
  fields: Record<string, unknown>,
  update: () => Promise<void>,
): Promise<void> {
  try {
    await update();
  } catch (error) {
    log.error("email status update failed", { ...fields, ...errorFields(error) });
  }
}

/** last_error: one short line. SMTP replies name the failed step and the server's words, never the body. */
function shorten(message: string): string {
  const line = message.replace(/\s+/g, " ").trim();
  return line.length > LAST_ERROR_MAX ? `${line.slice(0, LAST_ERROR_MAX - 1)}…` : line;
}
