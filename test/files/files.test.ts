import { env, SELF } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { files, messageFiles, workspaces } from "../../src/db/schema";
import { signedDownloadUrl, signUploadToken } from "../../src/modules/files/file-urls";
import { assertReadyFiles, relayAttachmentsOf } from "../../src/modules/files/files.service";
import {
  auditsOf,
  type ConversationTenant,
  conversationTenant,
  insertConversation,
  insertMessage,
} from "../conversations/support";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { testDeps } from "../helpers/deps";
import { createTenant } from "../helpers/factories";
import { api, BASE_URL, describeResponse } from "../helpers/request";

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const PNG = fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
);
const PDF = new TextEncoder().encode("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n");

const prefixOf = (t: ConversationTenant, conversationId: string) =>
  `attachments/${t.workspace.id}/${conversationId}/`;
const objectsUnder = async (prefix: string) =>
  (await env.FILES.list({ prefix })).objects.map((o) => `${o.key}:${o.size}`);
const fileRow = async (id: string) =>
  (await withDb((db) => db.select().from(files).where(eq(files.id, id))))[0];

function ticket(token: string, conversationId: string, body: Record<string, unknown>) {
  return api("POST", `/api/conversations/${conversationId}/files`, { token, body });
}

async function put(url: string, body: BodyInit, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(url, { method: "PUT", body, headers });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

async function download(url: string, token?: string) {
  const res = await SELF.fetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

/** A conversation of the owner and a ticket for `bytes` declared as `contentType`. */
async function withTicket(
  bytes: Uint8Array,
  contentType = "image/png",
  visibility: "PRIVATE" | "SHARED" = "PRIVATE",
) {
  const t = await conversationTenant();
  const conversationId = await insertConversation(t, t.owner.user, { visibility });
  const res = await ticket(t.owner.token, conversationId, {
    filename: "picture.png",
    contentType,
    size: bytes.byteLength,
  });
  expect(res.status, describeResponse(res)).toBe(201);
  return { t, conversationId, fileId: res.body.fileId as string, uploadUrl: res.body.uploadUrl as string };
}

describe("POST /api/conversations/{id}/files", () => {
  it("creates a PENDING file and a 15-minute upload URL", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    expect(uploadUrl.startsWith(`${BASE_URL}/api/uploads/`)).toBe(true);
    const row = await fileRow(fileId);
    expect(row).toMatchObject({
      status: "PENDING",
      conversationId,
      uploaderId: t.owner.user.id,
      sizeBytes: PNG.byteLength,
      r2Key: `${prefixOf(t, conversationId)}${fileId}`,
    });
    expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([]);
  });

  it("refuses over 10 MB (413), an unaccepted type (415), non-owners (403 / 404) and stores nothing", async () => {
    const t = await conversationTenant();
    const conversationId = await insertConversation(t, t.owner.user, { visibility: "SHARED" });
    const base = { filename: "a.png", contentType: "image/png", size: 100 };
    const big = await ticket(t.owner.token, conversationId, { ...base, size: 10 * 1024 * 1024 + 1 });
    expect(big.status, describeResponse(big)).toBe(413);
    const html = await ticket(t.owner.token, conversationId, { ...base, contentType: "text/html" });
    expect(html.status, describeResponse(html)).toBe(415);
    const member = await ticket(t.other.token, conversationId, base);
    expect(member.status, describeResponse(member)).toBe(403);
    const foreign = await createTenant();
    const foreignToken = (await signIn(foreign.admin)).accessToken;
    expect((await ticket(foreignToken, conversationId, base)).status).toBe(404);
    const rows = await withDb((db) =>
      db.select().from(files).where(eq(files.conversationId, conversationId)),
    );
    expect(rows).toEqual([]);
  });
});

describe("PUT /api/uploads/{token}", () => {
  it("stores the bytes, flips the file to READY once and audits FILE_UPLOADED", async () => {
    for (const [bytes, type] of [
      [PNG, "image/png"],
      [PDF, "application/pdf"],
    ] as const) {
      const { t, conversationId, fileId, uploadUrl } = await withTicket(bytes, type);
      const res = await put(uploadUrl, bytes);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({
        id: fileId,
        status: "READY",
        contentType: type,
        sizeBytes: bytes.length,
      });
      expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([
        `${prefixOf(t, conversationId)}${fileId}:${bytes.length}`,
      ]);
      expect((await auditsOf(t.workspace.id, "FILE_UPLOADED")).map((a) => a.targetId)).toEqual([fileId]);
      // Single use: the same URL again is 404 and the stored object is untouched.
      const again = await put(uploadUrl, bytes);
      expect(again.status, again.text).toBe(404);
      expect(await objectsUnder(prefixOf(t, conversationId))).toHaveLength(1);
    }
  });

  it("refuses a larger body (413), other bytes than declared (415) and a short body (400), storing nothing", async () => {
    const cases: [string, Uint8Array, BodyInit, number][] = [
      ["longer (Content-Length)", PNG, new Uint8Array([...PNG, 0, 0]), 413],
      ["pdf bytes declared png", PNG, new Uint8Array([...PDF, ...PNG]).slice(0, PNG.length), 415],
      ["html", PNG, new TextEncoder().encode("<html>".padEnd(PNG.length, " ")), 415],
      ["shorter", PNG, PNG.slice(0, 20), 400],
    ];
    for (const [name, declared, body, status] of cases) {
      const { t, conversationId, fileId, uploadUrl } = await withTicket(declared);
      const res = await put(uploadUrl, body);
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(await objectsUnder(prefixOf(t, conversationId)), name).toEqual([]);
      expect((await fileRow(fileId))?.status, name).toBe("PENDING");
    }
  });

  it("refuses a streamed body (no Content-Length) that outgrows the declared size, storing nothing", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(PNG);
        controller.enqueue(new Uint8Array(64));
        controller.close();
      },
    });
    const res = await put(uploadUrl, stream);
    expect(res.status, res.text).toBe(413);
    expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([]);
    expect((await fileRow(fileId))?.status).toBe("PENDING");
  });

  it("answers 404 to expired, tampered and other-workspace tokens, storing nothing", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    const other = await createTenant();
    const config = { ENCRYPTION_KEY: env.ENCRYPTION_KEY as string };
    const claims = { workspaceId: t.workspace.id, fileId, size: PNG.length, contentType: "image/png" };
    const now = Math.floor(Date.now() / 1000);
    const token = uploadUrl.split("/api/uploads/")[1] as string;
    const tokens = {
      expired: await signUploadToken(config, { ...claims, exp: now - 1 }),
      otherWorkspace: await signUploadToken(config, {
        ...claims,
        workspaceId: other.workspace.id,
        exp: now + 600,
      }),
      otherSize: await signUploadToken(config, { ...claims, size: PNG.length + 1, exp: now + 600 }),
      tampered: `${token.slice(0, -2)}${token.endsWith("AA") ? "BB" : "AA"}`,
      garbage: "not-a-token",
    };
    for (const [name, value] of Object.entries(tokens)) {
      const res = await put(`${BASE_URL}/api/uploads/${value}`, PNG);
      expect(res.status, `${name}: ${res.text}`).toBe(404);
    }
    expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([]);
    expect(await objectsUnder(`attachments/${other.workspace.id}/`)).toEqual([]);
    expect((await fileRow(fileId))?.status).toBe("PENDING");
  });

  it("refuses an upload into a workspace that became PENDING_DELETION meanwhile (409), storing nothing", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: new Date(Date.now() + 30 * 86_400_000) })
        .where(eq(workspaces.id, t.workspace.id)),
    );
    const res = await put(uploadUrl, PNG);
    expect(res.status, res.text).toBe(409);
    expect(res.body.code).toBe("WORKSPACE_PENDING_DELETION");
    expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([]);
    expect((await fileRow(fileId))?.status).toBe("PENDING");
  });

  it("refuses an upload into a conversation deleted meanwhile", async () => {
    const { t, conversationId, uploadUrl } = await withTicket(PNG);
    await api("DELETE", `/api/conversations/${conversationId}`, { token: t.owner.token });
    expect((await put(uploadUrl, PNG)).status).toBe(404);
    expect(await objectsUnder(prefixOf(t, conversationId))).toEqual([]);
  });
});

