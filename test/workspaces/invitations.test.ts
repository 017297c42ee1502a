import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashToken } from "../../src/core/crypto";
import {
  auditEvents,
  conversations,
  files,
  invitations,
  messageFiles,
  messages,
  personaFavourites,
  personas,
  reactions,
  sessions,
  shareLinks,
  users,
} from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { eventually } from "../helpers/eventually";
import { createUser, DEFAULT_PASSWORD, unique } from "../helpers/factories";
import { tokenFromMail, waitForMails } from "../helpers/mail";
import { api, describeResponse, randomIp } from "../helpers/request";
import {
  as,
  auditOf,
  expectSameNotFound,
  insertChat,
  insertInvitation,
  invitationRow,
  personalUser,
  randomUuid,
  signedTenant,
  userRow,
  workspaceRow,
} from "./support";

const invitePath = (workspaceId: string) => `/api/workspaces/${workspaceId}/members`;
const invitationsPath = (workspaceId: string) => `/api/workspaces/${workspaceId}/invitations`;
const ACCEPT = "/api/auth/accept-invitation";

/** A registration without a live invitation is stored beside its response: wait for its row. */
const userByEmailEventually = (email: string) =>
  eventually(() => withDb(async (db) => (await db.select().from(users).where(eq(users.email, email)))[0]));

const register = (body: Record<string, unknown>) =>
  api("POST", "/api/auth/register", { body, headers: { "CF-Connecting-IP": randomIp() } });
const login = (email: string, password = DEFAULT_PASSWORD) =>
  api("POST", "/api/auth/login", { body: { email, password }, headers: { "CF-Connecting-IP": randomIp() } });

/** Invites through the API and returns the token of the mail that arrived. */
async function inviteAndReadMail(
  token: string,
  workspaceId: string,
  email: string,
  role = "MEMBER",
  mailNo = 1,
) {
  const res = await as(token).post(invitePath(workspaceId), { email, role });
  expect(res.status, describeResponse(res)).toBe(201);
  const mails = await waitForMails(email, mailNo);
  const mail = mails[mailNo - 1];
  if (!mail) throw new Error("no invitation mail");
  return { res, mail, token: tokenFromMail(mail, "/accept-invite") };
}

