import { sql } from "drizzle-orm";
import { check, jsonb, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import type { JWK } from "jose";
import { createdAt, timestamptz } from "./columns";
import { signingKeyStatus } from "./enums";

/** RS256 keys of the access tokens; rotation promotes NEXT → CURRENT → PREVIOUS → RETIRED. */
export const signingKeys = pgTable(
  "signing_keys",
  {
    kid: text("kid").primaryKey(),
    publicJwk: jsonb("public_jwk").$type<JWK>().notNull(),
    /** `v1:`-prefixed AES-GCM ciphertext of the private JWK (signing-key HKDF subkey). */
    privateJwkEncrypted: text("private_jwk_encrypted").notNull(),
    status: signingKeyStatus("status").notNull(),
    createdAt: createdAt(),
    activatedAt: timestamptz("activated_at"),
    /** JWKS stops publishing a PREVIOUS key after this instant. */
    retireAfter: timestamptz("retire_after"),
  },
  (t) => [
    // At most one CURRENT and one NEXT key: two concurrent rotations cannot both win.
    uniqueIndex("signing_keys_one_current_key").on(t.status).where(sql`${t.status} = 'CURRENT'`),
    uniqueIndex("signing_keys_one_next_key").on(t.status).where(sql`${t.status} = 'NEXT'`),
    check("signing_keys_current_activated_ck", sql`${t.status} <> 'CURRENT' OR ${t.activatedAt} IS NOT NULL`),
    check("signing_keys_previous_retire_ck", sql`${t.status} <> 'PREVIOUS' OR ${t.retireAfter} IS NOT NULL`),
  ],
);

export type SigningKey = typeof signingKeys.$inferSelect;
export type NewSigningKey = typeof signingKeys.$inferInsert;
