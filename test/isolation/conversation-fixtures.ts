/**
 * Fixtures of the conversation, message, share-link and file routes for the generated suites: one SHARED
 * conversation owned by the tenant's MEMBER (so its ADMIN can read it back), with a two-message branch, a live
 * share link and a READY attachment (row + R2 object).
 */
import { env } from "cloudflare:test";
import { hashToken, randomToken } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import { files, messageFiles, shareLinks } from "../../src/db/schema";
import { attachmentKey } from "../../src/modules/files/files.service";
import { insertConversation, insertMessage, insertPersona } from "../conversations/support";
import { withDb } from "../helpers/db";
import type { FixtureTenant } from "./fixtures";

type ConversationFixture = { conversationId: string; userMessageId: string; replyId: string };

const PNG = Uint8Array.from(
  atob("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="),
  (c) => c.charCodeAt(0),
);

const conversations = new WeakMap<FixtureTenant, Promise<ConversationFixture>>();

/** The tenant's SHARED conversation (created once per tenant). */
function conversationFixture(t: FixtureTenant): Promise<ConversationFixture> {
  let value = conversations.get(t);
  if (!value) {
    value = (async () => {
      const persona = await insertPersona({ workspaceId: t.workspace.id });
      const conversationId = await insertConversation(
        { workspace: t.workspace, personaId: persona.id },
        t.member,
        {
          visibility: "SHARED",
          title: "Isolation fixture",
        },
      );
      const userMessageId = await insertMessage(t.workspace.id, conversationId, {
        parent: null,
        author: t.member,
      });
      const replyId = await insertMessage(t.workspace.id, conversationId, {
        parent: userMessageId,
        role: "ASSISTANT",
      });
      return { conversationId, userMessageId, replyId };
    })();
    conversations.set(t, value);
  }
  return value;
}

export const conversationOf = async (t: FixtureTenant) => (await conversationFixture(t)).conversationId;

/** The MEMBER's USER message (editable, reactable). */
export const messageOf = async (t: FixtureTenant) => (await conversationFixture(t)).userMessageId;

/** A live share link of the conversation. */
export const shareLinkOf = (t: FixtureTenant) =>
  t.once("shareLink", async () => {
    const { conversationId, replyId } = await conversationFixture(t);
    const id = newId();
    await withDb(async (db) =>
      db.insert(shareLinks).values({
        id,
        workspaceId: t.workspace.id,
        conversationId,
        leafMessageId: replyId,
        tokenHash: await hashToken(randomToken()),
        createdBy: t.member.id,
        expiresAt: new Date(Date.now() + 7 * 86_400_000),
      }),
    );
    return id;
  });

/** A READY attachment of the user message, with its object in R2. */
export const readyFileOf = (t: FixtureTenant) =>
  t.once("readyFile", async () => {
    const { conversationId, userMessageId } = await conversationFixture(t);
    const id = newId();
    const key = attachmentKey(t.workspace.id, conversationId, id);
    await env.FILES.put(key, PNG, { httpMetadata: { contentType: "image/png" } });
    await withDb(async (db) => {
      await db.insert(files).values({
        id,
        workspaceId: t.workspace.id,
        conversationId,
        uploaderId: t.member.id,
        r2Key: key,
        filename: "fixture.png",
        contentType: "image/png",
        sizeBytes: PNG.byteLength,
        status: "READY",
        uploadedAt: new Date(),
      });
      await db
        .insert(messageFiles)
        .values({ messageId: userMessageId, fileId: id, workspaceId: t.workspace.id });
    });
    return id;
  });
