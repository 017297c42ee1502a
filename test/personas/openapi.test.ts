import { describe, expect, it } from "vitest";
import { api, describeResponse } from "../helpers/request";

const OPERATIONS = [
  ["get", "/api/personas", "listPersonas", null],
  ["post", "/api/personas", "createPersona", "admin"],
  ["get", "/api/personas/{id}", "getPersona", null],
  ["patch", "/api/personas/{id}", "updatePersona", "admin"],
  ["delete", "/api/personas/{id}", "deactivatePersona", "admin"],
  ["post", "/api/personas/{id}/favourite", "togglePersonaFavourite", null],
  ["post", "/api/personas/{id}/chat", "chatWithPersona", null],
  ["get", "/api/personas/{id}/deliveries", "listPersonaDeliveries", "admin"],
  ["get", "/api/webhooks/health", "getWebhooksHealth", null],
  ["post", "/api/webhooks/traits", "updatePersonaTraits", null],
] as const;

describe("GET /docs/openapi.json — personas, chat and webhooks", () => {
  it("documents every route with its operationId, tags, error responses and required role", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.status, describeResponse(res)).toBe(200);
    for (const [method, path, operationId, role] of OPERATIONS) {
      const operation = res.body.paths[path]?.[method];
      expect(operation, `${method} ${path}`).toBeDefined();
      expect(operation.operationId).toBe(operationId);
      expect(operation.tags.length).toBeGreaterThan(0);
      expect(operation.responses["500"], `${operationId} documents errors`).toBeDefined();
      expect(operation["x-required-role"]).toBe(role ?? undefined);
    }
    const schemas = res.body.components.schemas;
    for (const name of [
      "Persona",
      "ChatRequest",
      "ChatResponse",
      "TraitsUpdateRequest",
      "PersonaDeliveries",
    ]) {
      expect(schemas[name], name).toBeDefined();
    }
    // Write-only: the webhook URL and secret appear in request bodies only.
    expect(Object.keys(schemas.Persona.properties)).not.toContain("webhookUrl");
    expect(Object.keys(schemas.Persona.properties)).not.toContain("webhookSecret");
    expect(res.body.paths["/api/personas/{id}/chat"].post.responses["504"]).toBeDefined();
  });
});
