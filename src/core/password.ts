/**
 * Password hashing (DESIGN.md "Passwords"): argon2id m=19456 KiB, t=2, p=1 through a WASM module imported as
 * a module (workerd forbids compiling WASM at run time). Legacy bcrypt hashes from the original backend verify
 * and are flagged for an upgrade to argon2id at the next successful login.
 */
import Argon2, { Argon2Type } from "@phi-ag/argon2";
// @ts-expect-error -- a .wasm import is a WebAssembly.Module under wrangler/workerd; no type declaration ships.
import argon2Wasm from "@phi-ag/argon2/argon2.wasm";
import bcrypt from "bcryptjs";

import { ARGON2_OPTIONS, ARGON2_PREFIX } from "./password-params";

export { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from "./password-params";

// The instance is created on first use and kept per isolate (a settled value, not a promise).
let argon2: Argon2 | undefined;
async function engine(): Promise<Argon2> {
  if (!argon2) argon2 = new Argon2(await WebAssembly.instantiate(argon2Wasm as WebAssembly.Module, {}));
  return argon2;
}

/** argon2id hash in PHC string form (`$argon2id$v=19$m=19456,t=2,p=1$…`). */
export async function hashPassword(password: string): Promise<string> {
  return (await engine()).hash(password, ARGON2_OPTIONS).encoded;
}

export type PasswordCheck = { valid: boolean; needsRehash: boolean };

const isBcrypt = (hash: string) => /^\$2[aby]\$/.test(hash);

/** Verifies argon2id and legacy bcrypt hashes; `needsRehash` asks the caller to store a fresh argon2id hash. */
export async function verifyPassword(hash: string, password: string): Promise<PasswordCheck> {
  if (isBcrypt(hash)) return { valid: await bcrypt.compare(password, hash), needsRehash: true };
  if (!hash.startsWith("$argon2id$")) return { valid: false, needsRehash: false };
  const valid = (await engine()).tryVerify(hash, password, Argon2Type.Argon2id).success;
  const needsRehash = valid && !hash.startsWith(ARGON2_PREFIX);
  return { valid, needsRehash };
}

// A hash of a random password, computed once per isolate: verifying against it costs the same as a real check.
let dummyHash: string | undefined;

/** Spends one argon2 verification so unknown emails take as long as wrong passwords (enumeration). */
export async function dummyVerify(password: string): Promise<void> {
  dummyHash ??= await hashPassword(crypto.randomUUID());
  await verifyPassword(dummyHash, password);
}
