/**
 * Password policy (DESIGN.md "Passwords"): zxcvbn-ts score ≥ 3 on the first 100 characters with the user's
 * email and name as inputs, then the Have I Been Pwned range API (k-anonymity, Add-Padding, 2 s timeout,
 * fail-open with a warning). Length (8–128) is checked by the request schemas before this runs.
 */
import { type OptionsType, ZxcvbnFactory } from "@zxcvbn-ts/core";
import * as zxcvbnCommon from "@zxcvbn-ts/language-common";
import * as zxcvbnEn from "@zxcvbn-ts/language-en";
import type { Config } from "../env";
import { bytesToHex } from "./crypto";
import { ApiError } from "./errors";
import type { Logger } from "./logger";

export const MIN_PASSWORD_SCORE = 3;
/** zxcvbn's cost grows with length; a 128-character passphrase is judged by its first 100. */
const SCORED_PREFIX_LENGTH = 100;
const HIBP_TIMEOUT_MS = 2000;

// Building the dictionaries costs ≈ 150 ms of CPU: done on the first password check of an isolate, never at
// module scope (that would tax every cold start of every endpoint). A settled value, not a shared promise.
let factory: ZxcvbnFactory | undefined;
function strengthChecker(): ZxcvbnFactory {
  factory ??= new ZxcvbnFactory({
    dictionary: { ...zxcvbnCommon.dictionary, ...zxcvbnEn.dictionary },
    graphs: zxcvbnCommon.adjacencyGraphs,
    translations: zxcvbnEn.translations,
  } as OptionsType);
  return factory;
}

/** What the user told us about themselves: a password built from it is easy to guess. */
function userInputs(email: string, name?: string | null): string[] {
  const [local = "", domain = ""] = email.toLowerCase().split("@");
  const inputs = [email.toLowerCase(), local, domain.split(".")[0] ?? "", ...local.split(/[._+-]+/)];
  if (name) inputs.push(name, ...name.toLowerCase().split(/\s+/));
  return inputs.filter((input) => input.length >= 3);
}

export type PasswordContext = { email: string; name?: string | null };

/**
 * Throws 400 WEAK_PASSWORD (with zxcvbn's feedback) or 400 BREACHED_PASSWORD; resolves when the password is
 * acceptable. Callers run it before looking anything up, so the answer never depends on whether an account
 * exists (enumeration).
 */
export async function assertAcceptablePassword(
  deps: { config: Config; log: Logger },
  password: string,
  context: PasswordContext,
): Promise<void> {
  const result = strengthChecker().check(
    password.slice(0, SCORED_PREFIX_LENGTH),
    userInputs(context.email, context.name),
  );
  if (result.score < MIN_PASSWORD_SCORE) {
    const feedback = {
      warning: result.feedback.warning || null,
      suggestions: result.feedback.suggestions,
    };
    throw new ApiError(
      "WEAK_PASSWORD",
      feedback.warning ?? "This password is too easy to guess; try a longer passphrase.",
      { extra: { feedback, score: result.score } },
    );
  }
  const breachCount = await pwnedCount(deps, password);
  if (breachCount > 0) {
    throw new ApiError(
      "BREACHED_PASSWORD",
      "This password appears in known data breaches; choose a different one.",
    );
  }
}

/**
 * Times the password was seen in breaches, by the k-anonymity range API: only the first 5 hex characters of
 * its SHA-1 leave the Worker, and `Add-Padding` hides the real answer size. Any failure (timeout, non-200,
 * network) is logged and counts as 0 — an outage of a third party must not stop sign-ups.
 */
export async function pwnedCount(deps: { config: Config; log: Logger }, password: string): Promise<number> {
  const base = deps.config.HIBP_API_URL;
  if (base === "off") return 0;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(password)));
  const hash = bytesToHex(digest).toUpperCase();
  const prefix = hash.slice(0, 5);
  const suffix = hash.slice(5);
  try {
    const res = await fetch(`${base}/range/${prefix}`, {
      headers: { "Add-Padding": "true", "User-Agent": "ai-persona-edge-api" },
      signal: AbortSignal.timeout(HIBP_TIMEOUT_MS),
    });
    if (!res.ok) {
      deps.log.warn("breached-password check skipped", { reason: `HTTP ${res.status}` });
      return 0;
    }
    for (const line of (await res.text()).split("\n")) {
      const [candidate, count] = line.trim().split(":");
      if (candidate === suffix) return Number(count) || 0;
    }
    return 0;
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? "timeout" : "unreachable";
    deps.log.warn("breached-password check skipped", { reason });
    return 0;
  }
}
