/**
 * The transactional-email outbox (DESIGN.md "Email", CONFIG.md "Email queue"). Services write an
 * `email_deliveries` row inside their own transaction (`queueEmail`), and only after it commits put the row's id
 * on EMAIL_QUEUE (`dispatchEmails`). A mail therefore exists exactly when the change that caused it does, and a
 * lost queue message is recovered by the `emails` cron job from the row alone.
 */
import { encrypt } from "../core/crypto";
import { newId } from "../core/ids";
import { errorFields, type Logger } from "../core/logger";
import type { DbOrTx } from "../db/client";
import { emailDeliveries } from "../db/schema";
import type { Config, Env } from "../env";
import type { EmailQueueMessage } from "./queue-messages";
import { parseEmailInput } from "./templates";

export type EmailTemplate =
  | "verify-email"
  | "reset-password"
  | "register-attempt"
  | "password-changed"
  | "deletion-scheduled"
  | "invite-only-domain"
  | "workspace-deletion-scheduled"
  | "invitation";

/** The recipient's display name; `null`/absent → a neutral greeting. */
type Greeting = { name?: string | null };

/**
 * What a service asks to send. `params` are stored in clear (names, dates — never secrets); `secretParams` holds
 * only raw single-use tokens, stored encrypted and erased once the mail is sent. Links are built at render time
 * from FRONTEND_URL, so no URL is stored.
 */
export type EmailInput =
  | {
      template: "verify-email";
      to: string;
      params: Greeting;
      secretParams: { token: string };
    }
  | {
      template: "reset-password";
      to: string;
      params: Greeting;
      secretParams: { token: string };
    }
  | {
      /** "Someone tried to register with your address" — sent instead of revealing that the account exists. */
      template: "register-attempt";
      to: string;
      params: Greeting;
    }
  | {
      template: "password-changed";
      to: string;
      params: Greeting;
    }
  | {
      /** Account deletion requested; the token cancels it during the grace period. */
      template: "deletion-scheduled";
      to: string;
      /** `purgeAfter`: ISO 8601 timestamp. */
      params: Greeting & { purgeAfter: string };
      secretParams: { token: string };
    }
  | {
      /** The domain's workspace is INVITE_ONLY: the user got a personal workspace and should ask for an invitation. */
      template: "invite-only-domain";
      to: string;
      params: Greeting & { workspaceName: string; domain: string };
    }
  | {
      /** To each admin of a workspace whose deletion was requested. `purgeAfter`: ISO 8601 timestamp. */
      template: "workspace-deletion-scheduled";
      to: string;
      params: Greeting & { workspaceName: string; purgeAfter: string; reason?: string | null };
    }
  | {
      template: "invitation";
      to: string;
      params: { workspaceName: string; inviterName?: string | null; role: "ADMIN" | "MEMBER" };
      secretParams: { token: string };
    };

/** The `params` of one template. */
export type EmailParams<T extends EmailTemplate> = Extract<EmailInput, { template: T }>["params"];

/**
 * Inserts an `email_deliveries` row (status QUEUED) — in the caller's transaction when given one, so the mail
 * exists only if the change that caused it commits. Secret params (tokens) are encrypted with the
 * "email-params" subkey and bound to the delivery id as context, so a ciphertext copied onto another row does
 * not decrypt. Does NOT touch the queue: call `dispatchEmails` with the returned id after the commit.
 *
 * @throws Error when the input does not match its template (a programming error: fail the request, not the mail).
 * @returns the delivery id.
 */
export async function queueEmail(db: DbOrTx, config: Config, input: EmailInput): Promise<string> {
  const row = await emailRow(config, input);
  await db.insert(emailDeliveries).values(row);
  return row.id;
}

/**
 * The `email_deliveries` row `queueEmail` inserts, with its secret params already encrypted: for a transaction
 * that writes it among its last statements (`lastStatements`), where nothing may still be awaiting crypto.
 */
export async function emailRow(config: Config, input: EmailInput) {
  const { recipient, params, secretParams } = parseEmailInput(input);
  const id = newId();
  const secretParamsEncrypted = secretParams
    ? await encrypt(config.ENCRYPTION_KEY, "email-params", JSON.stringify(secretParams), id)
    : null;
  return { id, recipient, template: input.template, params, secretParamsEncrypted };
}

/** Cloudflare Queues accepts at most 100 messages per sendBatch call. */
const SEND_BATCH_LIMIT = 100;

/**
 * Call after the transaction that queued the mails has committed: sends one `{kind: "email", deliveryId}`
 * message per id (sendBatch). A failed send is logged, not thrown — the request that caused the mail already
 * succeeded, and the `emails` cron job re-enqueues QUEUED rows older than 10 minutes.
 */
export async function dispatchEmails(env: Env, log: Logger, deliveryIds: string[]): Promise<void> {
  for (let start = 0; start < deliveryIds.length; start += SEND_BATCH_LIMIT) {
    const chunk = deliveryIds.slice(start, start + SEND_BATCH_LIMIT);
    try {
      await env.EMAIL_QUEUE.sendBatch(
        chunk.map((deliveryId) => ({
          body: { kind: "email", deliveryId } satisfies EmailQueueMessage,
          contentType: "json" as const,
        })),
      );
    } catch (error) {
      log.warn("email dispatch failed; the emails job will re-enqueue", {
        deliveryIds: chunk,
        ...errorFields(error),
      });
    }
  }
}
