import { describe, expect, it } from "vitest";
import { api, describeResponse } from "../helpers/request";

const OPERATIONS: [method: string, path: string, operationId: string, adminOnly: boolean][] = [
  ["get", "/api/workspaces/{id}", "getWorkspace", false],
  ["put", "/api/workspaces/{id}", "updateWorkspace", true],
  ["get", "/api/workspaces/{id}/members", "listWorkspaceMembers", true],
  ["post", "/api/workspaces/{id}/members", "inviteWorkspaceMember", true],
  ["patch", "/api/workspaces/{id}/members/{uid}", "updateWorkspaceMember", true],
  ["delete", "/api/workspaces/{id}/members/{uid}", "removeWorkspaceMember", true],
  ["get", "/api/workspaces/{id}/invitations", "listWorkspaceInvitations", true],
  ["delete", "/api/workspaces/{id}/invitations/{invitationId}", "revokeWorkspaceInvitation", true],
  ["post", "/api/workspaces/{id}/delete", "requestWorkspaceDeletion", true],
  ["post", "/api/workspaces/{id}/cancel-deletion", "cancelWorkspaceDeletion", true],
  ["post", "/api/auth/accept-invitation", "acceptInvitation", false],
  ["get", "/api/admin/users", "adminListUsers", true],
  ["get", "/api/admin/users/{id}", "adminGetUser", true],
  ["post", "/api/admin/users/{id}/activate", "adminActivateUser", true],
  ["post", "/api/admin/users/{id}/deactivate", "adminDeactivateUser", true],
  ["post", "/api/admin/users/{id}/promote", "adminPromoteUser", true],
  ["post", "/api/admin/users/{id}/demote", "adminDemoteUser", true],
  ["get", "/api/admin/stats", "adminGetStats", true],
];

describe("GET /docs/openapi.json (workspace, invitation and admin operations)", () => {
  it("documents each operation with its id, tag, summary, bearer security, role and error responses", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.status, describeResponse(res)).toBe(200);
    for (const [method, path, operationId, adminOnly] of OPERATIONS) {
      const op = res.body.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(op.operationId).toBe(operationId);
      expect(op.tags?.length, operationId).toBeGreaterThan(0);
      expect(op.summary, operationId).toBeTruthy();
      expect(op.description, operationId).toBeTruthy();
      expect(op.security, operationId).toEqual([{ bearerAuth: [] }]);
      expect(op["x-required-role"], operationId).toBe(adminOnly ? "admin" : undefined);
      expect(op.responses["401"], operationId).toBeDefined();
      expect(op.responses["500"], operationId).toBeDefined();
      if (path.includes("{")) expect(op.responses["404"], operationId).toBeDefined();
      if (op.requestBody) {
        expect(op.requestBody.required, operationId).toBe(true);
        const schema = op.requestBody.content["application/json"].schema;
        const resolved = schema.$ref
          ? res.body.components.schemas[schema.$ref.replace("#/components/schemas/", "")]
          : schema;
        expect(resolved.additionalProperties, `${operationId} body is strict`).toBe(false);
      }
    }
  });
});

describe("GET /accept-invite", () => {
  it("serves the built-in invitation page, which registers with the token and explains the signed-in case", async () => {
    const page = await api("GET", "/accept-invite?token=secret-invite-token");
    expect(page.status, describeResponse(page)).toBe(200);
    expect(page.headers.get("Cache-Control")).toBe("no-store");
    expect(page.text).toContain('data-page="accept-invite"');
    expect(page.text).not.toContain("secret-invite-token");
    expect(page.text).toMatch(/sign in to the app and accept/i);
    const script = await api("GET", "/pages/page.js");
    expect(script.text).toContain('"accept-invite"');
    expect(script.text).toContain("inviteToken: token");
  });
});
