/**
 * Password policy numbers, in a file without the WASM import so Node-side scripts (the demo seed) hash with
 * exactly the same parameters as the Worker.
 */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

/** argon2id, m=19456 KiB, t=2, p=1 (OWASP's minimum recommendation; ≈ 28 ms in workerd). */
export const ARGON2_OPTIONS = {
  type: 2, // Argon2Type.Argon2id
  version: 0x13,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
  hashLength: 32,
};

/** PHC prefix of a hash made with the current parameters; anything else is upgraded at the next login. */
export const ARGON2_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$";