describe("POST /api/workspaces/{id}/members", () => {
  it("invites a new address end to end: mail with the link, registration with the token, active at once", async () => {
    const tenant = await signedTenant();
    const email = `${unique("new")}@${unique("elsewhere")}.test`;
    const { res, mail, token } = await inviteAndReadMail(
      tenant.adminToken,
      tenant.workspace.id,
      email,
      "ADMIN",
    );
    expect(res.body).toMatchObject({ email, role: "ADMIN", invitedBy: tenant.admin.id });
    expect(Object.keys(res.body).sort()).toEqual([
      "createdAt",
      "email",
      "expiresAt",
      "id",
      "invitedBy",
      "role",
    ]);
    expect(res.text).not.toContain(token);
    expect(Math.abs(Date.parse(res.body.expiresAt) - (Date.now() + 7 * 86_400_000))).toBeLessThan(60_000);
    expect(mail.subject).toContain("Alice Admin");
    expect(mail.subject).toContain("Test Corp");

    // Only the hash is stored.
    const row = await invitationRow(res.body.id);
    expect(row?.tokenHash).toBe(await hashToken(token));
    const [invited] = await auditOf(tenant.workspace.id, "MEMBER_INVITED");
    expect(invited).toMatchObject({
      actorUserId: tenant.admin.id,
      targetId: res.body.id,
      data: { via: "inviteWorkspaceMember", email, role: "ADMIN", replaced: false },
    });
    expect(JSON.stringify(invited?.data)).not.toContain(token);

    const registered = await register({
      email,
      password: DEFAULT_PASSWORD,
      name: "Grace",
      inviteToken: token,
    });
    expect(registered.status, describeResponse(registered)).toBe(202);
    const signedIn = await login(email);
    expect(signedIn.status, describeResponse(signedIn)).toBe(200);
    expect(signedIn.body.user).toMatchObject({
      status: "ACTIVE",
      role: "ADMIN",
      workspaceId: tenant.workspace.id,
    });
    expect((await invitationRow(res.body.id))?.acceptedAt).not.toBeNull();
    const list = await as(tenant.adminToken).get(invitationsPath(tenant.workspace.id));
    expect(list.body.items).toEqual([]);
  });

  it("answers 201 with the same shape for an address with an account in another workspace (no oracle)", async () => {
    const [tenant, other] = await Promise.all([signedTenant(), signedTenant()]);
    const unknown = `${unique("nobody")}@${unique("d")}.test`;
    const known = await as(tenant.adminToken).post(invitePath(tenant.workspace.id), {
      email: other.member.email,
      role: "MEMBER",
    });
    const fresh = await as(tenant.adminToken).post(invitePath(tenant.workspace.id), {
      email: unknown,
      role: "MEMBER",
    });
    expect(known.status, describeResponse(known)).toBe(201);
    expect(fresh.status, describeResponse(fresh)).toBe(201);
    expect(Object.keys(known.body).sort()).toEqual(Object.keys(fresh.body).sort());
    await waitForMails(other.member.email);
    await waitForMails(unknown);
  });

  it("answers 409 ALREADY_MEMBER only for an address of this workspace, active or deactivated", async () => {
    const tenant = await signedTenant({ extra: [{ status: "DEACTIVATED" }] });
    for (const user of [tenant.member, tenant.admin, tenant.users[2]]) {
      const res = await as(tenant.adminToken).post(invitePath(tenant.workspace.id), {
        email: user?.email.toUpperCase(),
        role: "MEMBER",
      });
      expect(res.status, describeResponse(res)).toBe(409);
      expect(res.body.code).toBe("ALREADY_MEMBER");
    }
    expect(await auditOf(tenant.workspace.id, "MEMBER_INVITED")).toEqual([]);
  });

  it("replaces an open invitation when the address is invited again: new link and expiry, old link dead", async () => {
    const tenant = await signedTenant();
    const email = `${unique("twice")}@${unique("d")}.test`;
    const first = await inviteAndReadMail(tenant.adminToken, tenant.workspace.id, email, "MEMBER", 1);
    await withDb((db) =>
      db
        .update(invitations)
        .set({ expiresAt: new Date(Date.now() + 3_600_000) })
        .where(eq(invitations.id, first.res.body.id)),
    );
    const second = await inviteAndReadMail(tenant.adminToken, tenant.workspace.id, email, "ADMIN", 2);
    expect(second.token).not.toBe(first.token);
    expect(second.res.body.id).toBe(first.res.body.id);
    expect(second.res.body.role).toBe("ADMIN");
    expect(Date.parse(second.res.body.expiresAt)).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    const open = await as(tenant.adminToken).get(invitationsPath(tenant.workspace.id));
    expect(open.body.items).toHaveLength(1);
    const events = await auditOf(tenant.workspace.id, "MEMBER_INVITED");
    expect(events.map((e) => e.data.replaced)).toEqual([false, true]);

    // The first link proves nothing any more: that registration waits for email verification.
    await register({ email, password: DEFAULT_PASSWORD, inviteToken: first.token });
    const user = await userByEmailEventually(email);
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null });
    await register({ email, password: DEFAULT_PASSWORD, inviteToken: second.token });
    expect(await userRow(user?.id as string)).toMatchObject({
      status: "ACTIVE",
      role: "ADMIN",
      workspaceId: tenant.workspace.id,
    });
  });

  it("refuses mass assignment, bad roles and bad addresses with 400 and invites nobody", async () => {
    const tenant = await signedTenant();
    for (const body of [
      { email: "a@b.test" },
      { email: "a@b.test", role: "OWNER" },
      { email: "not-an-email", role: "MEMBER" },
      { email: "a@b.test", role: "MEMBER", workspaceId: randomUuid() },
      { email: "a@b.test", role: "MEMBER", expiresAt: "2099-01-01T00:00:00Z" },
      { email: "a@b.test", role: "MEMBER", token: "chosen-token-chosen-token" },
    ]) {
      const res = await as(tenant.adminToken).post(invitePath(tenant.workspace.id), body);
      expect(res.status, `${JSON.stringify(body)} → ${describeResponse(res)}`).toBe(400);
    }
    const rows = await withDb((db) =>
      db.select().from(invitations).where(eq(invitations.workspaceId, tenant.workspace.id)),
    );
    expect(rows).toEqual([]);
  });

  it("answers 403 to a member, 401 without a token and 404 for another workspace, inviting nobody", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const body = { email: `${unique("x")}@${unique("d")}.test`, role: "ADMIN" };
    const forbidden = await as(a.memberToken).post(invitePath(a.workspace.id), body);
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    expect((await as(undefined).post(invitePath(a.workspace.id), body)).status).toBe(401);
    await expectSameNotFound(await as(b.adminToken).post(invitePath(a.workspace.id), body), () =>
      as(b.adminToken).post(invitePath(randomUuid()), body),
    );
    const rows = await withDb((db) => db.select().from(invitations).where(eq(invitations.email, body.email)));
    expect(rows).toEqual([]);
  });
});

