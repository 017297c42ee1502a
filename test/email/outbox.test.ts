import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { decrypt, randomToken } from "../../src/core/crypto";
import type { Logger } from "../../src/core/logger";
import { emailDeliveries } from "../../src/db/schema";
import { dispatchEmails, queueEmail } from "../../src/email/outbox";
import type { Env } from "../../src/env";
import { withDb } from "../helpers/db";
import { config, getDelivery, queue, recipient } from "./support";

/** A logger that keeps its lines, for asserting what was logged. */
function recordingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  const log: Logger = { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
  return { log, lines };
}

/** An env whose EMAIL_QUEUE records sendBatch calls (or fails them). */
function envWithQueue(sendBatch: (messages: MessageSendRequest[]) => Promise<unknown>): Env {
  return { ...env, EMAIL_QUEUE: { sendBatch, send: async () => {} } as unknown as Queue<unknown> };
}

describe("queueEmail", () => {
  it("stores a QUEUED row whose token is encrypted and bound to the delivery id", async () => {
    const to = recipient();
    const token = randomToken();
    const id = await queue({
      template: "verify-email",
      to,
      params: { name: "Ada" },
      secretParams: { token },
    });

    const row = await getDelivery(id);
    expect(row).toMatchObject({
      recipient: to,
      template: "verify-email",
      params: { name: "Ada" },
      status: "QUEUED",
      attempts: 0,
      claimedAt: null,
      sentAt: null,
    });
    expect(row.secretParamsEncrypted).toMatch(/^v1:/);
    expect(JSON.stringify(row)).not.toContain(token);
    const key = config().ENCRYPTION_KEY;
    const sealed = row.secretParamsEncrypted as string;
    expect(JSON.parse(await decrypt(key, "email-params", sealed, id))).toEqual({ token });
    // Bound to this row: the same ciphertext on another row does not decrypt.
    await expect(decrypt(key, "email-params", sealed, crypto.randomUUID())).rejects.toThrow();
  });

  it("stores no ciphertext for templates without a token", async () => {
    const id = await queue({ template: "password-changed", to: recipient(), params: { name: null } });
    expect((await getDelivery(id)).secretParamsEncrypted).toBeNull();
  });

  it("writes inside the caller's transaction: a rollback leaves no row", async () => {
    const to = recipient();
    await withDb(async (db) => {
      await expect(
        db.transaction(async (tx) => {
          await queueEmail(tx, config(), { template: "register-attempt", to, params: { name: "Ada" } });
          throw new Error("rollback");
        }),
      ).rejects.toThrow("rollback");
    });
    const rows = await withDb((db) =>
      db.select().from(emailDeliveries).where(eq(emailDeliveries.recipient, to)),
    );
    expect(rows).toEqual([]);
  });

  it("throws on input that does not fit its template, storing nothing", async () => {
    await expect(
      queue({
        template: "deletion-scheduled",
        to: recipient(),
        params: { purgeAfter: "soon" },
        secretParams: { token: "t" },
      }),
    ).rejects.toThrow(/purgeAfter/);
    await expect(queue({ template: "password-changed", to: "not an address", params: {} })).rejects.toThrow(
      /recipient/,
    );
  });
});

describe("dispatchEmails", () => {
  it("sends one {kind:'email', deliveryId} JSON message per id, at most 100 per sendBatch", async () => {
    const calls: MessageSendRequest[][] = [];
    const ids = Array.from({ length: 205 }, () => crypto.randomUUID());
    const { log, lines } = recordingLogger();
    await dispatchEmails(
      envWithQueue(async (messages) => {
        calls.push(messages);
      }),
      log,
      ids,
    );
    expect(calls.map((c) => c.length)).toEqual([100, 100, 5]);
    expect(calls.flat()).toEqual(
      ids.map((deliveryId) => ({ body: { kind: "email", deliveryId }, contentType: "json" })),
    );
    expect(lines).toEqual([]);
  });

  it("does nothing for an empty list", async () => {
    let called = false;
    await dispatchEmails(
      envWithQueue(async () => {
        called = true;
      }),
      recordingLogger().log,
      [],
    );
    expect(called).toBe(false);
  });

  it("logs a failed send instead of throwing (the emails job re-enqueues the rows)", async () => {
    const { log, lines } = recordingLogger();
    const ids = [crypto.randomUUID()];
    await expect(
      dispatchEmails(
        envWithQueue(async () => {
          throw new Error("queue unavailable");
        }),
        log,
        ids,
      ),
    ).resolves.toBeUndefined();
    expect(lines).toMatchObject([
      { level: "warn", fields: { deliveryIds: ids, errorMessage: "queue unavailable" } },
    ]);
  });

  it("puts messages on the real EMAIL_QUEUE binding", async () => {
    await expect(dispatchEmails(env, recordingLogger().log, [crypto.randomUUID()])).resolves.toBeUndefined();
  });
});
