import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  decrypt,
  encrypt,
  hashToken,
  hmacBase64Url,
  randomToken,
  sha256Hex,
  verifyHmacBase64Url,
} from "../../src/core/crypto";
import { isUuid, newId } from "../../src/core/ids";

const key = env.ENCRYPTION_KEY as string;
const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));

describe("core/crypto", () => {
  it("encrypts with a v1: prefix and decrypts back, with a fresh IV each time", async () => {
    const a = await encrypt(key, "webhook-url", "https://hooks.example.com/x", "persona-1");
    const b = await encrypt(key, "webhook-url", "https://hooks.example.com/x", "persona-1");
    expect(a).toMatch(/^v1:[A-Za-z0-9_-]+$/);
    expect(a).not.toBe(b);
    expect(await decrypt(key, "webhook-url", a, "persona-1")).toBe("https://hooks.example.com/x");
  });

  it("refuses to decrypt with another purpose, context, master key, or after tampering", async () => {
    const sealed = await encrypt(key, "webhook-url", "secret", "persona-1");
    await expect(decrypt(key, "email-params", sealed, "persona-1")).rejects.toThrow();
    await expect(decrypt(key, "webhook-url", sealed, "persona-2")).rejects.toThrow();
    await expect(decrypt(otherKey, "webhook-url", sealed, "persona-1")).rejects.toThrow();
    const flipped = `${sealed.slice(0, -2)}${sealed.endsWith("A") ? "B" : "A"}${sealed.slice(-1)}`;
    await expect(decrypt(key, "webhook-url", flipped, "persona-1")).rejects.toThrow();
    await expect(decrypt(key, "webhook-url", sealed.replace("v1:", "v9:"), "persona-1")).rejects.toThrow(
      /version/,
    );
  });

  it("derives independent HMAC subkeys per purpose and verifies signatures in constant time", async () => {
    const sig = await hmacBase64Url(key, "file-url", "file-1.1700000000");
    expect(sig).not.toBe(await hmacBase64Url(key, "avatar-url", "file-1.1700000000"));
    expect(await verifyHmacBase64Url(key, "file-url", "file-1.1700000000", sig)).toBe(true);
    expect(await verifyHmacBase64Url(key, "file-url", "file-1.1700000001", sig)).toBe(false);
    expect(await verifyHmacBase64Url(key, "file-url", "file-1.1700000000", "not base64!")).toBe(false);
  });

  it("makes 32-byte base64url tokens and stores only their SHA-256", async () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(randomToken()).not.toBe(token);
    expect(await hashToken(token)).toBe(await sha256Hex(token));
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });
});

describe("core/ids", () => {
  it("generates time-ordered UUIDv7 ids", () => {
    const ids = Array.from({ length: 50 }, () => newId());
    expect(ids.every((id) => isUuid(id) && id[14] === "7")).toBe(true);
    expect([...ids].sort()).toEqual(ids);
  });
});
