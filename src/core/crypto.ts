/**
 * Cryptographic building blocks (DESIGN.md "Secrets and tokens"). One master secret, ENCRYPTION_KEY, and one
 * HKDF-SHA256 subkey per purpose, so a leak or misuse in one place never weakens another. Derived keys are
 * cached per isolate as settled CryptoKey values (never as promises shared between requests).
 */
import { base64url } from "jose";

export type KeyPurpose =
  | "webhook-url"
  | "webhook-secret"
  | "signing-key"
  | "email-params"
  | "refresh-token"
  | "file-url"
  | "avatar-url"
  | "oauth-state"
  | "email-lockout";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const ENCRYPTION_VERSION = "v1";
const keyCache = new Map<string, CryptoKey>();

async function deriveKey(masterKey: string, purpose: KeyPurpose, use: "aes" | "hmac"): Promise<CryptoKey> {
  const cacheKey = `${use}:${purpose}:${masterKey}`;
  const cached = keyCache.get(cacheKey);
  if (cached) return cached;
  const ikm = await crypto.subtle.importKey("raw", base64ToBytes(masterKey), "HKDF", false, ["deriveKey"]);
  const params = {
    name: "HKDF",
    hash: "SHA-256",
    salt: encoder.encode("ai-persona-edge-api"),
    info: encoder.encode(`${purpose}/${ENCRYPTION_VERSION}`),
  };
  const key =
    use === "aes"
      ? await crypto.subtle.deriveKey(params, ikm, { name: "AES-GCM", length: 256 }, false, [
          "encrypt",
          "decrypt",
        ])
      : await crypto.subtle.deriveKey(params, ikm, { name: "HMAC", hash: "SHA-256", length: 256 }, false, [
          "sign",
          "verify",
        ]);
  keyCache.set(cacheKey, key);
  return key;
}

/**
 * AES-256-GCM with the purpose's subkey. Output: `v1:<base64url(iv ‖ ciphertext)>`. `context` is bound as
 * additional data (e.g. the row id), so a ciphertext copied onto another row fails to decrypt.
 */
export async function encrypt(
  masterKey: string,
  purpose: KeyPurpose,
  plaintext: string,
  context = "",
): Promise<string> {
  const key = await deriveKey(masterKey, purpose, "aes");
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
      key,
      encoder.encode(plaintext),
    ),
  );
  const out = new Uint8Array(iv.length + sealed.length);
  out.set(iv);
  out.set(sealed, iv.length);
  return `${ENCRYPTION_VERSION}:${base64url.encode(out)}`;
}

/** Reverses `encrypt`; throws on a wrong key, purpose, context or a tampered value. */
export async function decrypt(
  masterKey: string,
  purpose: KeyPurpose,
  value: string,
  context = "",
): Promise<string> {
  const [version, payload] = value.split(":", 2);
  if (version !== ENCRYPTION_VERSION || !payload)
    throw new Error(`unsupported ciphertext version: ${version}`);
  const bytes = base64url.decode(payload);
  const key = await deriveKey(masterKey, purpose, "aes");
  const plain = await crypto.subtle.decrypt(
    { name: "AES-GCM", iv: bytes.slice(0, 12), additionalData: encoder.encode(context) },
    key,
    bytes.slice(12),
  );
  return decoder.decode(plain);
}

/** HMAC-SHA256 with the purpose's subkey. */
export async function hmac(
  masterKey: string,
  purpose: KeyPurpose,
  data: string | Uint8Array<ArrayBuffer>,
): Promise<Uint8Array> {
  const key = await deriveKey(masterKey, purpose, "hmac");
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return new Uint8Array(await crypto.subtle.sign("HMAC", key, bytes));
}

/** HMAC as base64url, for signatures carried in URLs and tokens. */
export async function hmacBase64Url(masterKey: string, purpose: KeyPurpose, data: string): Promise<string> {
  return base64url.encode(await hmac(masterKey, purpose, data));
}

/** Constant-time check of a base64url HMAC produced by `hmacBase64Url`. */
export async function verifyHmacBase64Url(
  masterKey: string,
  purpose: KeyPurpose,
  data: string,
  signature: string,
): Promise<boolean> {
  let sig: Uint8Array<ArrayBuffer>;
  try {
    sig = new Uint8Array(base64url.decode(signature));
  } catch {
    return false;
  }
  const key = await deriveKey(masterKey, purpose, "hmac");
  return crypto.subtle.verify("HMAC", key, sig, encoder.encode(data));
}

/** SHA-256 as lower-case hex. */
export async function sha256Hex(data: string | Uint8Array<ArrayBuffer>): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/** What we store for a single-use token: only its SHA-256 (the token itself is shown or mailed once). */
export const hashToken = (token: string): Promise<string> => sha256Hex(token);

/** A random single-use token: 32 random bytes, base64url (43 characters). */
export function randomToken(bytes = 32): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** Constant-time comparison of two secrets (length is not secret: it is fixed by the format). */
export function safeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  if (left.length !== right.length) return false;
  let difference = 0;
  for (let i = 0; i < left.length; i++) difference |= (left[i] as number) ^ (right[i] as number);
  return difference === 0;
}

export function bytesToHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function base64ToBytes(value: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(value), (c) => c.charCodeAt(0));
}

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
