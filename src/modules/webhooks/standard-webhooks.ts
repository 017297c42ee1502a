/**
 * Webhook secrets and signatures (DESIGN.md "Secrets and tokens"; https://www.standardwebhooks.com).
 *
 * A secret is `whsec_` + base64 of 24–64 random bytes; both signatures are HMAC-SHA256 keyed with the decoded
 * bytes: `webhook-signature: v1,<base64 HMAC of "<id>.<timestamp>.<body>">` (Standard Webhooks) and
 * `X-Webhook-Signature: <hex HMAC of the body>` (what flows built for the original API check). The relay signs
 * with them; the traits webhook verifies them.
 */
import { base64ToBytes, bytesToBase64, bytesToHex } from "../../core/crypto";

export const WEBHOOK_SECRET_PREFIX = "whsec_";
export const WEBHOOK_SECRET_MIN_BYTES = 24;
export const WEBHOOK_SECRET_MAX_BYTES = 64;
/** Bytes of a generated secret. */
export const WEBHOOK_SECRET_BYTES = 32;
/** Standard Webhooks' tolerance for `webhook-timestamp`, either side of now. */
export const WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS = 300;

const encoder = new TextEncoder();

/** A fresh secret in the `whsec_` form (32 random bytes). */
export function generateWebhookSecret(): string {
  return `${WEBHOOK_SECRET_PREFIX}${bytesToBase64(crypto.getRandomValues(new Uint8Array(WEBHOOK_SECRET_BYTES)))}`;
}

/**
 * The key bytes of a `whsec_` secret, or null when the value is not in that form: canonical (padded) base64
 * of 24–64 bytes. Canonical means re-encoding gives the same text, so one key has exactly one spelling.
 */
export function decodeWebhookSecret(secret: string): Uint8Array<ArrayBuffer> | null {
  if (!secret.startsWith(WEBHOOK_SECRET_PREFIX)) return null;
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = base64ToBytes(encoded);
  } catch {
    return null;
  }
  if (bytes.length < WEBHOOK_SECRET_MIN_BYTES || bytes.length > WEBHOOK_SECRET_MAX_BYTES) return null;
  return bytesToBase64(bytes) === encoded ? bytes : null;
}

function hmacKey(secret: Uint8Array<ArrayBuffer>, usages: ("sign" | "verify")[]): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, usages);
}

export type WebhookSignatures = {
  /** `v1,<base64>` for the `webhook-signature` header. */
  standard: string;
  /** Lower-case hex HMAC of the body alone, for `X-Webhook-Signature`. */
  bodyHex: string;
};

/** Both signatures of one delivery attempt. */
export async function signWebhook(
  secret: Uint8Array<ArrayBuffer>,
  message: { id: string; timestamp: string; body: string },
): Promise<WebhookSignatures> {
  const key = await hmacKey(secret, ["sign"]);
  const [standard, bodyOnly] = await Promise.all([
    crypto.subtle.sign("HMAC", key, encoder.encode(`${message.id}.${message.timestamp}.${message.body}`)),
    crypto.subtle.sign("HMAC", key, encoder.encode(message.body)),
  ]);
  return {
    standard: `v1,${bytesToBase64(new Uint8Array(standard))}`,
    bodyHex: bytesToHex(new Uint8Array(bodyOnly)),
  };
}

export type StandardWebhookHeaders = { id: string; timestamp: string; signature: string };

export type VerifyResult = "ok" | "bad-signature" | "stale-timestamp";

/** A `webhook-timestamp` (unix seconds) within ±5 minutes of now. */
export function isFreshTimestamp(timestamp: string, nowSeconds = Math.floor(Date.now() / 1000)): boolean {
  if (!/^\d{1,12}$/.test(timestamp)) return false;
  return Math.abs(nowSeconds - Number(timestamp)) <= WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS;
}

/**
 * Checks a Standard Webhooks request: the timestamp within ±5 minutes of `nowSeconds` and one of the
 * space-separated `v1,<base64>` signatures matching (constant-time, through WebCrypto's verify).
 */
export async function verifyStandardWebhook(
  secret: Uint8Array<ArrayBuffer>,
  headers: StandardWebhookHeaders,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): Promise<VerifyResult> {
  if (!isFreshTimestamp(headers.timestamp, nowSeconds)) return "stale-timestamp";
  const key = await hmacKey(secret, ["verify"]);
  const signed = encoder.encode(`${headers.id}.${headers.timestamp}.${body}`);
  for (const candidate of headers.signature.split(" ").slice(0, 10)) {
    const [version, encoded] = candidate.split(",", 2);
    if (version !== "v1" || !encoded || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) continue;
    let signature: Uint8Array<ArrayBuffer>;
    try {
      signature = base64ToBytes(encoded);
    } catch {
      continue;
    }
    if (await crypto.subtle.verify("HMAC", key, signature, signed)) return "ok";
  }
  return "bad-signature";
}
