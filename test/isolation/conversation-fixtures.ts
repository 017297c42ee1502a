/**
 * Fixtures of the conversation, message and share-link routes for the generated suites: one SHARED
 * conversation owned by the tenant's MEMBER (so its ADMIN can read it back), with a two-message branch.
 */
import { insertConversation, insertMessage, insertPersona } from "../conversations/support";
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
