import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { bytesToHex } from "../../src/core/crypto";
import { ApiError } from "../../src/core/errors";
import { createLogger, type LogFields } from "../../src/core/logger";
import { assertAcceptablePassword, pwnedCount } from "../../src/core/password-policy";
import { type Env, parseConfig } from "../../src/env";

function depsWith(overrides: Record<string, string> = {}) {
  const warnings: { message: string; fields?: LogFields }[] = [];
  const log = {
    ...createLogger("error"),
    warn: (message: string, fields?: LogFields) => warnings.push({ message, fields }),
  };
  return { config: parseConfig({ ...env, ...overrides } as Env), log, warnings };
}

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (error instanceof ApiError) return error.code;
    throw error;
  }
}

const sha1Prefix = async (password: string) =>
  bytesToHex(new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password))))
    .toUpperCase()
    .slice(0, 5);

describe("core/password-policy", () => {
  it("accepts a long passphrase and refuses guessable passwords with zxcvbn feedback", async () => {
    const deps = depsWith();
    const ctx = { email: "ada@acme.test", name: "Ada Lovelace" };
    expect(await codeOf(assertAcceptablePassword(deps, "violet-harbour-lantern-93", ctx))).toBeNull();
    for (const weak of ["password1", "qwertyuiop", "aaaaaaaaaaaa", "abcd1234"]) {
      expect(await codeOf(assertAcceptablePassword(deps, weak, ctx)), weak).toBe("WEAK_PASSWORD");
    }
    const error = await assertAcceptablePassword(deps, "password1", ctx).catch((e) => e as ApiError);
    expect(error?.extra?.feedback).toMatchObject({ suggestions: expect.any(Array) });
  });

  it("counts the user's own email and name as guessable", async () => {
    const deps = depsWith();
    const ctx = { email: "marguerite.yourcenar@acme.test", name: "Marguerite Yourcenar" };
    expect(await codeOf(assertAcceptablePassword(deps, "MargueriteYourcenar", ctx))).toBe("WEAK_PASSWORD");
  });

  it("refuses a breached password found through the k-anonymity range API with padding", async () => {
    const deps = depsWith();
    const ctx = { email: "ada@acme.test" };
    expect(await codeOf(assertAcceptablePassword(deps, "breached-password-example", ctx))).toBe(
      "BREACHED_PASSWORD",
    );
    const requests = (await (await fetch(`${env.HIBP_FAKE_URL}/__control/requests`)).json()) as {
      prefix: string;
      addPadding: boolean;
    }[];
    const prefix = await sha1Prefix("breached-password-example");
    expect(requests.find((r) => r.prefix === prefix)).toMatchObject({ addPadding: true });
  });

  it("fails open with a warning when the range API is unreachable, slow or erroring", async () => {
    const unreachable = depsWith({ HIBP_API_URL: "http://127.0.0.1:1" });
    expect(await pwnedCount(unreachable, "breached-password-example")).toBe(0);
    expect(unreachable.warnings).toEqual([
      { message: "breached-password check skipped", fields: { reason: "unreachable" } },
    ]);

    // A per-test path on the webhook fake that answers only after the 2 s deadline.
    const base = `${env.WEBHOOK_FAKE_URL}/hibp-slow-${crypto.randomUUID()}`;
    const password = "breached-password-example";
    await fetch(`${env.WEBHOOK_FAKE_URL}/__control/script`, {
      method: "PUT",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        path: new URL(`${base}/range/${await sha1Prefix(password)}`).pathname,
        behaviours: [{ kind: "slow", delayMs: 4000 }],
      }),
    });
    const slow = depsWith({ HIBP_API_URL: base });
    const started = Date.now();
    expect(await pwnedCount(slow, password)).toBe(0);
    expect(Date.now() - started).toBeLessThan(3500);
    expect(slow.warnings[0]?.fields).toEqual({ reason: "timeout" });
  });

  it("skips the check when HIBP_API_URL is off", async () => {
    const deps = depsWith({ HIBP_API_URL: "off" });
    expect(await pwnedCount(deps, "breached-password-example")).toBe(0);
    expect(deps.warnings).toEqual([]);
  });
});
