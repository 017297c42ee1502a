import { describe, expect, it } from "vitest";
import { api, describeResponse } from "../helpers/request";

/** Every operation of the conversations, messages, files and sharing modules: [method, path, operationId, bearer]. */
const OPERATIONS = [
  ["post", "/api/conversations", "createConversation", true],
  ["get", "/api/conversations", "listConversations", true],
  ["get", "/api/conversations/{id}", "getConversation", true],
  ["patch", "/api/conversations/{id}", "updateConversation", true],
  ["delete", "/api/conversations/{id}", "deleteConversation", true],
  ["patch", "/api/conversations/{id}/visibility", "setConversationVisibility", true],
  ["patch", "/api/conversations/{id}/archive", "setConversationArchived", true],
  ["post", "/api/conversations/{id}/share", "createShareLink", true],
  ["get", "/api/conversations/{id}/shares", "listShareLinks", true],
  ["delete", "/api/conversations/{id}/shares/{shareId}", "revokeShareLink", true],
  ["get", "/p/{token}", "viewSharedConversation", false],
  ["post", "/api/conversations/{id}/files", "createFileUpload", true],
  ["put", "/api/uploads/{token}", "uploadFile", false],
  ["get", "/api/files/{id}", "downloadFile", true],
  ["patch", "/api/messages/{id}", "editMessage", true],
  ["post", "/api/messages/{id}/retry", "retryMessage", true],
  ["post", "/api/messages/{id}/reactions", "toggleMessageReaction", true],
] as const;

describe("GET /docs/openapi.json (conversations, messages, files, sharing)", () => {
  it("documents each operation with its id, tag, summary, security and error responses; JSON bodies strict", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.status, describeResponse(res)).toBe(200);
    const doc = res.body;
    for (const [method, path, operationId, bearer] of OPERATIONS) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.operationId).toBe(operationId);
      expect(op.tags?.length, operationId).toBeGreaterThan(0);
      expect(op.summary, operationId).toBeTruthy();
      expect(op.description, operationId).toBeTruthy();
      if (bearer) {
        expect(op.security?.[0], operationId).toEqual({ bearerAuth: [] });
        expect(op.responses["401"], operationId).toBeDefined();
      } else {
        expect(op.security, operationId).toBeUndefined();
      }
      expect(op.responses["500"], operationId).toBeDefined();
      if (path.includes("{")) expect(op.responses["404"], operationId).toBeDefined();
      const json = op.requestBody?.content?.["application/json"];
      if (json) {
        expect(op.requestBody.required, operationId).toBe(true);
        const ref = json.schema.$ref as string | undefined;
        const schema = ref ? doc.components.schemas[ref.replace("#/components/schemas/", "")] : json.schema;
        expect(schema.additionalProperties, `${operationId} body is strict`).toBe(false);
      }
    }
  });
});