describe("GET /api/files/{id}", () => {
  it("serves READY files to those who can see the conversation, as an attachment", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    const fileUrl = `${BASE_URL}/api/files/${fileId}`;
    // PENDING: nobody gets it.
    expect((await download(fileUrl, t.owner.token)).status).toBe(404);
    await put(uploadUrl, PNG);
    const res = await download(fileUrl, t.owner.token);
    expect(res.status).toBe(200);
    expect(res.bytes).toEqual(PNG);
    expect(res.headers.get("Content-Type")).toBe("image/png");
    expect(res.headers.get("Content-Disposition")).toMatch(/^attachment; filename="picture\.png"/);
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Cache-Control")).toMatch(/^private/);
    // PRIVATE: other members and the admin get 404; SHARED: any member.
    expect((await download(fileUrl, t.other.token)).status).toBe(404);
    expect((await download(fileUrl, t.adminActor.token)).status).toBe(404);
    await api("PATCH", `/api/conversations/${conversationId}/visibility`, {
      token: t.owner.token,
      body: { visibility: "SHARED" },
    });
    expect((await download(fileUrl, t.other.token)).status).toBe(200);
    const foreign = await createTenant();
    expect((await download(fileUrl, (await signIn(foreign.admin)).accessToken)).status).toBe(404);
    expect((await download(fileUrl)).status).toBe(401);
  });

  it("serves a signed 10-minute URL without a bearer; bad, expired or foreign signatures are 404", async () => {
    const { t, fileId, uploadUrl } = await withTicket(PNG);
    await put(uploadUrl, PNG);
    const second = await withTicket(PDF, "application/pdf");
    await put(second.uploadUrl, PDF);
    const config = { ENCRYPTION_KEY: env.ENCRYPTION_KEY as string, APP_BASE_URL: BASE_URL };
    const file = { id: fileId, workspaceId: t.workspace.id };
    const url = await signedDownloadUrl(config, file);
    expect(new URL(url).searchParams.get("exp")).toBe(String(Math.floor(Date.now() / 1000) + 600));
    const ok = await download(url);
    expect(ok.status).toBe(200);
    expect(ok.bytes).toEqual(PNG);

    const expired = await signedDownloadUrl(config, file, Date.now() - 601_000);
    const otherFile = new URL(
      await signedDownloadUrl(config, { id: second.fileId, workspaceId: second.t.workspace.id }),
    );
    const swapped = new URL(url);
    swapped.searchParams.set("sig", otherFile.searchParams.get("sig") as string);
    swapped.searchParams.set("exp", otherFile.searchParams.get("exp") as string);
    const tampered = new URL(url);
    tampered.searchParams.set("exp", String(Number(tampered.searchParams.get("exp")) + 60));
    for (const [name, bad] of [
      ["expired", expired],
      ["another file's signature", swapped.toString()],
      ["extended expiry", tampered.toString()],
      ["no exp", `${BASE_URL}/api/files/${fileId}?sig=abc`],
    ] as const) {
      expect((await download(bad)).status, name).toBe(404);
    }
  });
});

