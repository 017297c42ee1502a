/**
 * A workspace in PENDING_DELETION is read-only for every authenticated route at once (requireAuth), except the
 * auth routes, the password change, the workspace's own cancel-deletion and platform operations.
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import type { AppEnv } from "../../src/core/app-env";
import { handleError } from "../../src/core/error-handler";
import { workspaces } from "../../src/db/schema";
import { requireAuth, writeAllowedWhilePendingDeletion } from "../../src/middleware/auth";
import { requestContext } from "../../src/middleware/request-context";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, DEFAULT_PASSWORD } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

const app = new Hono<AppEnv>();
app.use("*", requestContext);
app.on(["GET", "POST", "PATCH", "DELETE"], "/api/personas/:id", requireAuth, (c) => c.json({ ok: true }));
app.onError(handleError);

async function call(method: string, path: string, token: string) {
  const ctx = createExecutionContext();
  const res = await app.fetch(
    new Request(new URL(path, "http://127.0.0.1:8787"), {
      method,
      headers: { Authorization: `Bearer ${token}` },
    }),
    env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return { status: res.status, body: (await res.json()) as { code?: string } };
}

async function pendingDeletionTenant() {
  const tenant = await createTenant();
  await withDb((db) =>
    db
      .update(workspaces)
      .set({ status: "PENDING_DELETION", purgeAfter: sql`now() + interval '30 days'` })
      .where(eq(workspaces.id, tenant.workspace.id)),
  );
  return tenant;
}

describe("writes to a workspace in PENDING_DELETION", () => {
  it("refuses every write with 409 WORKSPACE_PENDING_DELETION and keeps reads", async () => {
    const { member } = await pendingDeletionTenant();
    const { accessToken } = await signIn(member);
    expect((await call("GET", "/api/personas/x", accessToken)).status).toBe(200);
    for (const method of ["POST", "PATCH", "DELETE"]) {
      const res = await call(method, "/api/personas/x", accessToken);
      expect(res.status, method).toBe(409);
      expect(res.body.code).toBe("WORKSPACE_PENDING_DELETION");
    }
  });

  it("keeps the auth routes and the password change working", async () => {
    const { member } = await pendingDeletionTenant();
    const { accessToken } = await signIn(member);
    const sessions = await api("GET", "/api/auth/sessions", { token: accessToken });
    expect(sessions.status, describeResponse(sessions)).toBe(200);
    const change = await api("PUT", "/api/users/me/password", {
      token: accessToken,
      body: { currentPassword: DEFAULT_PASSWORD, newPassword: "Quiet-Orchard-Lantern-31" },
    });
    expect(change.status, describeResponse(change)).toBe(200);
    const logout = await api("POST", "/api/auth/logout", { token: accessToken });
    expect(logout.status, describeResponse(logout)).toBe(204);
  });

  it("lists exactly the allowed writes", () => {
    expect(writeAllowedWhilePendingDeletion("POST", "/api/workspaces/abc/cancel-deletion")).toBe(true);
    expect(writeAllowedWhilePendingDeletion("POST", "/api/auth/delete-account")).toBe(true);
    expect(writeAllowedWhilePendingDeletion("POST", "/api/platform/jobs/tokens/run")).toBe(true);
    expect(writeAllowedWhilePendingDeletion("PUT", "/api/workspaces/abc")).toBe(false);
    expect(writeAllowedWhilePendingDeletion("POST", "/api/workspaces/abc/delete")).toBe(false);
    expect(writeAllowedWhilePendingDeletion("PUT", "/api/users/me")).toBe(false);
  });
});
