/**
 * Shared by the conversation, message, file and sharing tests: personas inserted directly (stored exactly as
 * the API stores them), conversations and message trees inserted directly, tenants with signed-in users.
 */
import { env } from "cloudflare:test";
import { and, eq, sql } from "drizzle-orm";
import { bytesToBase64, encrypt } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import { auditEvents, conversations, type Message, messages, personas } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, createUser, type Tenant, type TestUser, unique } from "../helpers/factories";

export type Actor = { user: TestUser; token: string };
export type ConversationTenant = Tenant & {
  owner: Actor;
  /** Another MEMBER of the same workspace. */
  other: Actor;
  /** The workspace's ADMIN. */
  adminActor: Actor;
  personaId: string;
};

/** A fresh webhook path on the loopback fake. */
export const webhookPath = (label = "conv") => `/t/${label}-${crypto.randomUUID()}`;

/**
 * Inserts an active persona (global unless `workspaceId`) whose webhook is `path` on the fake; the URL and
 * secret are encrypted like the API does (AES-GCM, persona id as context).
 */
export async function insertPersona(
  options: { workspaceId?: string | null; path?: string; isActive?: boolean } = {},
): Promise<{ id: string; path: string; secret: string }> {
  const id = newId();
  const path = options.path ?? webhookPath();
  const secret = `whsec_${bytesToBase64(crypto.getRandomValues(new Uint8Array(32)))}`;
  const key = env.ENCRYPTION_KEY as string;
  await withDb(async (db) =>
    db.insert(personas).values({
      id,
      workspaceId: options.workspaceId ?? null,
      slug: unique("persona"),
      name: `Persona ${unique("n")}`,
      roleTitle: "Coach",
      traits: ["curious"],
      webhookUrlEncrypted: await encrypt(key, "webhook-url", `${env.WEBHOOK_FAKE_URL}${path}`, id),
      webhookSecretEncrypted: await encrypt(key, "webhook-secret", secret, id),
      isActive: options.isActive ?? true,
    }),
  );
  return { id, path, secret };
}

/** A tenant whose MEMBER is the conversation owner, plus another member, the admin and a workspace persona. */
export async function conversationTenant(): Promise<ConversationTenant> {
  const tenant = await createTenant();
  const otherUser = await createUser(tenant.workspace, { name: "Carol Other" });
  const [owner, other, admin] = await Promise.all([
    signIn(tenant.member),
    signIn(otherUser),
    signIn(tenant.admin),
  ]);
  const persona = await insertPersona({ workspaceId: tenant.workspace.id });
  return {
    ...tenant,
    owner: { user: tenant.member, token: owner.accessToken },
    other: { user: otherUser, token: other.accessToken },
    adminActor: { user: tenant.admin, token: admin.accessToken },
    personaId: persona.id,
  };
}

/** Inserts a conversation directly. */
export async function insertConversation(
  t: Pick<ConversationTenant, "workspace" | "personaId">,
  owner: TestUser,
  values: Partial<typeof conversations.$inferInsert> = {},
): Promise<string> {
  const id = newId();
  await withDb((db) =>
    db.insert(conversations).values({
      id,
      workspaceId: t.workspace.id,
      ownerId: owner.id,
      personaId: t.personaId,
      ...values,
    }),
  );
  return id;
}

export type TreeSpec = {
  parent: string | null;
  role?: "USER" | "ASSISTANT";
  content?: string;
  author?: TestUser;
  status?: Message["status"];
  createdAt?: Date;
};

/**
 * Inserts a message under `parent` (null: a root) and, unless `moveLeaf: false`, points the conversation's
 * leaf at it and counts it. Messages get increasing created_at so sibling order is deterministic.
 */
export async function insertMessage(
  workspaceId: string,
  conversationId: string,
  spec: TreeSpec,
  moveLeaf = true,
): Promise<string> {
  const id = newId();
  const role = spec.role ?? "USER";
  await withDb(async (db) => {
    await db.insert(messages).values({
      id,
      workspaceId,
      conversationId,
      parentId: spec.parent,
      role,
      authorId: role === "USER" ? (spec.author?.id ?? null) : null,
      content: spec.content ?? `${role.toLowerCase()} ${unique("m")}`,
      status: spec.status ?? "COMPLETE",
      ...(spec.createdAt ? { createdAt: spec.createdAt } : {}),
    });
    await db
      .update(conversations)
      .set({
        messageCount: sql`${conversations.messageCount} + 1`,
        lastMessageAt: sql`now()`,
        ...(moveLeaf ? { currentLeafId: id } : {}),
      })
      .where(eq(conversations.id, conversationId));
  });
  return id;
}

export async function auditsOf(workspaceId: string, type: string) {
  return withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.workspaceId, workspaceId), eq(auditEvents.eventType, type))),
  );
}