describe("GET /api/workspaces/{id}/invitations", () => {
  it("lists open invitations newest first, without tokens, leaving out expired, revoked and accepted ones", async () => {
    const tenant = await signedTenant();
    const open1 = await insertInvitation(tenant, `${unique("o1")}@d.test`);
    const open2 = await insertInvitation(tenant, `${unique("o2")}@d.test`, { role: "ADMIN" });
    await insertInvitation(tenant, `${unique("old")}@d.test`, { expiresAt: new Date(Date.now() - 1000) });
    const revoked = await insertInvitation(tenant, `${unique("rev")}@d.test`);
    const accepted = await insertInvitation(tenant, `${unique("acc")}@d.test`);
    await withDb(async (db) => {
      await db
        .update(invitations)
        .set({ revokedAt: new Date() })
        .where(eq(invitations.id, revoked.invitation.id));
      await db
        .update(invitations)
        .set({ acceptedAt: new Date() })
        .where(eq(invitations.id, accepted.invitation.id));
    });
    const res = await as(tenant.adminToken).get(invitationsPath(tenant.workspace.id));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.items.map((i: { id: string }) => i.id)).toEqual([
      open2.invitation.id,
      open1.invitation.id,
    ]);
    expect(res.body.items[0]).toMatchObject({ email: open2.invitation.email, role: "ADMIN" });
    expect(res.text).not.toContain("tokenHash");
    expect(res.text).not.toContain(open1.invitation.tokenHash);
  });

  it("answers 403 to a member and 404 for another workspace", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    await insertInvitation(a, `${unique("secret")}@d.test`);
    expect((await as(a.memberToken).get(invitationsPath(a.workspace.id))).status).toBe(403);
    await expectSameNotFound(await as(b.adminToken).get(invitationsPath(a.workspace.id)), () =>
      as(b.adminToken).get(invitationsPath(randomUuid())),
    );
  });
});

describe("DELETE /api/workspaces/{id}/invitations/{invitationId}", () => {
  it("revokes an open invitation: its link stops working, INVITATION_REVOKED is recorded", async () => {
    const tenant = await signedTenant();
    const email = `${unique("revoked")}@${unique("d")}.test`;
    const { invitation, token } = await insertInvitation(tenant, email);
    const res = await as(tenant.adminToken).delete(
      `${invitationsPath(tenant.workspace.id)}/${invitation.id}`,
    );
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await invitationRow(invitation.id))?.revokedAt).not.toBeNull();
    const [event] = await auditOf(tenant.workspace.id, "INVITATION_REVOKED");
    expect(event).toMatchObject({
      actorUserId: tenant.admin.id,
      targetId: invitation.id,
      data: { via: "revokeWorkspaceInvitation", email, role: "MEMBER" },
    });

    await register({ email, password: DEFAULT_PASSWORD, inviteToken: token });
    const user = await userByEmailEventually(email);
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null });

    const again = await as(tenant.adminToken).delete(
      `${invitationsPath(tenant.workspace.id)}/${invitation.id}`,
    );
    expect(again.status, describeResponse(again)).toBe(404);
  });

  it("answers 404 for another workspace's invitation, which stays open, and 403 to a member", async () => {
    const [a, b] = await Promise.all([signedTenant(), signedTenant()]);
    const { invitation } = await insertInvitation(a, `${unique("keep")}@d.test`);
    const forbidden = await as(a.memberToken).delete(`${invitationsPath(a.workspace.id)}/${invitation.id}`);
    expect(forbidden.status, describeResponse(forbidden)).toBe(403);
    const client = as(b.adminToken);
    await expectSameNotFound(await client.delete(`${invitationsPath(b.workspace.id)}/${invitation.id}`), () =>
      client.delete(`${invitationsPath(b.workspace.id)}/${randomUuid()}`),
    );
    await expectSameNotFound(await client.delete(`${invitationsPath(a.workspace.id)}/${invitation.id}`), () =>
      client.delete(`${invitationsPath(b.workspace.id)}/not-a-uuid`),
    );
    expect(await invitationRow(invitation.id)).toMatchObject({ revokedAt: null, acceptedAt: null });
    const list = await as(a.adminToken).get(invitationsPath(a.workspace.id));
    expect(list.body.items.map((i: { id: string }) => i.id)).toEqual([invitation.id]);
  });
});

