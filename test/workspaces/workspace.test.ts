import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createUser } from "../helpers/factories";
import { mailsTo, waitForMails } from "../helpers/mail";
import { describeResponse } from "../helpers/request";
import { as, auditOf, expectSameNotFound, randomUuid, signedTenant, workspaceRow } from "./support";

describe("GET /api/workspaces/{id}", () => {
  it("shows any member the workspace with its count of ACTIVE members", async () => {
    const tenant = await signedTenant({ extra: [{ status: "DEACTIVATED" }, { role: "ADMIN" }] });
    const res = await as(tenant.memberToken).get(`/api/workspaces/${tenant.workspace.id}`);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({
      id: tenant.workspace.id,
      name: tenant.workspace.name,
      kind: "CORPORATE",
      domain: tenant.workspace.domain,
      joinPolicy: "AUTO",
      status: "ACTIVE",
      memberCount: 3,
      purgeAfter: null,
      deletionRequestedAt: null,
    });
  });

  it("answers 401 without a token", async () => {
    const tenant = await signedTenant();
    const res = await as(undefined).get(`/api/workspaces/${tenant.workspace.id}`);
    expect(res.status).toBe(401);
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("answers another workspace's id with the same 404 as a random or malformed id", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const client = as(b.adminToken);
    await expectSameNotFound(await client.get(`/api/workspaces/${a.workspace.id}`), () =>
      client.get(`/api/workspaces/${randomUuid()}`),
    );
    await expectSameNotFound(await client.get("/api/workspaces/not-a-uuid"), () =>
      client.get(`/api/workspaces/${randomUuid()}`),
    );
    // A member probing a foreign id learns nothing either (404, not the 403 of a role check).
    await expectSameNotFound(await as(b.memberToken).get(`/api/workspaces/${a.workspace.id}/members`), () =>
      as(b.memberToken).get(`/api/workspaces/${randomUuid()}/members`),
    );
  });

  it("refuses an x-workspace-id header naming another workspace", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const res = await as(b.adminToken).get(`/api/workspaces/${b.workspace.id}`, {
      "x-workspace-id": a.workspace.id,
    });
    expect(res.status, describeResponse(res)).toBe(404);
    const own = await as(b.adminToken).get(`/api/workspaces/${b.workspace.id}`, {
      "x-workspace-id": b.workspace.id,
    });
    expect(own.status, describeResponse(own)).toBe(200);
  });
});

