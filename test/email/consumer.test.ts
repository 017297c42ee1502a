/**
 * The email consumer end to end: outbox rows → worker.queue() → worker-mailer over a real TCP socket → the
 * loopback SMTP sink. Scripted SMTP failures name their recipient, so no other test (of this file or any
 * file running in parallel) can take them.
 */
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/core/logger";
import { emailDeliveries } from "../../src/db/schema";
import { dispatchEmails, type EmailInput } from "../../src/email/outbox";
import { withDb } from "../helpers/db";
import {
  failNextMails,
  getDelivery,
  mailsTo,
  onlyLink,
  onlyMail,
  queue,
  recipient,
  runQueue,
  updateDelivery,
  waitForMails,
} from "./support";

const EVIL = `<script>alert("x")</script>`;
const PURGE = "2026-10-01T08:00:00.000Z";
const BASE = "http://127.0.0.1:8787"; // FRONTEND_URL of the test config (defaults to APP_BASE_URL)

/** A token with characters that must be URL-encoded, so the round trip proves the encoding. */
const trickyToken = () => `tok+/=&${crypto.randomUUID()}`;

type Case = {
  build: (to: string, token: string) => EmailInput;
  subject: RegExp;
  path?: string;
  escaped: string;
};

const CASES: Record<string, Case> = {
  "verify-email": {
    build: (to, token) => ({ template: "verify-email", to, params: { name: EVIL }, secretParams: { token } }),
    subject: /^Confirm your email address for AI-Persona$/,
    path: "/verify-email",
    escaped: "Hello &lt;script&gt;",
  },
  "reset-password": {
    build: (to, token) => ({
      template: "reset-password",
      to,
      params: { name: EVIL },
      secretParams: { token },
    }),
    subject: /^Reset your AI-Persona password$/,
    path: "/reset-password",
    escaped: "Hello &lt;script&gt;",
  },
  "register-attempt": {
    build: (to) => ({ template: "register-attempt", to, params: { name: EVIL } }),
    subject: /^Someone tried to sign up for AI-Persona with your email address$/,
    path: "/reset-password",
    escaped: "Hello &lt;script&gt;",
  },
  "password-changed": {
    build: (to) => ({ template: "password-changed", to, params: { name: EVIL } }),
    subject: /^Your AI-Persona password was changed$/,
    path: "/reset-password",
    escaped: "Hello &lt;script&gt;",
  },
  "deletion-scheduled": {
    build: (to, token) => ({
      template: "deletion-scheduled",
      to,
      params: { name: EVIL, purgeAfter: PURGE },
      secretParams: { token },
    }),
    subject: /^Your AI-Persona account is scheduled for deletion$/,
    path: "/cancel-deletion",
    escaped: "Hello &lt;script&gt;",
  },
  "invite-only-domain": {
    build: (to) => ({
      template: "invite-only-domain",
      to,
      params: { name: "Ada", workspaceName: EVIL, domain: "acme.test" },
    }),
    subject: /^Ask for an invitation to join <script>alert\("x"\)<\/script>$/,
    escaped: "workspace &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; of acme.test",
  },
  "workspace-deletion-scheduled": {
    build: (to) => ({
      template: "workspace-deletion-scheduled",
      to,
      params: { name: "Ada", workspaceName: "Acme", purgeAfter: PURGE, reason: EVIL },
    }),
    subject: /^Workspace Acme is scheduled for deletion$/,
    escaped: "Reason given: &lt;script&gt;",
  },
  invitation: {
    build: (to, token) => ({
      template: "invitation",
      to,
      params: { workspaceName: "Acme", inviterName: EVIL, role: "MEMBER" },
      secretParams: { token },
    }),
    subject: /^<script>alert\("x"\)<\/script> invited you to Acme on AI-Persona$/,
    path: "/accept-invite",
    escaped: "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; invited you",
  },
};

