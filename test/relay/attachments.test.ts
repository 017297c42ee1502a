import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { files, messageFiles, messages } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import { chat, chatFootprint, createPersonaRow, scriptWebhook, webhookRequests } from "../personas/support";

const PDF = new TextEncoder().encode("%PDF-1.7\n% attachment\n");

async function setup() {
  const tenant = await createTenant();
  const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
  const { accessToken: token } = await signIn(tenant.member);
  const first = await chat(token, persona.id, { message: "Let me send you a file" });
  expect(first.status, describeResponse(first)).toBe(200);
  return { tenant, persona, token, conversationId: first.body.conversationId as string };
}

async function insertFile(
  tenant: Awaited<ReturnType<typeof createTenant>>,
  conversationId: string,
  status: "PENDING" | "READY",
) {
  const id = newId();
  const r2Key = `attachments/${tenant.workspace.id}/${conversationId}/${id}`;
  if (status === "READY")
    await env.FILES.put(r2Key, PDF, { httpMetadata: { contentType: "application/pdf" } });
  await withDb((db) =>
    db.insert(files).values({
      id,
      workspaceId: tenant.workspace.id,
      conversationId,
      uploaderId: tenant.member.id,
      r2Key,
      filename: "brief.pdf",
      contentType: "application/pdf",
      sizeBytes: PDF.byteLength,
      status,
      ...(status === "READY" ? { uploadedAt: new Date() } : {}),
    }),
  );
  return id;
}

describe("POST /api/personas/{id}/chat with fileIds", () => {
  it("links READY files to the message and sends the webhook signed 10-minute download URLs that work", async () => {
    const { tenant, persona, token, conversationId } = await setup();
    const fileId = await insertFile(tenant, conversationId, "READY");
    const res = await chat(token, persona.id, { message: "Here it is", conversationId, fileIds: [fileId] });
    expect(res.status, describeResponse(res)).toBe(200);

    const linked = await withDb((db) =>
      db.select().from(messageFiles).where(eq(messageFiles.messageId, res.body.userMessage.id)),
    );
    expect(linked.map((l) => l.fileId)).toEqual([fileId]);
    const sent = (await webhookRequests(persona.path)).at(-1)?.json as {
      attachments: Array<Record<string, string>>;
    };
    expect(sent.attachments).toEqual([
      {
        fileId,
        filename: "brief.pdf",
        contentType: "application/pdf",
        url: expect.stringContaining(`/api/files/${fileId}?`),
      },
    ]);
    const url = new URL(sent.attachments[0]?.url as string);
    const exp = Number(url.searchParams.get("exp"));
    expect(exp * 1000 - Date.now()).toBeLessThanOrEqual(10 * 60_000 + 1000);
    // The webhook needs no bearer: the signature is the authorisation.
    const download = await SELF.fetch(url.toString());
    expect(download.status).toBe(200);
    expect(new Uint8Array(await download.arrayBuffer())).toEqual(PDF);
  });

  it("refuses PENDING files, other conversations' files and a new conversation with 409 FILE_NOT_READY, storing nothing", async () => {
    const { tenant, persona, token, conversationId } = await setup();
    const pending = await insertFile(tenant, conversationId, "PENDING");
    const other = await chat(token, persona.id, { message: "Another conversation" });
    const elsewhere = await insertFile(tenant, other.body.conversationId, "READY");
    const before = await chatFootprint(persona.id);
    for (const body of [
      { message: "pending", conversationId, fileIds: [pending] },
      { message: "elsewhere", conversationId, fileIds: [elsewhere] },
      { message: "unknown", conversationId, fileIds: [newId()] },
      { message: "new conversation", fileIds: [elsewhere] },
    ]) {
      const res = await chat(token, persona.id, body);
      expect(res.status, describeResponse(res)).toBe(409);
      expect(res.body.code).toBe("FILE_NOT_READY");
    }
    expect(await chatFootprint(persona.id)).toEqual(before);
    const rows = await withDb((db) => db.select().from(messages).where(eq(messages.content, "pending")));
    expect(rows).toEqual([]);
  });

  it("sends the same files again, with fresh URLs, when a failed message is retried", async () => {
    const { tenant, persona, token, conversationId } = await setup();
    const fileId = await insertFile(tenant, conversationId, "READY");
    await scriptWebhook(persona.path, [{ kind: "status", status: 400 }]);
    const failed = await chat(token, persona.id, {
      message: "With a file",
      conversationId,
      fileIds: [fileId],
    });
    expect(failed.status, describeResponse(failed)).toBe(502);
    await scriptWebhook(persona.path, [{ kind: "echo" }]);
    const retried = await api("POST", `/api/messages/${failed.body.userMessageId}/retry`, { token });
    expect(retried.status, describeResponse(retried)).toBe(200);
    const sent = (await webhookRequests(persona.path)).at(-1)?.json as {
      attachments: Array<{ fileId: string }>;
    };
    expect(sent.attachments.map((a) => a.fileId)).toEqual([fileId]);
  });
});
