import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ApiError } from "../../src/core/errors";
import type { Logger } from "../../src/core/logger";
import {
  checkLoginLock,
  clearLoginFailures,
  emailLockKey,
  emailSubject,
  enforceRateLimit,
  ipSubject,
  LOGIN_LOCK_SECONDS,
  LOGIN_LOCK_THRESHOLD,
  type RateLimitDeps,
  recordLoginFailure,
} from "../../src/core/rate-limit";
import { type Env, loadConfig, parseConfig } from "../../src/env";

type LogLine = { level: string; message: string; fields?: Record<string, unknown> };

function memoryLog(): { log: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at =
    (level: string) =>
    (message: string, fields?: Record<string, unknown>): void => {
      lines.push({ level, message, fields });
    };
  return { log: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") }, lines };
}

const config = loadConfig(env);
const deps = (overrides: Partial<RateLimitDeps> = {}): RateLimitDeps => ({
  env,
  config,
  log: memoryLog().log,
  ...overrides,
});

const uniqueEmail = () => `user-${crypto.randomUUID()}@example.test`;
const uniqueIp = () => `10.${crypto.getRandomValues(new Uint8Array(3)).join(".")}`;

/** Bindings whose RATE_LIMITER records the names it is asked for. */
function recordingEnv(): { env: Env; names: string[] } {
  const names: string[] = [];
  const namespace = {
    idFromName: (name: string) => {
      names.push(name);
      return env.RATE_LIMITER.idFromName(name);
    },
    get: (id: DurableObjectId) => env.RATE_LIMITER.get(id),
  };
  return { env: { ...env, RATE_LIMITER: namespace } as unknown as Env, names };
}

/** Bindings whose RATE_LIMITER fails every call, like an overloaded or unreachable Durable Object. */
function brokenEnv(): Env {
  const fail = () => Promise.reject(new Error("Durable Object is overloaded"));
  const stub = { hit: fail, lockStatus: fail, recordFailure: fail, clearFailures: fail };
  const namespace = { idFromName: (name: string) => name, get: () => stub };
  return { ...env, RATE_LIMITER: namespace } as unknown as Env;
}

async function caught(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error("expected an ApiError, but the call succeeded");
}

describe("enforceRateLimit", () => {
  it("honours a RATE_LIMIT_<SCOPE> override and refuses with 429 and all four headers", async () => {
    const overridden = parseConfig({ ...env, RATE_LIMIT_LOGIN_IP: "2/60" } as Env);
    const ip = uniqueIp();
    const first = await enforceRateLimit(deps({ config: overridden }), "LOGIN_IP", ip);
    expect(first).toMatchObject({ allowed: true, limit: 2, remaining: 1 });
    expect((await enforceRateLimit(deps({ config: overridden }), "LOGIN_IP", ip)).remaining).toBe(0);

    const error = await caught(enforceRateLimit(deps({ config: overridden }), "LOGIN_IP", ip));
    expect(error.code).toBe("RATE_LIMITED");
    expect(error.status).toBe(429);
    const retryAfter = Number(error.headers["Retry-After"]);
    expect(retryAfter).toBeGreaterThanOrEqual(59);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(error.headers).toMatchObject({ "RateLimit-Limit": "2", "RateLimit-Remaining": "0" });
    expect(Number(error.headers["RateLimit-Reset"])).toBe(retryAfter);
  });

  it("limits API_USER per user in the limiter's memory (no storage write per request)", async () => {
    const overridden = parseConfig({ ...env, RATE_LIMIT_API_USER: "2/60" } as Env);
    const userId = crypto.randomUUID();
    await enforceRateLimit(deps({ config: overridden }), "API_USER", userId);
    await enforceRateLimit(deps({ config: overridden }), "API_USER", userId);
    const error = await caught(enforceRateLimit(deps({ config: overridden }), "API_USER", userId));
    expect(error.code).toBe("RATE_LIMITED");
    expect(Number(error.headers["Retry-After"])).toBeGreaterThanOrEqual(59);
    // Another user has a budget of its own.
    expect(
      (await enforceRateLimit(deps({ config: overridden }), "API_USER", crypto.randomUUID())).allowed,
    ).toBe(true);
    const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`API_USER:${userId}`));
    const tables = await runInDurableObject(stub, (_, state) =>
      state.storage.sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '_cf_%'",
        )
        .toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("uses the CONFIG.md default when there is no override", async () => {
    const decision = await enforceRateLimit(deps(), "REGISTER_IP", uniqueIp());
    expect(decision).toMatchObject({ allowed: true, limit: 10, remaining: 9, retryAfterSeconds: 0 });
    expect(decision.resetSeconds).toBe(3600);
  });

  it("keys email scopes by HMAC: the Durable Object name never carries the address, and case/space do not matter", async () => {
    const recording = recordingEnv();
    const email = uniqueEmail();
    await enforceRateLimit(deps({ env: recording.env }), "RESEND_EMAIL", email);
    const second = await enforceRateLimit(
      deps({ env: recording.env }),
      "RESEND_EMAIL",
      `  ${email.toUpperCase()} `,
    );
    expect(second.remaining).toBe(1);
    expect(recording.names[0]).toBe(`RESEND_EMAIL:${await emailSubject(config, email)}`);
    expect(recording.names[1]).toBe(recording.names[0]);
    for (const name of recording.names) expect(name.toLowerCase()).not.toContain("example.test");
  });

  it("counts IPv6 clients per /64, and separates different /64s", async () => {
    const prefix = `2001:db8:${crypto.getRandomValues(new Uint16Array(1))[0]?.toString(16)}:7`;
    const overridden = parseConfig({ ...env, RATE_LIMIT_SHARE_VIEW_IP: "2/60" } as Env);
    await enforceRateLimit(deps({ config: overridden }), "SHARE_VIEW_IP", `${prefix}::1`);
    await enforceRateLimit(deps({ config: overridden }), "SHARE_VIEW_IP", `${prefix}:abcd:1:2:3`);
    expect(
      (await caught(enforceRateLimit(deps({ config: overridden }), "SHARE_VIEW_IP", `${prefix}::9`))).code,
    ).toBe("RATE_LIMITED");
    const neighbour = `${prefix.slice(0, -1)}8::1`;
    expect((await enforceRateLimit(deps({ config: overridden }), "SHARE_VIEW_IP", neighbour)).allowed).toBe(
      true,
    );
  });

  it("fails open with an error log when the limiter is unavailable", async () => {
    const { log, lines } = memoryLog();
    const ip = uniqueIp();
    const decision = await enforceRateLimit(deps({ env: brokenEnv(), log }), "LOGIN_IP", ip);
    expect(decision).toMatchObject({ allowed: true, limit: 30, remaining: 30, retryAfterSeconds: 0 });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: "error", fields: { scope: "LOGIN_IP" } });
    expect(JSON.stringify(lines)).not.toContain(ip);
  });
});