describe("PUT /api/workspaces/{id}", () => {
  it("lets an admin change the settings, stores canonical zone and locale, and audits the changes", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).put(`/api/workspaces/${tenant.workspace.id}`, {
      name: "  Acme Rockets  ",
      timezone: "europe/berlin",
      locale: "de-de",
      joinPolicy: "INVITE_ONLY",
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({
      name: "Acme Rockets",
      timezone: "Europe/Berlin",
      locale: "de-DE",
      joinPolicy: "INVITE_ONLY",
      memberCount: 2,
    });
    expect(await workspaceRow(tenant.workspace.id)).toMatchObject({
      name: "Acme Rockets",
      timezone: "Europe/Berlin",
      locale: "de-DE",
      joinPolicy: "INVITE_ONLY",
    });
    const [event] = await auditOf(tenant.workspace.id, "WORKSPACE_UPDATED");
    expect(event?.actorUserId).toBe(tenant.admin.id);
    expect(event?.data).toEqual({
      via: "updateWorkspace",
      changes: {
        name: { from: "Test Corp", to: "Acme Rockets" },
        timezone: { from: "UTC", to: "Europe/Berlin" },
        locale: { from: "en", to: "de-DE" },
        joinPolicy: { from: "AUTO", to: "INVITE_ONLY" },
      },
    });
  });

  it("records nothing when no value changes", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).put(`/api/workspaces/${tenant.workspace.id}`, {
      timezone: "UTC",
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(await auditOf(tenant.workspace.id, "WORKSPACE_UPDATED")).toEqual([]);
  });

  it("refuses invalid zones and locales, unknown fields and an empty body with 400", async () => {
    const tenant = await signedTenant();
    const bodies = [
      { timezone: "Mars/Olympus_Mons" },
      { timezone: "+01:00" },
      { locale: "not a locale" },
      { name: "" },
      { joinPolicy: "OPEN" },
      {},
      { name: "x", domain: "evil.test" },
      { name: "x", kind: "PERSONAL" },
      { name: "x", status: "ACTIVE" },
      { name: "x", id: randomUuid() },
    ];
    for (const body of bodies) {
      const res = await as(tenant.adminToken).put(`/api/workspaces/${tenant.workspace.id}`, body);
      expect(res.status, `${JSON.stringify(body)} → ${describeResponse(res)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.length).toBeGreaterThan(0);
    }
    expect(await workspaceRow(tenant.workspace.id)).toMatchObject({
      name: "Test Corp",
      domain: tenant.workspace.domain,
      kind: "CORPORATE",
      timezone: "UTC",
    });
  });

  it("answers 403 to a member and 401 without a token", async () => {
    const tenant = await signedTenant();
    const forbidden = await as(tenant.memberToken).put(`/api/workspaces/${tenant.workspace.id}`, {
      name: "x",
    });
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await as(undefined).put(`/api/workspaces/${tenant.workspace.id}`, { name: "x" })).status).toBe(
      401,
    );
    expect((await workspaceRow(tenant.workspace.id))?.name).toBe("Test Corp");
  });

  it("answers 404 for another workspace and leaves it unchanged", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const client = as(b.adminToken);
    await expectSameNotFound(await client.put(`/api/workspaces/${a.workspace.id}`, { name: "Pwned" }), () =>
      client.put(`/api/workspaces/${randomUuid()}`, { name: "Pwned" }),
    );
    const read = await as(a.adminToken).get(`/api/workspaces/${a.workspace.id}`);
    expect(read.body.name).toBe("Test Corp");
  });
});

describe("POST /api/workspaces/{id}/delete", () => {
  it("schedules the purge in 30 days, mails every active admin, and makes the workspace read-only", async () => {
    const tenant = await signedTenant({
      extra: [
        { role: "ADMIN", name: "Second Admin" },
        { role: "ADMIN", status: "DEACTIVATED" },
      ],
    });
    const [, , secondAdmin, formerAdmin] = tenant.users;
    const res = await as(tenant.adminToken).post(`/api/workspaces/${tenant.workspace.id}/delete`, {
      reason: "Moving to another tool",
    });
    expect(res.status, describeResponse(res)).toBe(202);
    const purgeAfter = Date.parse(res.body.purgeAfter);
    expect(Math.abs(purgeAfter - (Date.now() + 30 * 86_400_000))).toBeLessThan(60_000);

    expect(await workspaceRow(tenant.workspace.id)).toMatchObject({
      status: "PENDING_DELETION",
      deletionRequestedBy: tenant.admin.id,
      deletionReason: "Moving to another tool",
    });
    const [event] = await auditOf(tenant.workspace.id, "WORKSPACE_DELETION_REQUESTED");
    expect(event?.data).toMatchObject({ via: "requestWorkspaceDeletion", reason: "Moving to another tool" });

    for (const admin of [tenant.admin, secondAdmin]) {
      const [mail] = await waitForMails(admin?.email as string);
      expect(mail?.subject).toMatch(/scheduled for deletion/);
      expect(mail?.text).toContain("Moving to another tool");
    }
    // Only ACTIVE admins are told; give the queue a moment to prove the others got nothing.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await mailsTo(tenant.member.email)).toEqual([]);
    expect(await mailsTo(formerAdmin?.email as string)).toEqual([]);

    // Reads still work; writes answer 409 for admins and members alike.
    const read = await as(tenant.memberToken).get(`/api/workspaces/${tenant.workspace.id}`);
    expect(read.status, describeResponse(read)).toBe(200);
    expect(read.body).toMatchObject({ status: "PENDING_DELETION", purgeAfter: res.body.purgeAfter });
    const members = await as(tenant.adminToken).get(`/api/workspaces/${tenant.workspace.id}/members`);
    expect(members.status, describeResponse(members)).toBe(200);
    const writes = [
      as(tenant.adminToken).put(`/api/workspaces/${tenant.workspace.id}`, { name: "Still here" }),
      as(tenant.adminToken).post(`/api/workspaces/${tenant.workspace.id}/members`, {
        email: "late@example.com",
        role: "MEMBER",
      }),
      as(tenant.adminToken).patch(`/api/workspaces/${tenant.workspace.id}/members/${tenant.member.id}`, {
        role: "ADMIN",
      }),
      as(tenant.adminToken).post(`/api/workspaces/${tenant.workspace.id}/delete`, {}),
    ];
    for (const write of await Promise.all(writes)) {
      expect(write.status, describeResponse(write)).toBe(409);
      expect(write.body.code).toBe("WORKSPACE_PENDING_DELETION");
    }
    expect((await workspaceRow(tenant.workspace.id))?.name).toBe("Test Corp");
  });

  it("refuses unknown fields, members (403) and other workspaces (404) without scheduling anything", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const path = `/api/workspaces/${a.workspace.id}/delete`;
    const invalid = await as(a.adminToken).post(path, { reason: "x", purgeAfter: "2020-01-01T00:00:00Z" });
    expect(invalid.status, describeResponse(invalid)).toBe(400);
    expect((await as(a.memberToken).post(path, {})).status).toBe(403);
    expect((await as(undefined).post(path, {})).status).toBe(401);
    await expectSameNotFound(await as(b.adminToken).post(path, {}), () =>
      as(b.adminToken).post(`/api/workspaces/${randomUuid()}/delete`, {}),
    );
    expect((await workspaceRow(a.workspace.id))?.status).toBe("ACTIVE");
  });
});

describe("POST /api/workspaces/{id}/cancel-deletion", () => {
  it("lets an admin restore a workspace pending deletion, after which writes work again", async () => {
    const tenant = await signedTenant();
    const base = `/api/workspaces/${tenant.workspace.id}`;
    expect((await as(tenant.adminToken).post(`${base}/delete`, {})).status).toBe(202);

    // Members cannot cancel, even though the route is open while the workspace is read-only.
    const forbidden = await as(tenant.memberToken).post(`${base}/cancel-deletion`);
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);

    const res = await as(tenant.adminToken).post(`${base}/cancel-deletion`);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ status: "ACTIVE", purgeAfter: null, deletionRequestedAt: null });
    expect(await workspaceRow(tenant.workspace.id)).toMatchObject({
      status: "ACTIVE",
      purgeAfter: null,
      deletionRequestedBy: null,
      deletionReason: null,
    });
    const [event] = await auditOf(tenant.workspace.id, "WORKSPACE_DELETION_CANCELLED");
    expect(event?.actorUserId).toBe(tenant.admin.id);

    const write = await as(tenant.adminToken).put(base, { name: "Back again" });
    expect(write.status, describeResponse(write)).toBe(200);

    // Cancelling again changes nothing and records nothing.
    const again = await as(tenant.adminToken).post(`${base}/cancel-deletion`);
    expect(again.status, describeResponse(again)).toBe(200);
    expect(await auditOf(tenant.workspace.id, "WORKSPACE_DELETION_CANCELLED")).toHaveLength(1);
  });

  it("answers 404 for another workspace, which stays scheduled", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    expect((await as(a.adminToken).post(`/api/workspaces/${a.workspace.id}/delete`, {})).status).toBe(202);
    await expectSameNotFound(
      await as(b.adminToken).post(`/api/workspaces/${a.workspace.id}/cancel-deletion`),
      () => as(b.adminToken).post(`/api/workspaces/${randomUuid()}/cancel-deletion`),
    );
    expect((await workspaceRow(a.workspace.id))?.status).toBe("PENDING_DELETION");
  });

  it("is refused to an admin whose role was taken away after sign-in", async () => {
    const tenant = await signedTenant();
    const other = await createUser(tenant.workspace, { role: "ADMIN" });
    expect(
      (await as(tenant.adminToken).post(`/api/workspaces/${tenant.workspace.id}/delete`, {})).status,
    ).toBe(202);
    // requireAuth reads the role on every request, so a demoted admin is a member at once.
    const token = (await signIn(other)).accessToken;
    await withDb((db) => db.update(users).set({ role: "MEMBER" }).where(eq(users.id, other.id)));
    const res = await as(token).post(`/api/workspaces/${tenant.workspace.id}/cancel-deletion`);
    expect(res.status, describeResponse(res)).toBe(403);
  });
});
