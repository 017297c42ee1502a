/** An archived conversation takes no new messages: chat, edit and retry answer 409 CONVERSATION_ARCHIVED. */
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { conversations } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import { chat, chatFootprint, createPersonaRow, scriptWebhook, webhookRequests } from "../personas/support";

describe("turns in an archived conversation", () => {
  it("refuses chat, edit and retry with 409 CONVERSATION_ARCHIVED, storing and relaying nothing", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    await scriptWebhook(persona.path, [{ kind: "status", status: 400 }]);
    const { accessToken: token } = await signIn(tenant.member);
    const failed = await chat(token, persona.id, { message: "first" });
    expect(failed.status, describeResponse(failed)).toBe(502);
    const { conversationId, userMessageId } = failed.body;
    const archived = await api("PATCH", `/api/conversations/${conversationId}/archive`, {
      token,
      body: { archived: true },
    });
    expect(archived.status, describeResponse(archived)).toBe(200);
    const before = await chatFootprint(persona.id);
    const relayed = (await webhookRequests(persona.path)).length;

    const refused = [
      await chat(token, persona.id, { message: "second", conversationId }),
      await api("PATCH", `/api/messages/${userMessageId}`, { token, body: { content: "edited" } }),
      await api("POST", `/api/messages/${userMessageId}/retry`, { token }),
    ];
    for (const res of refused) {
      expect(res.status, describeResponse(res)).toBe(409);
      expect(res.body.code).toBe("CONVERSATION_ARCHIVED");
    }
    expect(await chatFootprint(persona.id)).toEqual(before);
    expect(await webhookRequests(persona.path)).toHaveLength(relayed);

    // Unarchived, it takes messages again.
    await withDb((db) =>
      db.update(conversations).set({ archivedAt: sql`NULL` }).where(eq(conversations.id, conversationId)),
    );
    await scriptWebhook(persona.path, [{ kind: "echo" }]);
    const again = await chat(token, persona.id, { message: "third", conversationId });
    expect(again.status, describeResponse(again)).toBe(200);
  });
});
