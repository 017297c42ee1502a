import bcrypt from "bcryptjs";
import { describe, expect, it } from "vitest";
import { dummyVerify, hashPassword, verifyPassword } from "../../src/core/password";

describe("core/password", () => {
  it("hashes with argon2id m=19456,t=2,p=1 and verifies", async () => {
    const hash = await hashPassword("correct horse battery staple");
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(hash, "correct horse battery staple")).toEqual({
      valid: true,
      needsRehash: false,
    });
    expect(await verifyPassword(hash, "wrong horse battery staple")).toEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it("verifies legacy bcrypt hashes and asks for an argon2id upgrade", async () => {
    const legacy = bcrypt.hashSync("legacy-password-1", 4);
    expect(legacy).toMatch(/^\$2[ab]\$/);
    expect(await verifyPassword(legacy, "legacy-password-1")).toEqual({ valid: true, needsRehash: true });
    expect((await verifyPassword(legacy, "nope")).valid).toBe(false);
  });

  it("flags argon2id hashes with older parameters for a rehash", async () => {
    const weaker =
      "$argon2id$v=19$m=4096,t=3,p=1$c29tZXNhbHRzb21lc2FsdA$Z3q1yCqbVj0Xy3Sx3y0v0zPqI9f9m0n2bQeTcWfD0sQ";
    expect((await verifyPassword(weaker, "x")).valid).toBe(false);
    expect(await verifyPassword("plain-text-is-never-a-hash", "plain-text-is-never-a-hash")).toEqual({
      valid: false,
      needsRehash: false,
    });
  });

  it("spends a real verification on unknown accounts (dummy hash)", async () => {
    await expect(dummyVerify("whatever")).resolves.toBeUndefined();
  });
});
