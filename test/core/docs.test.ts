import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { ERROR_CODES } from "../../src/core/errors";
import { api, describeResponse } from "../helpers/request";

describe("API documentation", () => {
  it("serves an OpenAPI 3.1 document with the bearer scheme and the registered routes", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.openapi).toBe("3.1.0");
    expect(res.body.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(res.body.paths["/health"].get.operationId).toBe("getLiveness");
    expect(res.body.paths["/api/auth/health"].get.responses["503"]).toBeDefined();
    expect(res.body.components.schemas.Problem).toBeDefined();
  });

  it("serves the same document as YAML", async () => {
    const [json, yaml] = await Promise.all([
      api("GET", "/docs/openapi.json"),
      api("GET", "/docs/swagger.yaml"),
    ]);
    expect(yaml.status).toBe(200);
    expect(yaml.headers.get("Content-Type")).toContain("yaml");
    expect(parse(yaml.text)).toEqual(json.body);
  });

  it("lists every error code with its status and meaning, as HTML with anchors and as JSON", async () => {
    const html = await api("GET", "/docs/errors");
    expect(html.status).toBe(200);
    for (const code of ERROR_CODES) expect(html.text).toContain(`id="${code}"`);
    const json = await api("GET", "/docs/errors", { headers: { Accept: "application/json" } });
    expect(json.body.items.map((e: { code: string }) => e.code)).toEqual(ERROR_CODES);
  });

  it("serves Swagger UI and its files from the Worker's own assets, no CDN", async () => {
    const page = await api("GET", "/docs");
    expect(page.status, describeResponse(page)).toBe(200);
    expect(page.headers.get("Content-Type")).toContain("text/html");
    expect(page.text).toContain('src="/docs/vendor/swagger-ui-bundle.js"');
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.headers.get("Content-Security-Policy")).toContain("script-src 'self'");
    for (const file of [
      "/docs/vendor/swagger-ui-bundle.js",
      "/docs/vendor/swagger-ui.css",
      "/docs/swagger-initializer.js",
    ]) {
      const res = await api("GET", file);
      expect(res.status, file).toBe(200);
      expect(res.text.length, file).toBeGreaterThan(100);
    }
    const init = await api("GET", "/docs/swagger-initializer.js");
    expect(init.text).toContain("persistAuthorization: true");
  });

  it("answers 404 problem+json for a missing docs file", async () => {
    const res = await api("GET", "/docs/vendor/nope.js");
    expect(res.status).toBe(404);
    expect(res.body.code).toBe("NOT_FOUND");
  });
});
