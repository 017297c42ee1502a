import { describe, expect, it } from "vitest";
import { api, describeResponse } from "../helpers/request";

describe("GET /oauth/callback (built-in page)", () => {
  it("serves the page that exchanges the fragment's code, with no inline script", async () => {
    const res = await api("GET", "/oauth/callback");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.headers.get("Content-Type")).toContain("text/html");
    expect(res.headers.get("Cache-Control")).toBe("no-store");
    expect(res.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    expect(res.text).toContain('data-page="oauth-callback"');
    // The only script is the shared file (CSP script-src 'self' forbids inline code anyway).
    expect(res.text.match(/<script/g)).toHaveLength(1);
    expect(res.text).toContain('<script src="/pages/page.js"></script>');
    const script = await api("GET", "/pages/page.js");
    expect(script.text).toContain("/api/auth/oauth/exchange");
    expect(script.text).toContain("location.hash");
  });
});

describe("Google routes in the OpenAPI document", () => {
  it("documents the four routes, the redirects and the bearer-only link route", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.status, describeResponse(res)).toBe(200);
    const paths = res.body.paths;
    expect(paths["/api/auth/google"].get.operationId).toBe("startGoogleSignIn");
    expect(paths["/api/auth/google"].get.responses["302"].headers.Location).toBeDefined();
    expect(paths["/api/auth/google"].get.responses["501"]).toBeDefined();
    expect(paths["/api/auth/google/callback"].get.operationId).toBe("finishGoogleSignIn");
    expect(paths["/api/auth/google/link"].post.security).toEqual([{ bearerAuth: [] }]);
    expect(
      paths["/api/auth/oauth/exchange"].post.responses["200"].content["application/json"].schema,
    ).toEqual({
      $ref: "#/components/schemas/LoginResponse",
    });
  });
});
