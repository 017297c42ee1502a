import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BUILT_IN_PAGES } from "../../src/core/pages";
import worker from "../../src/index";
import { api, BASE_URL, describeResponse } from "../helpers/request";

describe("built-in pages for mailed links", () => {
  it("serves each page without FRONTEND_URL, uncached, with the shared script it needs", async () => {
    for (const path of Object.keys(BUILT_IN_PAGES)) {
      const res = await api("GET", `${path}?token=abc`);
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.headers.get("Content-Type")).toContain("text/html");
      expect(res.headers.get("Cache-Control")).toBe("no-store");
      expect(res.headers.get("Referrer-Policy")).toBe("no-referrer");
      expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
      expect(res.text).toContain('<script src="/pages/page.js"></script>');
      // The token is never echoed into the page: the script reads it from the URL.
      expect(res.text).not.toContain("abc");
    }
    const script = await api("GET", "/pages/page.js");
    expect(script.status).toBe(200);
    expect(script.text).toContain("/api/auth/verify-email");
  });

  it("leaves those paths to the real frontend when FRONTEND_URL is set", async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(
      new Request(new URL("/verify-email?token=abc", BASE_URL)),
      { ...env, FRONTEND_URL: "https://app.example.com" },
      ctx,
    );
    await waitOnExecutionContext(ctx);
    expect(res.status).toBe(404);
  });
});
