/**
 * Helpers of the email tests: outbox rows, queue batches run through the Worker's real `queue()` handler, and
 * the SMTP sink's mailbox. The sink is shared by every test file running in parallel, so each test mails
 * unique addresses and only ever looks at its own.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { type EmailDelivery, emailDeliveries } from "../../src/db/schema";
import { type EmailInput, queueEmail } from "../../src/email/outbox";
import { type Env, loadConfig } from "../../src/env";
import worker from "../../src/index";
import { withDb } from "../helpers/db";
import { unique } from "../helpers/factories";

/** What the sink stored (scripts/fakes/smtp-sink.ts `Mail`). */
export type SinkMail = {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
  links: string[];
};

export const config = () => loadConfig(env);

/** A fresh recipient address no other test uses. */
export const recipient = (prefix = "mail") => `${unique(prefix)}@mail.test`;

/** Inserts an outbox row through the real `queueEmail`; returns its id. */
export const queue = (input: EmailInput): Promise<string> => withDb((db) => queueEmail(db, config(), input));

export const getDelivery = async (id: string): Promise<EmailDelivery> => {
  const [row] = await withDb((db) => db.select().from(emailDeliveries).where(eq(emailDeliveries.id, id)));
  if (!row) throw new Error(`no email_deliveries row ${id}`);
  return row;
};

export const updateDelivery = (id: string, values: Partial<EmailDelivery>) =>
  withDb((db) => db.update(emailDeliveries).set(values).where(eq(emailDeliveries.id, id)));

let messageCounter = 0;

/**
 * Runs one batch through `worker.queue` and returns the queue outcome plus `retries` (each retry() call with
 * its delaySeconds). Each body is a delivery id (wrapped as `{kind: "email", deliveryId}`) or a raw body for
 * malformed-message tests.
 */
export async function runQueue(
  queueName: "email-queue" | "email-dlq",
  bodies: (string | { raw: unknown })[],
  options: { attempts?: number; env?: Env } = {},
) {
  const messages = bodies.map((body) => ({
    id: `msg-${++messageCounter}-${unique("q")}`,
    timestamp: new Date(),
    attempts: options.attempts ?? 1,
    body: typeof body === "string" ? { kind: "email", deliveryId: body } : body.raw,
  }));
  const batch = createMessageBatch(queueName, messages);
  // getQueueResult reports which messages were retried but drops the options, so record them on the way.
  const retries: { msgId: string; delaySeconds?: number }[] = [];
  for (const message of batch.messages) {
    const retry = message.retry.bind(message);
    Object.defineProperty(message, "retry", {
      value: (retryOptions?: QueueRetryOptions) => {
        retries.push({ msgId: message.id, ...retryOptions });
        retry(retryOptions);
      },
    });
  }
  const ctx = createExecutionContext();
  await worker.queue(batch, options.env ?? env, ctx);
  const result = await getQueueResult(batch, ctx);
  return { ...result, retries, ids: messages.map((m) => m.id) };
}

export async function mailsTo(address: string): Promise<SinkMail[]> {
  const res = await fetch(`${env.SMTP_CONTROL_URL}/messages?to=${encodeURIComponent(address)}`);
  if (!res.ok) throw new Error(`smtp sink answered ${res.status}`);
  return (await res.json()) as SinkMail[];
}

/** Polls the sink until `count` mails reached `address` (for deliveries made by the real queue consumer). */
export async function waitForMails(address: string, count = 1, timeoutMs = 15_000): Promise<SinkMail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsTo(address);
    if (mails.length >= count || Date.now() > deadline) return mails;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Makes the sink answer 451 to the next `n` mails to `to` (parallel test files never take them). */
export async function failNextMails(n: number, to: string): Promise<void> {
  const res = await fetch(`${env.SMTP_CONTROL_URL}/control`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ failNext: n, to }),
  });
  if (!res.ok) throw new Error(`smtp sink control answered ${res.status}`);
}

/** The one mail `address` received; fails with the mailbox contents otherwise. */
export async function onlyMail(address: string): Promise<SinkMail> {
  const mails = await mailsTo(address);
  const [mail] = mails;
  if (!mail || mails.length !== 1) {
    throw new Error(
      `expected 1 mail to ${address}, got ${mails.length}: ${JSON.stringify(mails.map((m) => m.subject))}`,
    );
  }
  return mail;
}

/** The mail's single link, parsed. */
export function onlyLink(mail: SinkMail): URL {
  const [link] = mail.links;
  if (!link || mail.links.length !== 1) throw new Error(`expected 1 link, got ${JSON.stringify(mail.links)}`);
  return new URL(link);
}
