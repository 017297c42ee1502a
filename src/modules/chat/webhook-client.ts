/**
 * One relay of a chat message to a persona webhook over HTTP (API.md "Outbound relay"): signed POST, one total
 * deadline for every attempt, retries only where a retry cannot double-deliver a slow answer, no redirects,
 * and every reply shape the contract accepts. No database here: the relay service records the outcome.
 */
import { checkOutboundUrl, type OutboundUrlPolicy } from "../../core/outbound-url";
import { signWebhook } from "../webhooks/standard-webhooks";

/** At most this many retries after the first attempt. */
export const MAX_RETRIES = 2;
/** Replies larger than this are refused (BAD_REPLY) without being read further. */
export const MAX_REPLY_BYTES = 1024 * 1024;
/** A stored message holds at most this many characters (messages_content_length_ck). */
export const MAX_REPLY_CHARS = 100_000;
/** A suggested conversation title is cut to this length. */
export const MAX_TITLE_CHARS = 200;

/** Why a relay failed, as recorded in chat_runs.error_class (never a body or URL). */
export type RelayErrorClass =
  /** The stored URL or secret cannot be used (undecryptable, or not in the `whsec_` form). */
  | "CONFIG"
  | "URL_REFUSED"
  | "CONNECTION"
  | "TIMEOUT"
  | "REDIRECT"
  | "HTTP_4XX"
  | "HTTP_429"
  | "HTTP_5XX"
  | "BAD_REPLY";

export type DeliveryOutcome =
  | { ok: true; reply: string; title: string | null; attempts: number; latencyMs: number }
  | {
      ok: false;
      /** TIMEOUT when the deadline cut an attempt short (→ 504), FAILED otherwise (→ 502). */
      status: "FAILED" | "TIMEOUT";
      errorClass: RelayErrorClass;
      attempts: number;
      latencyMs: number;
    };

export type DeliveryRequest = {
  url: string;
  secret: Uint8Array<ArrayBuffer>;
  /** `webhook-id`: one per chat run, the same for every attempt of it (Standard Webhooks). */
  webhookId: string;
  /** `Idempotency-Key`: the user message id, the same for a later manual retry of the message. */
  idempotencyKey: string;
  /** The exact JSON text sent and signed. */
  body: string;
  /** Total deadline in ms, retries and backoff included (WEBHOOK_TIMEOUT_MS). */
  deadlineMs: number;
  /** The URL is checked again right here, just before any traffic. */
  policy: OutboundUrlPolicy;
};

/** Seams for tests of the timing logic; production uses the globals. */
export type DeliveryClock = {
  fetch: typeof fetch;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  random: () => number;
};

const defaultClock: DeliveryClock = {
  fetch: (input, init) => fetch(input, init),
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

/**
 * An answer "quick" enough that retrying it cannot be mistaken for impatience with a slow flow: within a
 * quarter of the deadline, at most 2 s. A slow 5xx may mean the flow did the work and then failed, so it is
 * not repeated.
 */
const quickMs = (deadlineMs: number) => Math.min(2000, deadlineMs / 4);
/** No retry is started with less time than this left: it could only end in a timeout. */
const minAttemptMs = (deadlineMs: number) => Math.min(1000, deadlineMs / 10);
/** Exponential backoff with jitter: 100–200 ms, then 200–400 ms. */
const backoffMs = (retry: number, random: () => number) => 100 * 2 ** (retry - 1) * (1 + random());

/**
 * POSTs the body to the webhook with Standard Webhooks headers, X-Webhook-Signature and Idempotency-Key.
 * Retries (at most 2, jittered backoff) only after a connection failure or a quick 429/5xx, and only while
 * the deadline leaves room; never after a timeout, since the flow may still be working on the first attempt.
 * A 3xx is a failure (redirects are never followed). Never throws.
 */
export async function deliverWebhook(
  request: DeliveryRequest,
  clock: DeliveryClock = defaultClock,
): Promise<DeliveryOutcome> {
  const started = clock.now();
  const deadline = started + request.deadlineMs;
  const elapsed = () => Math.max(0, Math.round(clock.now() - started));
  const fail = (errorClass: RelayErrorClass, attempts: number): DeliveryOutcome => ({
    ok: false,
    status: errorClass === "TIMEOUT" ? "TIMEOUT" : "FAILED",
    errorClass,
    attempts,
    latencyMs: elapsed(),
  });

  const checked = checkOutboundUrl(request.url, request.policy);
  if (!checked.ok) return fail("URL_REFUSED", 0);

  for (let attempt = 1; ; attempt++) {
    const attemptStarted = clock.now();
    const remaining = deadline - attemptStarted;
    if (remaining <= 0) return fail("TIMEOUT", attempt - 1);
    const result = await attemptOnce(request, checked.url, remaining, clock);
    if (result.kind === "reply") {
      return { ok: true, reply: result.reply, title: result.title, attempts: attempt, latencyMs: elapsed() };
    }
    if (result.kind === "timeout") return fail("TIMEOUT", attempt);

    const quick = clock.now() - attemptStarted <= quickMs(request.deadlineMs);
    const retryable =
      result.errorClass === "CONNECTION" ||
      ((result.errorClass === "HTTP_5XX" || result.errorClass === "HTTP_429") && quick);
    if (!retryable || attempt > MAX_RETRIES) return fail(result.errorClass, attempt);

    const wait = Math.max(backoffMs(attempt, clock.random), (result.retryAfterSeconds ?? 0) * 1000);
    if (clock.now() + wait + minAttemptMs(request.deadlineMs) > deadline)
      return fail(result.errorClass, attempt);
    await clock.sleep(wait);
  }
}

type AttemptResult =
  | { kind: "reply"; reply: string; title: string | null }
  | { kind: "timeout" }
  | { kind: "failure"; errorClass: RelayErrorClass; retryAfterSeconds?: number };

async function attemptOnce(
  request: DeliveryRequest,
  url: URL,
  remainingMs: number,
  clock: DeliveryClock,
): Promise<AttemptResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), remainingMs);
  try {
    const timestamp = String(Math.floor(clock.now() / 1000));
    const signatures = await signWebhook(request.secret, {
      id: request.webhookId,
      timestamp,
      body: request.body,
    });
    const response = await clock.fetch(url, {
      method: "POST",
      redirect: "manual",
      signal: controller.signal,
      body: request.body,
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json, text/plain;q=0.9",
        "User-Agent": "ai-persona-relay/1",
        "webhook-id": request.webhookId,
        "webhook-timestamp": timestamp,
        "webhook-signature": signatures.standard,
        "X-Webhook-Signature": signatures.bodyHex,
        "Idempotency-Key": request.idempotencyKey,
      },
    });
    if (response.status < 200 || response.status >= 300) {
      await response.body?.cancel().catch(() => {});
      return httpFailure(response);
    }
    const text = await readCapped(response, MAX_REPLY_BYTES);
    if (text === null) return { kind: "failure", errorClass: "BAD_REPLY" };
    const parsed = parseReply(response.headers.get("Content-Type"), text);
    return parsed ? { kind: "reply", ...parsed } : { kind: "failure", errorClass: "BAD_REPLY" };
  } catch {
    if (controller.signal.aborted) return { kind: "timeout" };
    return { kind: "failure", errorClass: "CONNECTION" };
  } finally {
    clearTimeout(timer);
  }
}

