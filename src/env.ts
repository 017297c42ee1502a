import { z } from "zod";
import type { PersonaGate } from "./durable-objects/persona-gate";
import type { RateLimiter } from "./durable-objects/rate-limiter";

/** Bindings of wrangler.toml plus the raw variables of CONFIG.md (strings until `loadConfig` parses them). */
export type Env = {
  HYPERDRIVE: Hyperdrive;
  FILES: R2Bucket;
  EMAIL_QUEUE: Queue<unknown>;
  PERSONA_GATE: DurableObjectNamespace<PersonaGate>;
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  ASSETS: Fetcher;
  [variable: string]: unknown;
};

/** Default windows of CONFIG.md "Rate limits"; each can be overridden by RATE_LIMIT_<SCOPE>=<count>/<seconds>. */
export const RATE_LIMIT_DEFAULTS = {
  REGISTER_IP: { limit: 10, windowSeconds: 3600 },
  LOGIN_IP: { limit: 30, windowSeconds: 60 },
  REFRESH_IP: { limit: 60, windowSeconds: 60 },
  VERIFY_IP: { limit: 30, windowSeconds: 3600 },
  RESEND_EMAIL: { limit: 3, windowSeconds: 3600 },
  REGISTER_EMAIL: { limit: 5, windowSeconds: 3600 },
  RESET_REQUEST_EMAIL: { limit: 3, windowSeconds: 3600 },
  RESET_IP: { limit: 10, windowSeconds: 3600 },
  SHARE_VIEW_IP: { limit: 60, windowSeconds: 60 },
  TRAITS_IP: { limit: 60, windowSeconds: 60 },
  CHAT_PERSONA: { limit: 60, windowSeconds: 60 },
  CHAT_PERSONA_GLOBAL: { limit: 600, windowSeconds: 60 },
  CHAT_USER: { limit: 30, windowSeconds: 60 },
  UPLOAD_USER: { limit: 60, windowSeconds: 3600 },
  INVITE_WORKSPACE: { limit: 50, windowSeconds: 86400 },
  INVITE_PERSONAL: { limit: 10, windowSeconds: 86400 },
  API_USER: { limit: 600, windowSeconds: 60 },
} as const;
export type RateLimitScope = keyof typeof RATE_LIMIT_DEFAULTS;
export type RateLimitRule = { limit: number; windowSeconds: number };

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const url = z.url({ protocol: /^https?$/ }).transform((v) => v.replace(/\/+$/, ""));
const commaList = z.string().transform((v) =>
  v
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean),
);
const positiveInt = z.coerce.number().int().positive();
const rateRule = z
  .string()
  .regex(/^\d+\/\d+$/, "expected <count>/<seconds>, e.g. 10/3600")
  .transform((v): RateLimitRule => {
    const [limit, windowSeconds] = v.split("/").map(Number) as [number, number];
    return { limit, windowSeconds };
  });

const base64Key = z.string().refine((v) => {
  try {
    return atob(v).length === 32;
  } catch {
    return false;
  }
}, "must be 32 random bytes, base64-encoded (openssl rand -base64 32)");

/** The raw variables, with the dev defaults of CONFIG.md. Cross-field defaults are applied in `loadConfig`. */
const schema = z.object({
  ENVIRONMENT: z.enum(["development", "test", "production"]).default("development"),
  APP_BASE_URL: url.default("http://127.0.0.1:8787"),
  FRONTEND_URL: url.optional(),
  CORS_ORIGIN: commaList.optional(),
  ENCRYPTION_KEY: base64Key,
  JWT_ISSUER: z.string().min(1).optional(),
  JWT_AUDIENCE: z.string().min(1).default("ai-persona-api"),
  PLATFORM_ADMIN_EMAILS: commaList.default([]).transform((list) => list.map((e) => e.toLowerCase())),
  HIBP_API_URL: z.union([z.literal("off"), url]).default("https://api.pwnedpasswords.com"),
  EMAIL_TRANSPORT: z.enum(["smtp", "log"]).default("smtp"),
  SMTP_HOST: z.string().min(1).default("127.0.0.1"),
  SMTP_PORT: z.coerce.number().int().min(1).max(65535).default(2525),
  SMTP_SECURE: bool.default(false),
  SMTP_USER: z.string().min(1).optional(),
  SMTP_PASS: z.string().min(1).optional(),
  SMTP_FROM: z.string().min(3).default("AI-Persona <no-reply@localhost>"),
  GOOGLE_CLIENT_ID: z.string().min(1).optional(),
  GOOGLE_CLIENT_SECRET: z.string().min(1).optional(),
  GOOGLE_ISSUER: url.default("https://accounts.google.com"),
  ALLOW_PRIVATE_WEBHOOKS: bool.optional(),
  WEBHOOK_TIMEOUT_MS: positiveInt.max(25_000).default(25_000),
  /** How long an opened circuit breaker refuses chats before one probe (DESIGN.md: 5 minutes). */
  BREAKER_OPEN_SECONDS: positiveInt.max(86_400).default(300),
  EDIT_WINDOW_MINUTES: positiveInt.default(1440),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error"]).default("info"),
});

export type Config = Omit<
  z.output<typeof schema>,
  "FRONTEND_URL" | "CORS_ORIGIN" | "JWT_ISSUER" | "ALLOW_PRIVATE_WEBHOOKS"
> & {
  FRONTEND_URL: string;
  CORS_ORIGIN: string[];
  JWT_ISSUER: string;
  ALLOW_PRIVATE_WEBHOOKS: boolean;
  /** True when FRONTEND_URL was not set: the Worker serves its built-in pages for mailed links. */
  builtInPages: boolean;
  rateLimits: Record<RateLimitScope, RateLimitRule>;
};