describe("POST /api/auth/accept-invitation", () => {
  it("moves the sole user of a personal workspace into the inviting one (through the mailed link), with all they own", async () => {
    const tenant = await signedTenant();
    const { workspace: personal, user } = await personalUser({ email: `${unique("solo")}@gmail.com` });
    const chat = await insertChat(personal.id, user.id, 2);
    const attachmentKey = `attachments/${personal.id}/${chat.conversationId}/${randomUuid()}`;
    const avatarKey = `avatars/${personal.id}/${user.id}/${randomUuid()}`;
    await env.FILES.put(attachmentKey, "file");
    await env.FILES.put(avatarKey, "image");
    const { fileId, linkId } = await withDb(async (db) => {
      await db.update(users).set({ avatarKey }).where(eq(users.id, user.id));
      await db
        .update(conversations)
        .set({ visibility: "SHARED" })
        .where(eq(conversations.id, chat.conversationId));
      const [first] = await db
        .select()
        .from(messages)
        .where(eq(messages.conversationId, chat.conversationId));
      const [file] = await db
        .insert(files)
        .values({
          workspaceId: personal.id,
          conversationId: chat.conversationId,
          uploaderId: user.id,
          r2Key: attachmentKey,
          filename: "notes.txt",
          contentType: "text/plain",
          sizeBytes: 4,
          status: "READY",
          uploadedAt: new Date(),
        })
        .returning();
      await db.insert(messageFiles).values({
        workspaceId: personal.id,
        messageId: first?.id as string,
        fileId: file?.id as string,
      });
      await db.insert(reactions).values({
        workspaceId: personal.id,
        messageId: first?.id as string,
        userId: user.id,
        type: "LIKE",
      });
      const [link] = await db
        .insert(shareLinks)
        .values({
          workspaceId: personal.id,
          conversationId: chat.conversationId,
          leafMessageId: first?.id as string,
          tokenHash: `link-${unique()}`,
          createdBy: user.id,
          expiresAt: new Date(Date.now() + 86_400_000),
        })
        .returning();
      return { fileId: file?.id as string, linkId: link?.id as string };
    });
    const session = await signIn(user);
    const { res: invited, token } = await inviteAndReadMail(
      tenant.adminToken,
      tenant.workspace.id,
      user.email,
      "MEMBER",
    );

    const res = await as(session.accessToken).post(ACCEPT, { token });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.user).toMatchObject({ id: user.id, role: "MEMBER", workspaceId: tenant.workspace.id });
    expect(res.body.workspace).toMatchObject({ id: tenant.workspace.id, name: "Test Corp" });
    expect(res.body.tokenType).toBe("Bearer");

    expect(await userRow(user.id)).toMatchObject({ workspaceId: tenant.workspace.id, role: "MEMBER" });
    // The session followed the user (ON UPDATE CASCADE); the new access token works, the old one names
    // the old workspace and does not.
    const [moved] = await withDb((db) =>
      db.select().from(sessions).where(eq(sessions.id, session.sessionId)),
    );
    expect(moved).toMatchObject({ workspaceId: tenant.workspace.id, revokedAt: null });
    const read = await as(res.body.accessToken).get(`/api/workspaces/${tenant.workspace.id}`);
    expect(read.status, describeResponse(read)).toBe(200);
    expect(read.body.memberCount).toBe(3);
    expect((await as(session.accessToken).get(`/api/workspaces/${personal.id}`)).status).toBe(401);

    // Everything the user owned moved along; the emptied personal workspace is gone.
    expect(await workspaceRow(personal.id)).toBeUndefined();
    const to = tenant.workspace.id;
    await withDb(async (db) => {
      const [conversation] = await db
        .select()
        .from(conversations)
        .where(eq(conversations.id, chat.conversationId));
      // SHARED meant "with nobody else": it must not become "with the whole company".
      expect(conversation).toMatchObject({ workspaceId: to, ownerId: user.id, visibility: "PRIVATE" });
      const moved = await db.select().from(messages).where(eq(messages.conversationId, chat.conversationId));
      expect(moved).toHaveLength(4);
      expect(moved.every((m) => m.workspaceId === to)).toBe(true);
      // Moved, but deactivated: its webhook is the invitee's, never vetted by the company's admins.
      expect(await db.select().from(personas).where(eq(personas.id, chat.personaId))).toEqual([
        expect.objectContaining({ workspaceId: to, isActive: false }),
      ]);
      expect(await db.select().from(personaFavourites).where(eq(personaFavourites.userId, user.id))).toEqual([
        expect.objectContaining({ workspaceId: to, personaId: chat.personaId }),
      ]);
      expect(await db.select().from(files).where(eq(files.id, fileId))).toEqual([
        expect.objectContaining({ workspaceId: to, r2Key: attachmentKey }),
      ]);
      expect(await db.select().from(messageFiles).where(eq(messageFiles.fileId, fileId))).toEqual([
        expect.objectContaining({ workspaceId: to }),
      ]);
      expect(await db.select().from(reactions).where(eq(reactions.userId, user.id))).toEqual([
        expect.objectContaining({ workspaceId: to }),
      ]);
      const [link] = await db.select().from(shareLinks).where(eq(shareLinks.id, linkId));
      expect(link?.workspaceId).toBe(to);
      expect(link?.revokedAt).not.toBeNull();
      expect(await db.select().from(auditEvents).where(eq(auditEvents.workspaceId, personal.id))).toEqual([]);
    });
    // The conversation opens in the new workspace, attachment and all.
    const opened = await as(res.body.accessToken).get(`/api/conversations/${chat.conversationId}`);
    expect(opened.status, describeResponse(opened)).toBe(200);
    expect(JSON.stringify(opened.body)).toContain(fileId);

    // The attachment object stays where its row points; the avatar moved to the new workspace's prefix.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await env.FILES.head(attachmentKey)).not.toBeNull();
    for (let i = 0; i < 50 && (await env.FILES.head(avatarKey)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await env.FILES.head(avatarKey)).toBeNull();
    const newKey = (await userRow(user.id))?.avatarKey ?? "";
    expect(newKey.startsWith(`avatars/${tenant.workspace.id}/${user.id}/`)).toBe(true);
    expect(await (await env.FILES.get(newKey))?.text()).toBe("image");
    expect(res.body.user.avatarUrl).toContain(`/api/users/${user.id}/avatar?`);
    await env.FILES.delete([newKey, attachmentKey]);

    expect((await invitationRow(invited.body.id))?.acceptedAt).not.toBeNull();
    const [event] = await auditOf(tenant.workspace.id, "INVITATION_ACCEPTED");
    expect(event).toMatchObject({
      actorUserId: user.id,
      targetId: invited.body.id,
      data: {
        via: "acceptInvitation",
        role: "MEMBER",
        invitedBy: tenant.admin.id,
        moved: { conversations: 1, privatised: 1, linksRevoked: 1, personas: 1 },
      },
    });

    // Used once: a second attempt is refused.
    const again = await as(res.body.accessToken).post(ACCEPT, { token });
    expect(again.status, describeResponse(again)).toBe(400);
    expect(again.body.code).toBe("INVALID_TOKEN");
  });

  it("moves the invitee's personas deactivated: no member of the company can chat with them", async () => {
    const tenant = await signedTenant();
    const { workspace: personal, user } = await personalUser({ email: `${unique("slug")}@gmail.com` });
    const chat = await insertChat(personal.id, user.id);
    const [mine] = await withDb((db) => db.select().from(personas).where(eq(personas.id, chat.personaId)));
    // The company already uses the slug: the moved persona must not clash with (or block) it.
    await insertChat(tenant.workspace.id, tenant.admin.id).then((theirs) =>
      withDb((db) =>
        db
          .update(personas)
          .set({ slug: mine?.slug as string })
          .where(eq(personas.id, theirs.personaId)),
      ),
    );
    const { token } = await insertInvitation(tenant, user.email);
    const res = await as((await signIn(user)).accessToken).post(ACCEPT, { token });
    expect(res.status, describeResponse(res)).toBe(200);
    const [after] = await withDb((db) => db.select().from(personas).where(eq(personas.id, chat.personaId)));
    expect(after).toMatchObject({ workspaceId: tenant.workspace.id, isActive: false });
    expect(after?.slug).toBe(`${mine?.slug.slice(0, 30)}-${chat.personaId.replaceAll("-", "")}`);
    const list = await as(tenant.memberToken).get("/api/personas?limit=100");
    expect(list.body.items.map((p: { id: string }) => p.id)).not.toContain(chat.personaId);
    const chatted = await as(tenant.memberToken).post(`/api/personas/${chat.personaId}/chat`, {
      message: "hi",
    });
    expect(chatted.status, describeResponse(chatted)).toBe(404);
    // The invitee's own conversation with it stays readable.
    const opened = await as(res.body.accessToken).get(`/api/conversations/${chat.conversationId}`);
    expect(opened.status, describeResponse(opened)).toBe(200);
  });

  it("answers 409 ALREADY_IN_WORKSPACE to a member of another corporate workspace, changing nothing", async () => {
    const [inviting, home] = await Promise.all([signedTenant(), signedTenant()]);
    const { invitation, token } = await insertInvitation(inviting, home.member.email);
    const res = await as(home.memberToken).post(ACCEPT, { token });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("ALREADY_IN_WORKSPACE");
    expect(await userRow(home.member.id)).toMatchObject({ workspaceId: home.workspace.id, role: "MEMBER" });
    expect(await invitationRow(invitation.id)).toMatchObject({ acceptedAt: null, revokedAt: null });
    expect(await auditOf(inviting.workspace.id, "INVITATION_ACCEPTED")).toEqual([]);
  });

  it("answers 409 ALREADY_IN_WORKSPACE when the personal workspace has another account in it", async () => {
    const inviting = await signedTenant();
    const { workspace: personal, user } = await personalUser();
    await createUser(personal, { status: "DEACTIVATED" });
    const { token } = await insertInvitation(inviting, user.email);
    const res = await as((await signIn(user)).accessToken).post(ACCEPT, { token });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("ALREADY_IN_WORKSPACE");
    expect((await workspaceRow(personal.id))?.id).toBe(personal.id);
  });

  it("refuses expired, revoked, unknown and other addresses' invitations with 400 INVALID_TOKEN", async () => {
    const inviting = await signedTenant();
    const { workspace: personal, user } = await personalUser();
    const { accessToken } = await signIn(user);
    const expired = await insertInvitation(inviting, user.email, { expiresAt: new Date(Date.now() - 1000) });
    const forSomeoneElse = await insertInvitation(inviting, `${unique("other")}@d.test`);
    for (const token of [
      expired.token,
      forSomeoneElse.token,
      "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw",
    ]) {
      const res = await as(accessToken).post(ACCEPT, { token });
      expect(res.status, describeResponse(res)).toBe(400);
      expect(res.body.code).toBe("INVALID_TOKEN");
    }
    // Revoking the expired one frees the address for a fresh invitation, which is then revoked too.
    await withDb((db) =>
      db.update(invitations).set({ revokedAt: new Date() }).where(eq(invitations.id, expired.invitation.id)),
    );
    const revoked = await insertInvitation(inviting, user.email);
    const revoke = await as(inviting.adminToken).delete(
      `${invitationsPath(inviting.workspace.id)}/${revoked.invitation.id}`,
    );
    expect(revoke.status, describeResponse(revoke)).toBe(204);
    const res = await as(accessToken).post(ACCEPT, { token: revoked.token });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(await userRow(user.id)).toMatchObject({ workspaceId: personal.id });
  });

  it("refuses an expired invitation at registration too (the account waits for verification)", async () => {
    const inviting = await signedTenant();
    const email = `${unique("late")}@${unique("d")}.test`;
    const { token } = await insertInvitation(inviting, email, { expiresAt: new Date(Date.now() - 1000) });
    await register({ email, password: DEFAULT_PASSWORD, inviteToken: token });
    const user = await userByEmailEventually(email);
    expect(user).toMatchObject({ status: "PENDING_VERIFY", workspaceId: null });
  });

  it("answers 401 without a token and 400 for unknown fields", async () => {
    const { user } = await personalUser();
    expect(
      (await as(undefined).post(ACCEPT, { token: "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw" })).status,
    ).toBe(401);
    const res = await as((await signIn(user)).accessToken).post(ACCEPT, {
      token: "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw",
      role: "ADMIN",
    });
    expect(res.status, describeResponse(res)).toBe(400);
  });
});
