import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { describeResponse } from "../helpers/request";
import {
  as,
  auditOf,
  expectSameNotFound,
  liveSessionCount,
  randomUuid,
  signedTenant,
  userRow,
} from "../workspaces/support";

const userPath = (id: string, action?: string) => `/api/admin/users/${id}${action ? `/${action}` : ""}`;

describe("GET /api/admin/users", () => {
  it("lists the caller's workspace only, with the member list's filters and cursor", async () => {
    const [a, b] = await Promise.all([
      signedTenant({
        extra: [
          { name: "Zed Gone", status: "DEACTIVATED" },
          { name: "Yan Admin", role: "ADMIN" },
        ],
      }),
      signedTenant(),
    ]);
    const all = await as(a.adminToken).get("/api/admin/users?sort=name&limit=100");
    expect(all.status, describeResponse(all)).toBe(200);
    expect(all.body.items.map((u: { name: string }) => u.name)).toEqual([
      "Alice Admin",
      "Bob Member",
      "Yan Admin",
      "Zed Gone",
    ]);
    expect(all.body.nextCursor).toBeNull();
    expect(all.text).not.toContain(b.member.email);

    const filtered = await as(a.adminToken).get("/api/admin/users?role=ADMIN&status=ACTIVE&sort=-name");
    expect(filtered.body.items.map((u: { name: string }) => u.name)).toEqual(["Yan Admin", "Alice Admin"]);

    const first = await as(a.adminToken).get("/api/admin/users?sort=email&limit=3");
    expect(first.body.items).toHaveLength(3);
    const rest = await as(a.adminToken).get(
      `/api/admin/users?sort=email&limit=3&cursor=${encodeURIComponent(first.body.nextCursor)}`,
    );
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
  });

  it("answers 403 to a member, 401 without a token and 400 to unknown parameters", async () => {
    const tenant = await signedTenant();
    const forbidden = await as(tenant.memberToken).get("/api/admin/users");
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await as(undefined).get("/api/admin/users")).status).toBe(401);
    expect((await as(tenant.adminToken).get(`/api/admin/users?workspaceId=${randomUuid()}`)).status).toBe(
      400,
    );
  });
});

describe("GET /api/admin/users/{id}", () => {
  it("shows any user of the workspace, whatever its status", async () => {
    const tenant = await signedTenant({ extra: [{ status: "DEACTIVATED" }] });
    const gone = tenant.users[2];
    const res = await as(tenant.adminToken).get(userPath(gone?.id as string));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ id: gone?.id, status: "DEACTIVATED", workspaceId: tenant.workspace.id });
  });

  it("answers another workspace's user with the same 404 as a random or malformed id, and 403 to members", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const client = as(b.adminToken);
    await expectSameNotFound(await client.get(userPath(a.member.id)), () =>
      client.get(userPath(randomUuid())),
    );
    await expectSameNotFound(await client.get(userPath("nope")), () => client.get(userPath(randomUuid())));
    expect((await as(a.memberToken).get(userPath(a.admin.id))).status).toBe(403);
  });
});

describe("POST /api/admin/users/{id}/deactivate", () => {
  it("deactivates and revokes sessions with DEACTIVATE_ACCOUNT naming the admin route", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).post(userPath(tenant.member.id, "deactivate"));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.status).toBe("DEACTIVATED");
    expect(await liveSessionCount(tenant.member.id)).toBe(0);
    const [event] = await auditOf(tenant.workspace.id, "DEACTIVATE_ACCOUNT");
    expect(event).toMatchObject({
      actorUserId: tenant.admin.id,
      targetId: tenant.member.id,
      data: { via: "adminDeactivateUser", sessionsRevoked: 1 },
    });
  });

  it("applies the LAST_ADMIN rule", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).post(userPath(tenant.admin.id, "deactivate"));
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("LAST_ADMIN");
    expect((await userRow(tenant.admin.id))?.status).toBe("ACTIVE");
  });

  it("answers 404 for another workspace's user, who stays active with live sessions", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    await expectSameNotFound(await as(b.adminToken).post(userPath(a.member.id, "deactivate")), () =>
      as(b.adminToken).post(userPath(randomUuid(), "deactivate")),
    );
    expect((await userRow(a.member.id))?.status).toBe("ACTIVE");
    expect(await liveSessionCount(a.member.id)).toBe(1);
    expect((await as(a.memberToken).post(userPath(a.admin.id, "deactivate"))).status).toBe(403);
  });
});