/** Thrown when the variables are invalid; the app answers 500 CONFIG_INVALID and logs `problems`. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

/**
 * Keys committed in this repository, never acceptable in production: the test suite's (vitest.config.ts).
 * The printable-text rule below refuses it anyway; the list names it so that a key committed later is added
 * here too. (The placeholder of .dev.vars.example is not a valid key: the schema refuses it.)
 */
const COMMITTED_KEYS = new Set(["dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU="]);

/**
 * A key a person typed or derived rather than generated: few distinct bytes, or only printable ASCII (a
 * random 32-byte key is all printable with probability (95/256)^32 ≈ 10^-14).
 */
function looksWeak(key: Uint8Array): boolean {
  return new Set(key).size < 16 || key.every((byte) => byte >= 0x20 && byte < 0x7f);
}

function productionProblems(config: Config, raw: Env): string[] {
  const problems: string[] = [];
  if (config.ALLOW_PRIVATE_WEBHOOKS) problems.push("ALLOW_PRIVATE_WEBHOOKS: must be false in production");
  if (config.EMAIL_TRANSPORT === "log") problems.push("EMAIL_TRANSPORT: 'log' is not allowed in production");
  const key = Uint8Array.from(atob(config.ENCRYPTION_KEY), (c) => c.charCodeAt(0));
  if (COMMITTED_KEYS.has(String(raw.ENCRYPTION_KEY ?? "").trim())) {
    problems.push(
      "ENCRYPTION_KEY: a key committed in the repository; generate one with openssl rand -base64 32",
    );
  } else if (looksWeak(key)) {
    problems.push(
      "ENCRYPTION_KEY: looks weak (few distinct bytes, or text); generate one with openssl rand -base64 32",
    );
  }
  if (!config.APP_BASE_URL.startsWith("https://")) problems.push("APP_BASE_URL: must be https in production");
  if (config.SMTP_USER && !config.SMTP_PASS) problems.push("SMTP_PASS: missing secret (SMTP_USER is set)");
  // worker-mailer 1.2 falls back to clear text when STARTTLS is not offered, so an attacker who strips it
  // from the server's greeting would read the credentials and every mail (reset links, invitations): with
  // SMTP, only implicit TLS (465), credentials or not.
  if (!config.SMTP_SECURE && (config.EMAIL_TRANSPORT === "smtp" || config.SMTP_USER)) {
    problems.push("SMTP_SECURE: must be true (implicit TLS, port 465) whenever EMAIL_TRANSPORT=smtp");
  }
  if (config.GOOGLE_CLIENT_ID && !config.GOOGLE_CLIENT_SECRET) {
    problems.push("GOOGLE_CLIENT_SECRET: missing secret (GOOGLE_CLIENT_ID is set)");
  }
  if (config.SMTP_PORT === 25) problems.push("SMTP_PORT: port 25 is blocked on Workers; use 587 or 465");
  return problems;
}

function parseRateLimits(raw: Env, problems: string[]): Record<RateLimitScope, RateLimitRule> {
  const rules = { ...RATE_LIMIT_DEFAULTS } as Record<RateLimitScope, RateLimitRule>;
  for (const scope of Object.keys(RATE_LIMIT_DEFAULTS) as RateLimitScope[]) {
    const value = raw[`RATE_LIMIT_${scope}`];
    if (value === undefined || value === "") continue;
    const parsed = rateRule.safeParse(value);
    if (parsed.success) rules[scope] = parsed.data;
    else problems.push(`RATE_LIMIT_${scope}: ${parsed.error.issues[0]?.message}`);
  }
  return rules;
}

/** Parses and checks the variables; throws ConfigError naming every bad variable. */
export function parseConfig(raw: Env): Config {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = raw[key];
    // Empty strings (e.g. `SMTP_USER=` in .dev.vars) mean "unset".
    if (typeof value === "string" && value !== "") input[key] = value;
  }
  const parsed = schema.safeParse(input);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? "?");
      problems.push(input[name] === undefined ? `${name}: missing` : `${name}: ${issue.message}`);
    }
    throw new ConfigError(problems);
  }
  const v = parsed.data;
  const frontendUrl = v.FRONTEND_URL ?? v.APP_BASE_URL;
  const config: Config = {
    ...v,
    FRONTEND_URL: frontendUrl,
    CORS_ORIGIN: v.CORS_ORIGIN ?? [new URL(frontendUrl).origin],
    JWT_ISSUER: v.JWT_ISSUER ?? v.APP_BASE_URL,
    ALLOW_PRIVATE_WEBHOOKS: v.ALLOW_PRIVATE_WEBHOOKS ?? v.ENVIRONMENT !== "production",
    builtInPages: v.FRONTEND_URL === undefined,
    rateLimits: parseRateLimits(raw, problems),
  };
  if (config.CORS_ORIGIN.includes("*"))
    problems.push("CORS_ORIGIN: '*' is not allowed (credentials are used)");
  if (config.ENVIRONMENT === "production") problems.push(...productionProblems(config, raw));
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

// Parsed once per isolate per env object (settled values only; tests may pass modified env copies).
const cache = new WeakMap<object, Config | ConfigError>();

/** The parsed configuration of this env, cached per isolate. Throws ConfigError when invalid. */
export function loadConfig(env: Env): Config {
  let entry = cache.get(env);
  if (!entry) {
    try {
      entry = parseConfig(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      entry = error;
    }
    cache.set(env, entry);
  }
  if (entry instanceof ConfigError) throw entry;
  return entry;
}