describe("chat attachments (for the relay)", () => {
  it("accepts only READY files of the conversation (409 FILE_NOT_READY) and links them with signed URLs", async () => {
    const { t, conversationId, fileId, uploadUrl } = await withTicket(PNG);
    await put(uploadUrl, PNG);
    const pending = await ticket(t.owner.token, conversationId, {
      filename: "later.pdf",
      contentType: "application/pdf",
      size: 10,
    });
    const elsewhere = await insertConversation(t, t.owner.user);
    const messageId = await insertMessage(t.workspace.id, conversationId, {
      parent: null,
      author: t.owner.user,
    });
    const deps = testDeps();
    try {
      for (const ids of [
        [pending.body.fileId],
        [crypto.randomUUID()],
        ["nope"],
        [fileId, pending.body.fileId],
      ]) {
        await expect(assertReadyFiles(deps.db, t.workspace.id, conversationId, ids)).rejects.toMatchObject({
          code: "FILE_NOT_READY",
        });
      }
      await expect(assertReadyFiles(deps.db, t.workspace.id, elsewhere, [fileId])).rejects.toMatchObject({
        code: "FILE_NOT_READY",
      });
      const ready = await assertReadyFiles(deps.db, t.workspace.id, conversationId, [fileId, fileId]);
      expect(ready.map((f) => f.id)).toEqual([fileId]);
      // The relay links them with the stored message (conversations/store/chat.ts); here, directly.
      await withDb((db) =>
        db.insert(messageFiles).values({ messageId, fileId, workspaceId: t.workspace.id }),
      );
      // A retry re-sends what is linked, with fresh signed URLs.
      const again = await relayAttachmentsOf(deps, deps.db, t.workspace.id, messageId);
      expect(again.map((a) => a.fileId)).toEqual([fileId]);
      expect(again[0]).toMatchObject({ fileId, filename: "picture.png", contentType: "image/png" });
      expect((await download(again[0]?.url as string)).status).toBe(200);
      const links = await withDb((db) =>
        db.select().from(messageFiles).where(eq(messageFiles.messageId, messageId)),
      );
      expect(links.map((l) => l.fileId)).toEqual([fileId]);
    } finally {
      await deps.close();
    }
    const view = await api("GET", `/api/conversations/${conversationId}`, { token: t.owner.token });
    expect(view.body.messages[0].attachments).toEqual([
      {
        id: fileId,
        filename: "picture.png",
        contentType: "image/png",
        sizeBytes: PNG.length,
        url: `${BASE_URL}/api/files/${fileId}`,
      },
    ]);
  });
});
