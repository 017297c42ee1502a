/**
 * The invitee's side of invitations (issue 16): invitations apply only with their token or by the signed-in
 * invitee's choice from their own list; they lapse with their inviter's admin rights; and inviting is capped
 * per day.
 */
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { invitations, users } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { unique } from "../helpers/factories";
import { describeResponse } from "../helpers/request";
import {
  as,
  auditOf,
  expectSameNotFound,
  insertInvitation,
  invitationRow,
  personalUser,
  randomUuid,
  signedTenant,
  userRow,
} from "./support";

const MINE = "/api/users/me/invitations";
const acceptPath = (id: string) => `${MINE}/${id}/accept`;
const declinePath = (id: string) => `${MINE}/${id}/decline`;

/** A gmail user alone in a PERSONAL workspace, signed in. */
async function invitee() {
  const { workspace, user } = await personalUser({ email: `${unique("invitee")}@gmail.com` });
  const { accessToken } = await signIn(user);
  return { workspace, user, token: accessToken };
}

describe("GET /api/users/me/invitations", () => {
  it("lists the open invitations for my address with the inviter's address and the workspace, nothing else", async () => {
    const me = await invitee();
    const acme = await signedTenant();
    const other = await signedTenant();
    const { invitation: open } = await insertInvitation(acme, me.user.email, { role: "ADMIN" });
    await insertInvitation(other, me.user.email, { expiresAt: new Date(Date.now() - 1000) });
    await insertInvitation(other, `${unique("someone")}@gmail.com`);

    const res = await as(me.token).get(MINE);
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.items).toEqual([
      {
        id: open.id,
        role: "ADMIN",
        workspace: { id: acme.workspace.id, name: "Test Corp", kind: "CORPORATE", verifiedDomain: null },
        invitedBy: { email: acme.admin.email, name: acme.admin.name },
        expiresAt: open.expiresAt.toISOString(),
        createdAt: open.createdAt.toISOString(),
      },
    ]);
    // Listing changes nothing: the user is still where they were.
    expect((await userRow(me.user.id))?.workspaceId).toBe(me.workspace.id);
    expect((await as(undefined).get(MINE)).status).toBe(401);
  });

  it("leaves out invitations whose inviter is no longer an active admin", async () => {
    const me = await invitee();
    const acme = await signedTenant();
    await insertInvitation(acme, me.user.email);
    // Another admin first (LAST_ADMIN), then the inviter loses the role.
    const members = `/api/workspaces/${acme.workspace.id}/members`;
    await as(acme.adminToken).patch(`${members}/${acme.member.id}`, { role: "ADMIN" });
    const demoted = await as(acme.adminToken).patch(`${members}/${acme.admin.id}`, { role: "MEMBER" });
    expect(demoted.status, describeResponse(demoted)).toBe(200);
    expect((await as(me.token).get(MINE)).body.items).toEqual([]);
  });
});

describe("POST /api/users/me/invitations/{id}/accept and /decline", () => {
  it("accepts by id: the user moves into the inviting workspace with the invited role", async () => {
    const me = await invitee();
    const acme = await signedTenant();
    const { invitation } = await insertInvitation(acme, me.user.email);
    const res = await as(me.token).post(acceptPath(invitation.id));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user).toMatchObject({ id: me.user.id, workspaceId: acme.workspace.id, role: "MEMBER" });
    expect(res.body.accessToken).toEqual(expect.any(String));
    const [event] = await auditOf(acme.workspace.id, "INVITATION_ACCEPTED");
    expect(event).toMatchObject({ targetId: invitation.id, data: { via: "acceptMyInvitation" } });
    expect((await as(res.body.accessToken).get(MINE)).body.items).toEqual([]);
  });

  it("answers 404 alike for another address's invitation, an unknown id and a malformed one, changing nothing", async () => {
    const me = await invitee();
    const acme = await signedTenant();
    const { invitation: theirs } = await insertInvitation(acme, `${unique("them")}@gmail.com`);
    for (const path of [acceptPath, declinePath]) {
      await expectSameNotFound(await as(me.token).post(path(theirs.id)), () =>
        as(me.token).post(path(randomUuid())),
      );
      expect((await as(me.token).post(path("not-a-uuid"))).status).toBe(404);
      expect((await as(undefined).post(path(theirs.id))).status).toBe(401);
    }
    expect(await invitationRow(theirs.id)).toMatchObject({ acceptedAt: null, revokedAt: null });
    expect((await userRow(me.user.id))?.workspaceId).toBe(me.workspace.id);
  });

  it("declines: the invitation closes (its link stops working) and INVITATION_DECLINED is audited", async () => {
    const me = await invitee();
    const acme = await signedTenant();
    const { invitation, token } = await insertInvitation(acme, me.user.email);
    const res = await as(me.token).post(declinePath(invitation.id));
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await invitationRow(invitation.id))?.revokedAt).not.toBeNull();
    const [event] = await auditOf(acme.workspace.id, "INVITATION_DECLINED");
    expect(event).toMatchObject({ actorUserId: me.user.id, targetId: invitation.id });
    expect((await as(me.token).post(acceptPath(invitation.id))).status).toBe(404);
    const byLink = await as(me.token).post("/api/auth/accept-invitation", { token });
    expect(byLink.body.code).toBe("INVALID_TOKEN");
  });
});

