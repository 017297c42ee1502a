/**
 * Shared pieces of the workspace and admin tests: signed-in tenants, audit look-ups, row reads, and chat
 * content inserted directly (the chat modules are not needed to count or clear it).
 */
import { and, eq } from "drizzle-orm";
import { expect } from "vitest";
import { hashToken, randomToken } from "../../src/core/crypto";
import {
  auditEvents,
  conversations,
  invitations,
  messages,
  personaFavourites,
  personas,
  sessions,
  users,
  workspaces,
} from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, createUser, type Tenant, type UserSpec, unique } from "../helpers/factories";
import { type ApiResponse, api, describeResponse } from "../helpers/request";

export type SignedTenant = Tenant & { adminToken: string; memberToken: string };

/** A fresh CORPORATE tenant with its ADMIN and MEMBER signed in. */
export async function signedTenant(options: { extra?: UserSpec[] } = {}): Promise<SignedTenant> {
  const tenant = await createTenant(options);
  const [admin, member] = await Promise.all([signIn(tenant.admin), signIn(tenant.member)]);
  return { ...tenant, adminToken: admin.accessToken, memberToken: member.accessToken };
}

/** A PERSONAL workspace whose sole user is an ACTIVE ADMIN (what a gmail sign-up gets). */
export async function personalUser(spec: UserSpec = {}) {
  const [workspace] = await withDb((db) =>
    db
      .insert(workspaces)
      .values({ name: `${unique("p")}'s workspace`, kind: "PERSONAL" })
      .returning(),
  );
  if (!workspace) throw new Error("workspace insert returned nothing");
  const user = await createUser(workspace, { role: "ADMIN", ...spec });
  return { workspace, user };
}

export const userRow = (id: string) =>
  withDb(async (db) => (await db.select().from(users).where(eq(users.id, id)))[0]);

export const workspaceRow = (id: string) =>
  withDb(async (db) => (await db.select().from(workspaces).where(eq(workspaces.id, id)))[0]);

export const invitationRow = (id: string) =>
  withDb(async (db) => (await db.select().from(invitations).where(eq(invitations.id, id)))[0]);

export const liveSessionCount = (userId: string) =>
  withDb(
    async (db) =>
      (await db.select().from(sessions).where(eq(sessions.userId, userId))).filter((s) => !s.revokedAt)
        .length,
  );

/** Audit events of a workspace, optionally of one type, oldest first. */
export async function auditOf(workspaceId: string, type?: string) {
  const rows = await withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(
        and(eq(auditEvents.workspaceId, workspaceId), type ? eq(auditEvents.eventType, type) : undefined),
      ),
  );
  return rows.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
}

/** An open invitation inserted directly, with its raw token. */
export async function insertInvitation(
  tenant: Tenant,
  email: string,
  options: { role?: "ADMIN" | "MEMBER"; expiresAt?: Date } = {},
) {
  const token = randomToken();
  const [row] = await withDb(async (db) =>
    db
      .insert(invitations)
      .values({
        workspaceId: tenant.workspace.id,
        email,
        role: options.role ?? "MEMBER",
        tokenHash: await hashToken(token),
        invitedBy: tenant.admin.id,
        expiresAt: options.expiresAt ?? new Date(Date.now() + 7 * 86_400_000),
      })
      .returning(),
  );
  if (!row) throw new Error("invitation insert returned nothing");
  return { invitation: row, token };
}

/**
 * A workspace persona, one conversation owned by `ownerId` with `exchanges` user/assistant pairs, and the
 * owner's favourite of that persona. Returns the ids.
 */
export async function insertChat(workspaceId: string, ownerId: string, exchanges = 1) {
  return withDb(async (db) => {
    const [persona] = await db
      .insert(personas)
      .values({
        workspaceId,
        slug: unique("persona"),
        name: "Test Persona",
        webhookUrlEncrypted: "v1:test",
        webhookSecretEncrypted: "v1:test",
      })
      .returning();
    if (!persona) throw new Error("persona insert returned nothing");
    const [conversation] = await db
      .insert(conversations)
      .values({ workspaceId, ownerId, personaId: persona.id, title: "Test chat" })
      .returning();
    if (!conversation) throw new Error("conversation insert returned nothing");
    let parentId: string | null = null;
    for (let i = 0; i < exchanges; i++) {
      const [question]: { id: string }[] = await db
        .insert(messages)
        .values({
          workspaceId,
          conversationId: conversation.id,
          parentId,
          role: "USER",
          authorId: ownerId,
          content: "Hi",
        })
        .returning();
      const [answer]: { id: string }[] = await db
        .insert(messages)
        .values({
          workspaceId,
          conversationId: conversation.id,
          parentId: question?.id ?? null,
          role: "ASSISTANT",
          content: "Hello",
        })
        .returning();
      parentId = answer?.id ?? null;
    }
    await db
      .update(conversations)
      .set({ currentLeafId: parentId })
      .where(eq(conversations.id, conversation.id));
    await db.insert(personaFavourites).values({ userId: ownerId, personaId: persona.id, workspaceId });
    return { personaId: persona.id, conversationId: conversation.id };
  });
}

/** The problem body without its per-request trace id, to compare two refusals. */
export const problemShape = (res: ApiResponse) => ({ ...res.body, traceId: undefined });

/** Asserts that `res` is the NOT_FOUND problem that a random id also gets. */
export async function expectSameNotFound(res: ApiResponse, random: () => Promise<ApiResponse>) {
  expect(res.status, describeResponse(res)).toBe(404);
  expect(res.body.code).toBe("NOT_FOUND");
  const other = await random();
  expect(other.status, describeResponse(other)).toBe(404);
  expect(problemShape(res)).toEqual(problemShape(other));
}

export const randomUuid = () => crypto.randomUUID();

/** api() with a bearer token. */
export const as = (token: string | undefined) => ({
  get: (path: string, headers?: Record<string, string>) => api("GET", path, { token, headers }),
  put: (path: string, body: unknown) => api("PUT", path, { token, body }),
  post: (path: string, body?: unknown, headers?: Record<string, string>) =>
    api("POST", path, { token, body, headers }),
  patch: (path: string, body: unknown) => api("PATCH", path, { token, body }),
  delete: (path: string) => api("DELETE", path, { token }),
});