describe("queue() email-queue", () => {
  it.each(Object.entries(CASES))(
    "delivers %s with its subject, absolute link and escaped HTML",
    async (template, c) => {
      const to = recipient(template);
      const token = trickyToken();
      const id = await queue(c.build(to, token));

      const result = await runQueue("email-queue", [id]);
      expect(result.explicitAcks).toEqual(result.ids);
      expect(result.retryMessages).toEqual([]);

      const mail = await onlyMail(to);
      expect(mail.subject).toMatch(c.subject);
      expect(mail.to).toEqual([to]);
      expect(mail.from).toContain("no-reply@localhost");
      expect(mail.headers["message-id"]).toBe(`<${id}@localhost>`);
      expect(mail.html).toContain(c.escaped);
      expect(mail.html).not.toContain("<script>");
      if (c.path) {
        const link = onlyLink(mail);
        expect(`${link.origin}${link.pathname}`).toBe(`${BASE}${c.path}`);
        if (template !== "register-attempt" && template !== "password-changed") {
          expect(link.searchParams.get("token")).toBe(token);
        } else {
          expect(link.search).toBe("");
        }
      } else {
        expect(mail.links).toEqual([]);
      }

      const row = await getDelivery(id);
      expect(row).toMatchObject({
        status: "SENT",
        attempts: 1,
        secretParamsEncrypted: null,
        lastError: null,
      });
      expect(row.sentAt).toBeInstanceOf(Date);
      expect(row.claimedAt).toBeInstanceOf(Date);
    },
  );

  it("sends nothing when a SENT delivery is delivered again, or twice in one batch", async () => {
    const to = recipient();
    const id = await queue({ template: "password-changed", to, params: { name: "Ada" } });

    const first = await runQueue("email-queue", [id, id]);
    expect(first.explicitAcks).toEqual(first.ids);
    const again = await runQueue("email-queue", [id], { attempts: 2 });
    expect(again.explicitAcks).toEqual(again.ids);
    expect(again.retryMessages).toEqual([]);

    expect(await mailsTo(to)).toHaveLength(1);
    expect((await getDelivery(id)).attempts).toBe(1);
  });

  it("marks a refused mail FAILED, retries it after 60 s, and sends it on the next delivery", async () => {
    const to = recipient();
    const token = trickyToken();
    const id = await queue({
      template: "verify-email",
      to,
      params: { name: "Ada" },
      secretParams: { token },
    });

    await failNextMails(1, to);
    const failed = await runQueue("email-queue", [id], { attempts: 1 });
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages).toEqual([{ msgId: failed.ids[0] }]);
    expect(failed.retries).toEqual([{ msgId: failed.ids[0], delaySeconds: 60 }]);
    const row = await getDelivery(id);
    expect(row).toMatchObject({ status: "FAILED", attempts: 1 });
    expect(row.lastError).toMatch(/451/);
    expect(row.lastError).not.toContain(token);
    expect(row.secretParamsEncrypted).not.toBeNull();
    expect(await mailsTo(to)).toEqual([]);

    const retried = await runQueue("email-queue", [id], { attempts: 2 });
    expect(retried.explicitAcks).toEqual(retried.ids);
    expect(onlyLink(await onlyMail(to)).searchParams.get("token")).toBe(token);
    expect(await getDelivery(id)).toMatchObject({ status: "SENT", attempts: 2, secretParamsEncrypted: null });
  });

  it("backs off exponentially when the SMTP server cannot be reached", async () => {
    const id = await queue({ template: "password-changed", to: recipient(), params: {} });
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const unreachable = { ...env, SMTP_PORT: "1" };
    const third = await runQueue("email-queue", [id], { attempts: 3, env: unreachable });
    expect(third.retries).toEqual([{ msgId: third.ids[0], delaySeconds: 240 }]);
    expect(await getDelivery(id)).toMatchObject({ status: "FAILED", attempts: 1 });
  });

  it("leaves a fresh SENDING claim alone, and reclaims it once stale (a crashed consumer)", async () => {
    const to = recipient();
    const id = await queue({ template: "register-attempt", to, params: { name: "Ada" } });
    await updateDelivery(id, { status: "SENDING", claimedAt: new Date(), attempts: 1 });

    const busy = await runQueue("email-queue", [id], { attempts: 2 });
    expect(busy.explicitAcks).toEqual([]);
    expect(busy.retries).toEqual([{ msgId: busy.ids[0], delaySeconds: 5 * 60 + 30 }]);
    expect(await mailsTo(to)).toEqual([]);

    await updateDelivery(id, { claimedAt: new Date(Date.now() - 6 * 60_000) });
    const reclaimed = await runQueue("email-queue", [id], { attempts: 3 });
    expect(reclaimed.explicitAcks).toEqual(reclaimed.ids);
    expect(await mailsTo(to)).toHaveLength(1);
    expect(await getDelivery(id)).toMatchObject({ status: "SENT", attempts: 2 });
  });

  it("marks a delivery that cannot be rendered DEAD at once, without sending", async () => {
    const to = recipient();
    const id = crypto.randomUUID();
    await withDb((db) =>
      db.insert(emailDeliveries).values({
        id,
        recipient: to,
        template: "verify-email",
        params: { name: "Ada" },
        // Encrypted for another row: fails authentication.
        secretParamsEncrypted: "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      }),
    );
    const result = await runQueue("email-queue", [id]);
    expect(result.explicitAcks).toEqual(result.ids);
    expect(result.retryMessages).toEqual([]);
    expect(await getDelivery(id)).toMatchObject({
      status: "DEAD",
      lastError: "secret params unreadable",
      secretParamsEncrypted: null,
    });
    expect(await mailsTo(to)).toEqual([]);
  });

  it("acks an unknown delivery id and a malformed body without sending", async () => {
    const result = await runQueue("email-queue", [
      crypto.randomUUID(),
      { raw: { kind: "email", deliveryId: "x" } },
    ]);
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    expect(result.retryMessages).toEqual([]);
  });

  it("retries every message, touching nothing, while the configuration is invalid", async () => {
    const id = await queue({ template: "password-changed", to: recipient(), params: {} });
    const result = await runQueue("email-queue", [id, { raw: "garbage" }], {
      attempts: 1,
      env: { ...env, ENCRYPTION_KEY: "not-a-key" },
    });
    expect(result.explicitAcks).toEqual([]);
    expect(result.retries).toEqual(result.ids.map((msgId: string) => ({ msgId, delaySeconds: 60 })));
    expect(await getDelivery(id)).toMatchObject({ status: "QUEUED", attempts: 0 });
  });

  it("with EMAIL_TRANSPORT=log sends nothing and marks the row SENT", async () => {
    const to = recipient();
    const id = await queue({
      template: "reset-password",
      to,
      params: {},
      secretParams: { token: trickyToken() },
    });
    const result = await runQueue("email-queue", [id], { env: { ...env, EMAIL_TRANSPORT: "log" } });
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await getDelivery(id)).toMatchObject({ status: "SENT", secretParamsEncrypted: null });
    expect(await mailsTo(to)).toEqual([]);
  });

  it("builds links from FRONTEND_URL when it is set", async () => {
    const to = recipient();
    const token = trickyToken();
    const id = await queue({
      template: "invitation",
      to,
      params: { workspaceName: "Acme", role: "ADMIN" },
      secretParams: { token },
    });
    await runQueue("email-queue", [id], { env: { ...env, FRONTEND_URL: "https://app.example.test" } });
    const link = onlyLink(await onlyMail(to));
    expect(`${link.origin}${link.pathname}`).toBe("https://app.example.test/accept-invite");
    expect(link.searchParams.get("token")).toBe(token);
  });

  it("a dispatched delivery is picked up by the real queue consumer", async () => {
    const to = recipient();
    const id = await queue({ template: "password-changed", to, params: { name: "Ada" } });
    await dispatchEmails(env, createLogger("error"), [id]);
    const mails = await waitForMails(to);
    expect(mails).toHaveLength(1);
    await expect.poll(async () => (await getDelivery(id)).status, { timeout: 5_000 }).toBe("SENT");
  });
});

describe("queue() email-dlq", () => {
  it("marks the delivery DEAD, keeps last_error and erases the secret params", async () => {
    const id = await queue({
      template: "verify-email",
      to: recipient(),
      params: {},
      secretParams: { token: "t" },
    });
    await updateDelivery(id, { status: "FAILED", attempts: 4, lastError: "451 try later" });
    const result = await runQueue("email-dlq", [id], { attempts: 1 });
    expect(result.explicitAcks).toEqual(result.ids);
    expect(await getDelivery(id)).toMatchObject({
      status: "DEAD",
      lastError: "451 try later",
      secretParamsEncrypted: null,
      attempts: 4,
    });
  });

  it("never turns a SENT delivery DEAD", async () => {
    const id = await queue({ template: "password-changed", to: recipient(), params: {} });
    await withDb((db) =>
      db
        .update(emailDeliveries)
        .set({ status: "SENT", sentAt: sql`now()` })
        .where(sql`${emailDeliveries.id} = ${id}`),
    );
    const result = await runQueue("email-dlq", [id, { raw: "garbage" }]);
    expect(result.explicitAcks.sort()).toEqual([...result.ids].sort());
    expect((await getDelivery(id)).status).toBe("SENT");
  });
});
