import { sql } from "drizzle-orm";
import { check, index, integer, jsonb, pgTable, text } from "drizzle-orm/pg-core";
import { createdAt, id, timestamptz } from "./columns";
import { emailStatus } from "./enums";

/** Outbox of the email queue; the consumer claims a row (QUEUED/FAILED → SENDING) before sending. */
export const emailDeliveries = pgTable(
  "email_deliveries",
  {
    id: id(),
    recipient: text("recipient").notNull(),
    template: text("template").notNull(),
    /** Template parameters that are not secret. */
    params: jsonb("params").$type<Record<string, unknown>>().notNull().default({}),
    /** `v1:` ciphertext of the secret parameters (links with tokens); cleared once sent. */
    secretParamsEncrypted: text("secret_params_encrypted"),
    status: emailStatus("status").notNull().default("QUEUED"),
    claimedAt: timestamptz("claimed_at"),
    attempts: integer("attempts").notNull().default(0),
    lastError: text("last_error"),
    createdAt: createdAt(),
    sentAt: timestamptz("sent_at"),
  },
  (t) => [
    check("email_deliveries_attempts_ck", sql`${t.attempts} >= 0`),
    check(
      "email_deliveries_sent_secrets_ck",
      sql`${t.status} <> 'SENT' OR ${t.secretParamsEncrypted} IS NULL`,
    ),
    // emails job: rows whose queue message was lost
    index("email_deliveries_queued_created_idx").on(t.createdAt).where(sql`${t.status} = 'QUEUED'`),
    // retention job
    index("email_deliveries_sent_idx").on(t.sentAt).where(sql`${t.status} = 'SENT'`),
  ],
);

export type EmailDelivery = typeof emailDeliveries.$inferSelect;
export type NewEmailDelivery = typeof emailDeliveries.$inferInsert;
