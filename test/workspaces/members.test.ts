import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { users } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createUser } from "../helpers/factories";
import { type ApiResponse, describeResponse } from "../helpers/request";
import {
  as,
  auditOf,
  expectSameNotFound,
  liveSessionCount,
  randomUuid,
  signedTenant,
  userRow,
} from "./support";

const membersPath = (workspaceId: string) => `/api/workspaces/${workspaceId}/members`;
const memberPath = (workspaceId: string, userId: string) =>
  `/api/workspaces/${workspaceId}/members/${userId}`;

/** Every page of a list, following nextCursor. */
async function allPages(token: string, path: string, query: string) {
  const pages: ApiResponse[] = [];
  let cursor: string | null = null;
  do {
    const res = await as(token).get(
      `${path}?${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(res.status, describeResponse(res)).toBe(200);
    pages.push(res);
    cursor = res.body.nextCursor;
  } while (cursor && pages.length < 20);
  return pages;
}

describe("GET /api/workspaces/{id}/members", () => {
  it("pages through every member by keyset cursor in each sort order, without repeats or gaps", async () => {
    const tenant = await signedTenant({
      extra: [{ name: "Carol" }, { name: "dave" }, { name: "Erin" }, { name: "Nameless" }, { name: "Carol" }],
    });
    // A user without a name sorts by its email.
    await withDb((db) =>
      db
        .update(users)
        .set({ name: null })
        .where(eq(users.id, tenant.users[5]?.id as string)),
    );
    const ids = tenant.users.map((u) => u.id).sort();
    for (const sort of ["name", "-name", "email", "-email", "createdAt", "-createdAt"]) {
      const pages = await allPages(
        tenant.adminToken,
        membersPath(tenant.workspace.id),
        `limit=2&sort=${sort}`,
      );
      const listed = pages.flatMap((page) => page.body.items);
      expect(pages).toHaveLength(4);
      expect(listed.map((m: { id: string }) => m.id).sort(), sort).toEqual(ids);
      expect(pages.at(-1)?.body.nextCursor).toBeNull();

      const field = sort.replace("-", "");
      const keyOf = (m: { name: string | null; email: string; createdAt: string; id: string }) =>
        field === "name" ? (m.name ?? m.email).toLowerCase() : field === "email" ? m.email : m.createdAt;
      const keys = listed.map(keyOf);
      const sorted = [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      if (sort.startsWith("-")) sorted.reverse();
      // Names compare by the database collation; the test names are plain ASCII letters, so it agrees.
      expect(keys, sort).toEqual(sorted);
    }
  });

  it("issues cursors that work for the longest names, in any script", async () => {
    const long = "\u{1D518}\u00DC".repeat(50);
    const tenant = await signedTenant({ extra: [{ name: long }, { name: `${long}b` }] });
    const pages = await allPages(tenant.adminToken, membersPath(tenant.workspace.id), "limit=1&sort=-name");
    expect(pages.flatMap((p) => p.body.items.map((m: { id: string }) => m.id)).sort()).toEqual(
      tenant.users.map((u) => u.id).sort(),
    );
  });

  it("returns the member shape, never a password hash", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).get(`${membersPath(tenant.workspace.id)}?sort=email`);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.items).toHaveLength(2);
    expect(Object.keys(res.body.items[0]).sort()).toEqual(
      [
        "avatarUrl",
        "createdAt",
        "email",
        "emailVerified",
        "id",
        "lastLoginAt",
        "locale",
        "name",
        "role",
        "status",
        "timezone",
        "workspaceId",
      ].sort(),
    );
    expect(res.text).not.toContain("argon2");
  });

  it("filters by status, role and a search whose wildcards match literally", async () => {
    const tenant = await signedTenant({
      extra: [
        { name: "100% Real_Person", role: "ADMIN" },
        { name: "Gone Member", status: "DEACTIVATED" },
        { name: "Percy Underscore" },
      ],
    });
    const list = async (query: string) => {
      const res = await as(tenant.adminToken).get(`${membersPath(tenant.workspace.id)}?${query}`);
      expect(res.status, describeResponse(res)).toBe(200);
      return res.body.items.map((m: { name: string }) => m.name).sort();
    };
    expect(await list("search=%25")).toEqual(["100% Real_Person"]);
    expect(await list("search=_")).toEqual(["100% Real_Person"]);
    expect(await list("search=real_p")).toEqual(["100% Real_Person"]);
    expect(await list("search=PERCY")).toEqual(["Percy Underscore"]);
    expect(await list(`search=${encodeURIComponent(tenant.member.email)}`)).toEqual(["Bob Member"]);
    expect(await list("status=DEACTIVATED")).toEqual(["Gone Member"]);
    expect(await list("role=ADMIN")).toEqual(["100% Real_Person", "Alice Admin"]);
    expect(await list("role=MEMBER&status=ACTIVE")).toEqual(["Bob Member", "Percy Underscore"]);
  });

  it("refuses bad limits, sorts, filters, unknown parameters and forged or mismatched cursors with 400", async () => {
    const tenant = await signedTenant({ extra: [{}, {}] });
    const path = membersPath(tenant.workspace.id);
    const first = await as(tenant.adminToken).get(`${path}?limit=1&sort=createdAt`);
    const cursor = first.body.nextCursor as string;
    const forged = btoa(
      JSON.stringify({ s: "createdAt", k: "2026-02-30T00:00:00.000000Z", i: randomUuid() }),
    );
    for (const query of [
      "limit=0",
      "limit=101",
      "limit=abc",
      "sort=password",
      "status=PENDING_VERIFY",
      "role=OWNER",
      "workspaceId=x",
      "cursor=not-a-cursor",
      `sort=name&cursor=${encodeURIComponent(cursor)}`,
      `sort=createdAt&cursor=${encodeURIComponent(forged)}`,
    ]) {
      const res = await as(tenant.adminToken).get(`${path}?${query}`);
      expect(res.status, `${query} → ${describeResponse(res)}`).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
    }
  });

  it("answers 403 to a member, 401 without a token and 404 for another workspace", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const forbidden = await as(a.memberToken).get(membersPath(a.workspace.id));
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect((await as(undefined).get(membersPath(a.workspace.id))).status).toBe(401);
    await expectSameNotFound(await as(b.adminToken).get(membersPath(a.workspace.id)), () =>
      as(b.adminToken).get(membersPath(randomUuid())),
    );
  });
});

describe("PATCH /api/workspaces/{id}/members/{uid}", () => {
  it("promotes and demotes, auditing ROLE_CHANGED with the route", async () => {
    const tenant = await signedTenant();
    const path = memberPath(tenant.workspace.id, tenant.member.id);
    const promoted = await as(tenant.adminToken).patch(path, { role: "ADMIN" });
    expect(promoted.status, describeResponse(promoted)).toBe(200);
    expect(promoted.body).toMatchObject({ id: tenant.member.id, role: "ADMIN", status: "ACTIVE" });
    const demoted = await as(tenant.adminToken).patch(path, { role: "MEMBER" });
    expect(demoted.body.role).toBe("MEMBER");
    const events = await auditOf(tenant.workspace.id, "ROLE_CHANGED");
    expect(events.map((e) => e.data)).toEqual([
      { via: "updateWorkspaceMember", from: "MEMBER", to: "ADMIN" },
      { via: "updateWorkspaceMember", from: "ADMIN", to: "MEMBER" },
    ]);
    expect(events.every((e) => e.actorUserId === tenant.admin.id && e.targetId === tenant.member.id)).toBe(
      true,
    );
    // No change, no event.
    expect((await as(tenant.adminToken).patch(path, { role: "MEMBER" })).status).toBe(200);
    expect(await auditOf(tenant.workspace.id, "ROLE_CHANGED")).toHaveLength(2);
  });

  it("deactivates (revoking every session at once) and reactivates", async () => {
    const tenant = await signedTenant();
    const path = memberPath(tenant.workspace.id, tenant.member.id);
    await signIn(tenant.member); // a second device
    const res = await as(tenant.adminToken).patch(path, { status: "DEACTIVATED" });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.status).toBe("DEACTIVATED");
    expect(await liveSessionCount(tenant.member.id)).toBe(0);
    const refused = await as(tenant.memberToken).get(`/api/workspaces/${tenant.workspace.id}`);
    expect(refused.status, describeResponse(refused)).toBe(401);
    const [deactivated] = await auditOf(tenant.workspace.id, "DEACTIVATE_ACCOUNT");
    expect(deactivated?.data).toEqual({ via: "updateWorkspaceMember", sessionsRevoked: 2 });

    const back = await as(tenant.adminToken).patch(path, { status: "ACTIVE" });
    expect(back.status, describeResponse(back)).toBe(200);
    expect((await userRow(tenant.member.id))?.status).toBe("ACTIVE");
    const [reactivated] = await auditOf(tenant.workspace.id, "REACTIVATE_ACCOUNT");
    expect(reactivated?.data).toEqual({ via: "updateWorkspaceMember" });
  });

  it("refuses to demote or deactivate the last active admin while other members remain (409 LAST_ADMIN)", async () => {
    const tenant = await signedTenant();
    const self = memberPath(tenant.workspace.id, tenant.admin.id);
    for (const body of [{ role: "MEMBER" }, { status: "DEACTIVATED" }]) {
      const res = await as(tenant.adminToken).patch(self, body);
      expect(res.status, describeResponse(res)).toBe(409);
      expect(res.body.code).toBe("LAST_ADMIN");
    }
    expect(await userRow(tenant.admin.id)).toMatchObject({ role: "ADMIN", status: "ACTIVE" });
    // With a second admin the first may step down.
    expect(
      (
        await as(tenant.adminToken).patch(memberPath(tenant.workspace.id, tenant.member.id), {
          role: "ADMIN",
        })
      ).status,
    ).toBe(200);
    const res = await as(tenant.adminToken).patch(self, { role: "MEMBER" });
    expect(res.status, describeResponse(res)).toBe(200);
  });

  it("leaves exactly one admin when two admins demote each other at the same moment", async () => {
    const tenant = await signedTenant({ extra: [{ role: "ADMIN", name: "Second Admin" }] });
    const second = tenant.users[2];
    if (!second) throw new Error("no second admin");
    const secondToken = (await signIn(second)).accessToken;
    const results = await Promise.all([
      as(tenant.adminToken).patch(memberPath(tenant.workspace.id, second.id), { role: "MEMBER" }),
      as(secondToken).patch(memberPath(tenant.workspace.id, tenant.admin.id), { role: "MEMBER" }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses, results.map(describeResponse).join("\n")).toHaveLength(2);
    expect(statuses[0]).toBe(200);
    expect([403, 409]).toContain(statuses[1]);
    const admins = await withDb((db) =>
      db.select().from(users).where(eq(users.workspaceId, tenant.workspace.id)),
    );
    expect(admins.filter((u) => u.role === "ADMIN" && u.status === "ACTIVE")).toHaveLength(1);
  });

  it("leaves exactly one active admin when two admins deactivate each other at the same moment", async () => {
    const tenant = await signedTenant({ extra: [{ role: "ADMIN", name: "Second Admin" }] });
    const second = tenant.users[2];
    if (!second) throw new Error("no second admin");
    const secondToken = (await signIn(second)).accessToken;
    const results = await Promise.all([
      as(tenant.adminToken).patch(memberPath(tenant.workspace.id, second.id), { status: "DEACTIVATED" }),
      as(secondToken).patch(memberPath(tenant.workspace.id, tenant.admin.id), { status: "DEACTIVATED" }),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0], results.map(describeResponse).join("\n")).toBe(200);
    // The loser was refused by the lock (403/409) or, arriving after the commit, is no longer signed in (401).
    expect([401, 403, 409]).toContain(statuses[1]);
    const rows = await withDb((db) =>
      db.select().from(users).where(eq(users.workspaceId, tenant.workspace.id)),
    );
    expect(rows.filter((u) => u.role === "ADMIN" && u.status === "ACTIVE")).toHaveLength(1);
  });

  it("refuses fields it does not own (mass assignment) and a missing change with 400", async () => {
    const tenant = await signedTenant();
    const path = memberPath(tenant.workspace.id, tenant.member.id);
    for (const body of [
      {},
      { role: "OWNER" },
      { status: "PENDING_DELETION" },
      { role: "ADMIN", workspaceId: randomUuid() },
      { role: "ADMIN", email: "takeover@evil.test" },
      { status: "ACTIVE", passwordHash: "x" },
    ]) {
      const res = await as(tenant.adminToken).patch(path, body);
      expect(res.status, `${JSON.stringify(body)} → ${describeResponse(res)}`).toBe(400);
    }
    expect(await userRow(tenant.member.id)).toMatchObject({
      role: "MEMBER",
      status: "ACTIVE",
      email: tenant.member.email,
      workspaceId: tenant.workspace.id,
    });
  });

  it("cannot change the status of an account its owner scheduled for deletion (409 CONFLICT)", async () => {
    const tenant = await signedTenant({ extra: [{ status: "PENDING_DELETION" }] });
    const leaving = tenant.users[2];
    const res = await as(tenant.adminToken).patch(memberPath(tenant.workspace.id, leaving?.id as string), {
      status: "ACTIVE",
    });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("CONFLICT");
    expect((await userRow(leaving?.id as string))?.status).toBe("PENDING_DELETION");
  });

  it("answers 403 to a member and 404 for another workspace's user, leaving that user unchanged", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const forbidden = await as(a.memberToken).patch(memberPath(a.workspace.id, a.admin.id), {
      role: "MEMBER",
    });
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect(
      (await as(undefined).patch(memberPath(a.workspace.id, a.member.id), { role: "ADMIN" })).status,
    ).toBe(401);
    const client = as(b.adminToken);
    // A's member through B's own workspace path, and through A's path.
    await expectSameNotFound(
      await client.patch(memberPath(b.workspace.id, a.member.id), { status: "DEACTIVATED" }),
      () => client.patch(memberPath(b.workspace.id, randomUuid()), { status: "DEACTIVATED" }),
    );
    await expectSameNotFound(
      await client.patch(memberPath(a.workspace.id, a.member.id), { status: "DEACTIVATED" }),
      () => client.patch(memberPath(b.workspace.id, "not-a-uuid"), { status: "DEACTIVATED" }),
    );
    const read = await as(a.adminToken).get(
      `${membersPath(a.workspace.id)}?search=${encodeURIComponent(a.member.email)}`,
    );
    expect(read.body.items[0]).toMatchObject({ id: a.member.id, status: "ACTIVE", role: "MEMBER" });
  });
});

describe("DELETE /api/workspaces/{id}/members/{uid}", () => {
  it("deactivates the member, revokes every session and records MEMBER_REMOVED only", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.member.id));
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await userRow(tenant.member.id))?.status).toBe("DEACTIVATED");
    expect(await liveSessionCount(tenant.member.id)).toBe(0);
    expect((await as(tenant.memberToken).get(`/api/workspaces/${tenant.workspace.id}`)).status).toBe(401);
    const events = await auditOf(tenant.workspace.id);
    expect(events.map((e) => e.eventType)).toEqual(["MEMBER_REMOVED"]);
    expect(events[0]).toMatchObject({
      actorUserId: tenant.admin.id,
      targetId: tenant.member.id,
      data: { via: "removeWorkspaceMember", role: "MEMBER", sessionsRevoked: 1 },
    });
    // Removing again changes nothing.
    const again = await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.member.id));
    expect(again.status, describeResponse(again)).toBe(204);
    expect(await auditOf(tenant.workspace.id, "MEMBER_REMOVED")).toHaveLength(1);
  });

  it("touches nothing of an already deactivated member, not even a session left live", async () => {
    const tenant = await signedTenant();
    // Deactivated behind the API's back, with the session still live: removing must still change nothing.
    await withDb((db) =>
      db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, tenant.member.id)),
    );
    const live = await liveSessionCount(tenant.member.id);
    expect(live).toBeGreaterThan(0);
    const res = await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.member.id));
    expect(res.status, describeResponse(res)).toBe(204);
    expect(await liveSessionCount(tenant.member.id)).toBe(live);
    expect(await auditOf(tenant.workspace.id, "MEMBER_REMOVED")).toHaveLength(0);
  });

  it("refuses to remove the last active admin while others remain (409 LAST_ADMIN)", async () => {
    const tenant = await signedTenant();
    const res = await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.admin.id));
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("LAST_ADMIN");
    expect((await userRow(tenant.admin.id))?.status).toBe("ACTIVE");
  });

  it("leaves exactly one active admin when two admins remove each other at the same moment", async () => {
    const tenant = await signedTenant({ extra: [{ role: "ADMIN", name: "Second Admin" }] });
    const second = tenant.users[2];
    if (!second) throw new Error("no second admin");
    const secondToken = (await signIn(second)).accessToken;
    const results = await Promise.all([
      as(tenant.adminToken).delete(memberPath(tenant.workspace.id, second.id)),
      as(secondToken).delete(memberPath(tenant.workspace.id, tenant.admin.id)),
    ]);
    const statuses = results.map((r) => r.status).sort();
    expect(statuses[0], results.map(describeResponse).join("\n")).toBe(204);
    expect([401, 403, 409]).toContain(statuses[1]);
    const rows = await withDb((db) =>
      db.select().from(users).where(eq(users.workspaceId, tenant.workspace.id)),
    );
    expect(rows.filter((u) => u.role === "ADMIN" && u.status === "ACTIVE")).toHaveLength(1);
  });

  it("answers 403 to a member and 404 for another workspace's user, who stays active", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const forbidden = await as(a.memberToken).delete(memberPath(a.workspace.id, a.admin.id));
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    await expectSameNotFound(await as(b.adminToken).delete(memberPath(b.workspace.id, a.member.id)), () =>
      as(b.adminToken).delete(memberPath(b.workspace.id, randomUuid())),
    );
    await expectSameNotFound(await as(b.adminToken).delete(memberPath(a.workspace.id, a.member.id)), () =>
      as(b.adminToken).delete(memberPath(randomUuid(), a.member.id)),
    );
    expect((await userRow(a.member.id))?.status).toBe("ACTIVE");
    expect(await liveSessionCount(a.member.id)).toBe(1);
  });

  it("lets a sole admin of a workspace with no one else leave", async () => {
    const tenant = await signedTenant();
    await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.member.id));
    const extra = await createUser(tenant.workspace, { role: "MEMBER", status: "DEACTIVATED" });
    expect(extra.status).toBe("DEACTIVATED");
    const res = await as(tenant.adminToken).delete(memberPath(tenant.workspace.id, tenant.admin.id));
    expect(res.status, describeResponse(res)).toBe(204);
  });
});
