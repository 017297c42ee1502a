import { env } from "cloudflare:test";
import type { Mail } from "../../scripts/fakes/smtp-sink";

/** Mails the SMTP sink received for this address (oldest first). */
export async function mailsTo(address: string): Promise<Mail[]> {
  const res = await fetch(`${env.SMTP_CONTROL_URL}/messages?to=${encodeURIComponent(address)}`);
  return (await res.json()) as Mail[];
}

/**
 * Waits until the address has received `count` mails (the queue consumer delivers about a second after the
 * request) and returns them; fails with what did arrive after `timeoutMs`.
 */
export async function waitForMails(address: string, count = 1, timeoutMs = 15_000): Promise<Mail[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const mails = await mailsTo(address);
    if (mails.length >= count) return mails;
    if (Date.now() > deadline) {
      throw new Error(
        `expected ${count} mail(s) to ${address}, got ${mails.length}: ${JSON.stringify(mails.map((m) => m.subject))}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The token of the first link in the mail pointing at `path` (e.g. "/verify-email"). */
export function tokenFromMail(mail: Mail, path: string): string {
  for (const link of mail.links) {
    const url = new URL(link);
    const token = url.searchParams.get("token");
    if (url.pathname === path && token) return token;
  }
  throw new Error(`no ${path} link in mail "${mail.subject}": ${mail.links.join(", ")}`);
}