describe("invitations and their inviter", () => {
  it("revokes a demoted admin's open invitations (audited), and a deactivated inviter's invitations lapse", async () => {
    const acme = await signedTenant();
    // A second admin who invites, then loses the role.
    await as(acme.adminToken).patch(`/api/workspaces/${acme.workspace.id}/members/${acme.member.id}`, {
      role: "ADMIN",
    });
    const second = (await signIn(acme.member)).accessToken;
    const invited = await as(second).post(`/api/workspaces/${acme.workspace.id}/members`, {
      email: `${unique("x")}@gmail.com`,
      role: "MEMBER",
    });
    expect(invited.status, describeResponse(invited)).toBe(201);
    const demote = await as(acme.adminToken).patch(
      `/api/workspaces/${acme.workspace.id}/members/${acme.member.id}`,
      { role: "MEMBER" },
    );
    expect(demote.status, describeResponse(demote)).toBe(200);
    expect((await invitationRow(invited.body.id))?.revokedAt).not.toBeNull();
    const [event] = await auditOf(acme.workspace.id, "INVITATION_REVOKED");
    expect(event).toMatchObject({
      targetId: acme.member.id,
      data: { reason: "inviter_no_longer_admin", invitations: [invited.body.id] },
    });

    // An inviter who leaves by a path that does not revoke (here: deactivated directly) backs nothing.
    const me = await invitee();
    const { invitation, token } = await insertInvitation(acme, me.user.email);
    await withDb((db) =>
      db.update(invitations).set({ invitedBy: acme.admin.id }).where(eq(invitations.id, invitation.id)),
    );
    await withDb((db) => db.update(users).set({ status: "DEACTIVATED" }).where(eq(users.id, acme.admin.id)));
    const res = await as(me.token).post("/api/auth/accept-invitation", { token });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("INVALID_TOKEN");
  });
});

describe("RATE_LIMIT_INVITE_PERSONAL / RATE_LIMIT_INVITE_WORKSPACE", () => {
  it("lets a personal workspace send 10 invitations a day, then 429 storing nothing; a company workspace more", async () => {
    const me = await invitee();
    const path = `/api/workspaces/${me.workspace.id}/members`;
    for (let i = 0; i < 10; i++) {
      const res = await as(me.token).post(path, { email: `${unique(`p${i}`)}@gmail.com`, role: "MEMBER" });
      expect(res.status, describeResponse(res)).toBe(201);
    }
    const refused = `${unique("p10")}@gmail.com`;
    const res = await as(me.token).post(path, { email: refused, role: "MEMBER" });
    expect(res.status, describeResponse(res)).toBe(429);
    expect(res.headers.get("Retry-After")).toBeTruthy();
    expect(await withDb((db) => db.select().from(invitations).where(eq(invitations.email, refused)))).toEqual(
      [],
    );

    const acme = await signedTenant();
    for (let i = 0; i < 11; i++) {
      const ok = await as(acme.adminToken).post(`/api/workspaces/${acme.workspace.id}/members`, {
        email: `${unique(`c${i}`)}@gmail.com`,
        role: "MEMBER",
      });
      expect(ok.status, describeResponse(ok)).toBe(201);
    }
  });
});
