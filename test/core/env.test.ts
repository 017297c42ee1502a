import { describe, expect, it } from "vitest";
import { type ConfigError, type Env, parseConfig } from "../../src/env";

const KEY = btoa(String.fromCharCode(...Array.from({ length: 32 }, (_, i) => (i * 37 + 11) % 256)));
const raw = (vars: Record<string, string>) => ({ ENCRYPTION_KEY: KEY, ...vars }) as unknown as Env;
const problems = (vars: Record<string, string>) => {
  try {
    parseConfig(raw(vars));
    return [];
  } catch (error) {
    return (error as ConfigError).problems;
  }
};

describe("env: configuration schema", () => {
  it("applies the CONFIG.md defaults", () => {
    const config = parseConfig(raw({}));
    expect(config).toMatchObject({
      ENVIRONMENT: "development",
      APP_BASE_URL: "http://127.0.0.1:8787",
      FRONTEND_URL: "http://127.0.0.1:8787",
      CORS_ORIGIN: ["http://127.0.0.1:8787"],
      JWT_ISSUER: "http://127.0.0.1:8787",
      JWT_AUDIENCE: "ai-persona-api",
      EMAIL_TRANSPORT: "smtp",
      ALLOW_PRIVATE_WEBHOOKS: true,
      WEBHOOK_TIMEOUT_MS: 25000,
      EDIT_WINDOW_MINUTES: 1440,
      builtInPages: true,
    });
    expect(config.rateLimits.REGISTER_IP).toEqual({ limit: 10, windowSeconds: 3600 });
    expect(config.rateLimits.API_USER).toEqual({ limit: 600, windowSeconds: 60 });
  });

  it("reads RATE_LIMIT_<SCOPE> overrides and names a malformed one", () => {
    expect(parseConfig(raw({ RATE_LIMIT_REGISTER_IP: "1000/3600" })).rateLimits.REGISTER_IP).toEqual({
      limit: 1000,
      windowSeconds: 3600,
    });
    expect(problems({ RATE_LIMIT_LOGIN_IP: "lots" })[0]).toMatch(/^RATE_LIMIT_LOGIN_IP:/);
  });

  it("names every missing or invalid variable", () => {
    const list = problems({ ENCRYPTION_KEY: "", WEBHOOK_TIMEOUT_MS: "60000", APP_BASE_URL: "not a url" });
    expect(list.some((p) => p.startsWith("ENCRYPTION_KEY: missing"))).toBe(true);
    expect(list.some((p) => p.startsWith("WEBHOOK_TIMEOUT_MS:"))).toBe(true);
    expect(list.some((p) => p.startsWith("APP_BASE_URL:"))).toBe(true);
  });

  it("refuses CORS_ORIGIN=*", () => {
    expect(problems({ CORS_ORIGIN: "*" })[0]).toMatch(/^CORS_ORIGIN/);
  });

  it("production guard: refuses private webhooks, log transport, weak keys, http origins and missing secrets", () => {
    const list = problems({
      ENVIRONMENT: "production",
      ALLOW_PRIVATE_WEBHOOKS: "true",
      EMAIL_TRANSPORT: "log",
      ENCRYPTION_KEY: btoa("a".repeat(32)),
      SMTP_USER: "apikey",
      GOOGLE_CLIENT_ID: "id",
    });
    for (const name of [
      "ALLOW_PRIVATE_WEBHOOKS",
      "EMAIL_TRANSPORT",
      "ENCRYPTION_KEY",
      "APP_BASE_URL",
      "SMTP_PASS",
      "SMTP_SECURE",
      "GOOGLE_CLIENT_SECRET",
    ]) {
      expect(
        list.some((p) => p.startsWith(`${name}:`)),
        `${name} in ${list.join(" | ")}`,
      ).toBe(true);
    }
  });

  it("accepts a complete production configuration and defaults private webhooks off there", () => {
    const config = parseConfig(
      raw({
        ENVIRONMENT: "production",
        APP_BASE_URL: "https://api.example.com",
        SMTP_PORT: "465",
        SMTP_SECURE: "true",
      }),
    );
    expect(config.ALLOW_PRIVATE_WEBHOOKS).toBe(false);
  });

  it("production guard: refuses every key committed in the repository and text-like keys", () => {
    const production = {
      ENVIRONMENT: "production",
      APP_BASE_URL: "https://api.example.com",
      SMTP_SECURE: "true",
    };
    const testKey = "dGVzdC1vbmx5LWVuY3J5cHRpb24ta2V5LTMyLWJ5dGU="; // vitest.config.ts
    expect(problems({ ...production, ENCRYPTION_KEY: testKey }).join(" | ")).toMatch(
      /ENCRYPTION_KEY: a key committed in the repository/,
    );
    // The .dev.vars.example placeholder is no key at all.
    expect(
      problems({ ...production, ENCRYPTION_KEY: "REPLACE_ME_WITH_32_RANDOM_BYTES_IN_BASE64_AAA=" }).join(
        " | ",
      ),
    ).toMatch(/ENCRYPTION_KEY:/);
    // 32 bytes, 32 distinct, but typed: printable ASCII only.
    const typed = btoa("correct horse battery staple 123");
    expect(problems({ ...production, ENCRYPTION_KEY: typed }).join(" | ")).toMatch(
      /ENCRYPTION_KEY: looks weak/,
    );
    expect(problems({ ...production })).toEqual([]);
  });

  it("production guard: SMTP needs implicit TLS even without credentials", () => {
    const list = problems({
      ENVIRONMENT: "production",
      APP_BASE_URL: "https://api.example.com",
      SMTP_PORT: "587",
    });
    expect(list.join(" | ")).toMatch(/^SMTP_SECURE: must be true/);
  });
});