describe("POST /api/admin/users/{id}/activate", () => {
  it("reactivates a deactivated user with REACTIVATE_ACCOUNT, and leaves an active one unchanged", async () => {
    const tenant = await signedTenant({ extra: [{ status: "DEACTIVATED" }] });
    const gone = tenant.users[2];
    const res = await as(tenant.adminToken).post(userPath(gone?.id as string, "activate"));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.status).toBe("ACTIVE");
    const again = await as(tenant.adminToken).post(userPath(gone?.id as string, "activate"));
    expect(again.status).toBe(200);
    const events = await auditOf(tenant.workspace.id, "REACTIVATE_ACCOUNT");
    expect(events.map((e) => e.data)).toEqual([{ via: "adminActivateUser" }]);
  });

  it("refuses an account its owner scheduled for deletion (409 CONFLICT)", async () => {
    const tenant = await signedTenant({ extra: [{ status: "PENDING_DELETION" }] });
    const leaving = tenant.users[2];
    const res = await as(tenant.adminToken).post(userPath(leaving?.id as string, "activate"));
    expect(res.status, describeResponse(res)).toBe(409);
    expect((await userRow(leaving?.id as string))?.status).toBe("PENDING_DELETION");
  });
});

describe("POST /api/admin/users/{id}/promote", () => {
  it("makes a member an admin with ROLE_CHANGED naming the admin route", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).post(userPath(tenant.member.id, "promote"));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.role).toBe("ADMIN");
    const [event] = await auditOf(tenant.workspace.id, "ROLE_CHANGED");
    expect(event?.data).toEqual({ via: "adminPromoteUser", from: "MEMBER", to: "ADMIN" });
  });

  it("answers 403 to a member (no self-promotion) and 404 across workspaces", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const self = await as(a.memberToken).post(userPath(a.member.id, "promote"));
    expect(self.status, describeResponse(self)).toBe(403);
    await expectSameNotFound(await as(b.adminToken).post(userPath(a.member.id, "promote")), () =>
      as(b.adminToken).post(userPath(randomUuid(), "promote")),
    );
    expect((await userRow(a.member.id))?.role).toBe("MEMBER");
  });
});

describe("POST /api/admin/users/{id}/demote", () => {
  it("makes an admin a member, but never the last active one", async () => {
    const tenant = await signedTenant({ extra: [{ role: "ADMIN" }] });
    const second = tenant.users[2];
    const res = await as(tenant.adminToken).post(userPath(second?.id as string, "demote"));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.role).toBe("MEMBER");
    const [event] = await auditOf(tenant.workspace.id, "ROLE_CHANGED");
    expect(event?.data).toEqual({ via: "adminDemoteUser", from: "ADMIN", to: "MEMBER" });
    const last = await as(tenant.adminToken).post(userPath(tenant.admin.id, "demote"));
    expect(last.status, describeResponse(last)).toBe(409);
    expect(last.body.code).toBe("LAST_ADMIN");
  });

  it("leaves exactly one admin when two admins demote each other at the same moment", async () => {
    const tenant = await signedTenant({ extra: [{ role: "ADMIN" }] });
    const second = tenant.users[2];
    if (!second) throw new Error("no second admin");
    const secondToken = (await signIn(second)).accessToken;
    const results = await Promise.all([
      as(tenant.adminToken).post(userPath(second.id, "demote")),
      as(secondToken).post(userPath(tenant.admin.id, "demote")),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0], results.map(describeResponse).join("\n")).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const rows = await withDb((db) =>
      db.select().from(users).where(eq(users.workspaceId, tenant.workspace.id)),
    );
    expect(rows.filter((u) => u.role === "ADMIN" && u.status === "ACTIVE")).toHaveLength(1);
  });
});
