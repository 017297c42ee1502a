/**
 * Fixtures of the conversation, message and share-link routes for the generated suites: one SHARED
 * conversation owned by the tenant's MEMBER (so its ADMIN can read it back), with a two-message branch.
 */
import { hashToken, randomToken } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import { shareLinks } from "../../src/db/schema";
import { insertConversation, insertMessage, insertPersona } from "../conversations/support";
import { withDb } from "../helpers/db";
import type { FixtureTenant } from "./fixtures";

type ConversationFixture = { conversationId: string; userMessageId: string; replyId: string };

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