describe("ipSubject", () => {
  it("keeps IPv4, unwraps IPv4-mapped IPv6, and reduces IPv6 to its /64", () => {
    expect(ipSubject("203.0.113.7")).toBe("203.0.113.7");
    expect(ipSubject("::ffff:203.0.113.7")).toBe("203.0.113.7");
    expect(ipSubject("2001:DB8:0:1:aaaa:bbbb:cccc:dddd")).toBe("2001:db8:0:1::/64");
    expect(ipSubject("2001:0db8:0000:0001::1")).toBe("2001:db8:0:1::/64");
    expect(ipSubject("2001:db8::1")).toBe("2001:db8:0:0::/64");
    expect(ipSubject("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
    expect(ipSubject("::1")).toBe("0:0:0:0::/64");
    expect(ipSubject("0.0.0.0")).toBe("0.0.0.0");
    expect(ipSubject("not:an:ip::x::y")).toBe("not:an:ip::x::y");
  });
});

describe("emailLockKey", () => {
  it("is the same for any case and surrounding space, and never contains the address", async () => {
    const key = await emailLockKey(config, " Foo@X.com ");
    expect(key).toBe(await emailLockKey(config, "foo@x.com"));
    expect(key).toMatch(/^LOGIN_EMAIL:[A-Za-z0-9_-]{43}$/);
    expect(key.toLowerCase()).not.toContain("foo");
    expect(key).not.toBe(await emailLockKey(config, "bar@x.com"));
  });

  it("depends on ENCRYPTION_KEY, so keys cannot be recomputed from a list of addresses", async () => {
    const otherKey = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const other = parseConfig({ ...env, ENCRYPTION_KEY: otherKey } as Env);
    expect(await emailLockKey(other, "foo@x.com")).not.toBe(await emailLockKey(config, "foo@x.com"));
  });
});

describe("login lockout", () => {
  it(`locks an email on the ${LOGIN_LOCK_THRESHOLD}th consecutive failure: 423 with Retry-After ≈ 15 min, until cleared`, async () => {
    expect([LOGIN_LOCK_THRESHOLD, LOGIN_LOCK_SECONDS]).toEqual([5, 900]);
    const email = uniqueEmail();
    for (let i = 0; i < 4; i++) {
      expect(await recordLoginFailure(deps(), email)).toEqual({
        lockedNow: false,
        locked: false,
        retryAfterSeconds: 0,
      });
      await expect(checkLoginLock(deps(), email)).resolves.toBeUndefined();
    }
    expect(await recordLoginFailure(deps(), ` ${email.toUpperCase()}`)).toEqual({
      lockedNow: true,
      locked: true,
      retryAfterSeconds: 900,
    });

    const error = await caught(checkLoginLock(deps(), email));
    expect(error.code).toBe("ACCOUNT_LOCKED");
    expect(error.status).toBe(423);
    expect(Number(error.headers["Retry-After"])).toBeGreaterThanOrEqual(899);
    expect(Number(error.headers["Retry-After"])).toBeLessThanOrEqual(900);
    expect((await recordLoginFailure(deps(), email)).lockedNow).toBe(false);

    expect(await clearLoginFailures(deps(), email)).toEqual({ wasLocked: true });
    await expect(checkLoginLock(deps(), email)).resolves.toBeUndefined();
    expect(await clearLoginFailures(deps(), email)).toEqual({ wasLocked: false });
  });

  it("a successful login in between resets the consecutive count", async () => {
    const email = uniqueEmail();
    for (let i = 0; i < 4; i++) await recordLoginFailure(deps(), email);
    expect(await clearLoginFailures(deps(), email)).toEqual({ wasLocked: false });
    for (let i = 0; i < 4; i++) expect((await recordLoginFailure(deps(), email)).locked).toBe(false);
    await expect(checkLoginLock(deps(), email)).resolves.toBeUndefined();
  });

  it("fails closed: check and recording answer 500 when the limiter is unavailable; clearing fails open", async () => {
    const { log, lines } = memoryLog();
    const broken = deps({ env: brokenEnv(), log });
    const email = uniqueEmail();
    const checkError = await caught(checkLoginLock(broken, email));
    expect(checkError).toMatchObject({ code: "INTERNAL", status: 500 });
    expect((checkError.cause as Error).message).toMatch(/overloaded/);
    expect((await caught(recordLoginFailure(broken, email))).code).toBe("INTERNAL");

    expect(await clearLoginFailures(broken, email)).toEqual({ wasLocked: false });
    expect(lines.map((l) => l.level)).toEqual(["error"]);
    expect(JSON.stringify(lines)).not.toContain(email);
  });
});