function httpFailure(response: Response): AttemptResult {
  const status = response.status;
  if (status >= 300 && status < 400) return { kind: "failure", errorClass: "REDIRECT" };
  if (status === 429) {
    const header = response.headers.get("Retry-After");
    const seconds = header && /^\d{1,6}$/.test(header.trim()) ? Number(header.trim()) : undefined;
    return { kind: "failure", errorClass: "HTTP_429", retryAfterSeconds: seconds };
  }
  if (status >= 500) return { kind: "failure", errorClass: "HTTP_5XX" };
  return { kind: "failure", errorClass: "HTTP_4XX" };
}

/** The body as UTF-8 text, or null when it is larger than `maxBytes` (reading stops there). */
async function readCapped(response: Response, maxBytes: number): Promise<string | null> {
  const declared = Number(response.headers.get("Content-Length") ?? "NaN");
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    return null;
  }
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      return null;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

const REPLY_FIELDS = ["reply", "output", "message", "text"] as const;
const TITLE_FIELDS = ["title", "suggestedTitle"] as const;

/**
 * The reply text and optional title of a webhook answer: `{reply}`, `{output}`, `{message}`, `{text}`
 * (first non-empty string wins), n8n's `[{json: {…}}]` (or a bare array of such objects), a JSON string, or
 * a `text/plain` body. Null when none applies, or the reply is empty or too long to store.
 */
export function parseReply(
  contentType: string | null,
  text: string,
): { reply: string; title: string | null } | null {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  const looksJson = type === "application/json" || type.endsWith("+json");
  let result: { reply: string; title: string | null } | null = null;
  if (looksJson || type === "") {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (json !== undefined) result = fromJson(json);
    else if (!looksJson) result = fromText(text);
  } else if (type.startsWith("text/")) {
    result = fromText(text);
  }
  if (!result || result.reply.length > MAX_REPLY_CHARS) return null;
  return result;
}

function fromText(text: string) {
  const reply = text.trim();
  return reply ? { reply, title: null } : null;
}

function fromJson(json: unknown): { reply: string; title: string | null } | null {
  if (typeof json === "string") return fromText(json);
  let item = json;
  if (Array.isArray(item)) item = item[0];
  if (item && typeof item === "object" && !Array.isArray(item)) {
    const wrapped = (item as { json?: unknown }).json;
    if (wrapped && typeof wrapped === "object" && !Array.isArray(wrapped)) item = wrapped;
  }
  if (!item || typeof item !== "object" || Array.isArray(item)) return null;
  const record = item as Record<string, unknown>;
  const reply = REPLY_FIELDS.map((field) => record[field]).find(
    (value): value is string => typeof value === "string" && value.trim() !== "",
  );
  if (!reply) return null;
  const title = TITLE_FIELDS.map((field) => record[field]).find(
    (value): value is string => typeof value === "string" && value.trim() !== "",
  );
  return { reply: reply.trim(), title: title ? title.trim().slice(0, MAX_TITLE_CHARS) : null };
}
