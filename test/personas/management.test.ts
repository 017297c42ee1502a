import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { decrypt, encrypt } from "../../src/core/crypto";
import { newId } from "../../src/core/ids";
import { auditEvents, personas } from "../../src/db/schema";
import { MAX_WORKSPACE_PERSONAS } from "../../src/modules/personas/personas.service";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, unique } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";
import { chat, createPersonaRow, listAllPersonas, newSecret, webhookPath } from "./support";

const KEY = env.ENCRYPTION_KEY as string;
const hookUrl = () => `${env.WEBHOOK_FAKE_URL}${webhookPath()}`;
const strip = (body: any) => ({ ...body, traceId: undefined });

async function adminSetup() {
  const tenant = await createTenant();
  const { accessToken: adminToken } = await signIn(tenant.admin);
  const { accessToken: memberToken } = await signIn(tenant.member);
  return { tenant, adminToken, memberToken };
}

async function storedRow(id: string) {
  const [row] = await withDb((db) => db.select().from(personas).where(eq(personas.id, id)));
  if (!row) throw new Error("persona row missing");
  return row;
}

describe("POST /api/personas", () => {
  it("creates a workspace persona with a generated secret shown once, stored encrypted", async () => {
    const { tenant, adminToken, memberToken } = await adminSetup();
    const url = hookUrl();
    const res = await api("POST", "/api/personas", {
      token: adminToken,
      body: {
        scope: "workspace",
        name: "Sales Coach",
        personalName: "Sam",
        traits: ["direct"],
        coreExpertise: ["negotiation"],
        webhookUrl: url,
      },
    });
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.body).toMatchObject({
      scope: "workspace",
      name: "Sales Coach",
      slug: "sales-coach",
      personalName: "Sam",
      version: 1,
      isFavourite: false,
      isAvailable: true,
    });
    const secret = res.body.webhookSecret as string;
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(atob(secret.slice(6))).toHaveLength(32);
    expect(res.text).not.toContain(url);

    const row = await storedRow(res.body.id);
    expect(row.workspaceId).toBe(tenant.workspace.id);
    expect(row.webhookUrlEncrypted.startsWith("v1:")).toBe(true);
    expect(row.webhookSecretEncrypted.startsWith("v1:")).toBe(true);
    expect(row.webhookUrlEncrypted).not.toContain(url);
    expect(await decrypt(KEY, "webhook-url", row.webhookUrlEncrypted, row.id)).toBe(url);
    expect(await decrypt(KEY, "webhook-secret", row.webhookSecretEncrypted, row.id)).toBe(secret);
    // Bound to the row: the ciphertext does not decrypt as another persona's.
    await expect(decrypt(KEY, "webhook-secret", row.webhookSecretEncrypted, newId())).rejects.toThrow();

    // Never again: not in GET, list or PATCH answers.
    const detail = await api("GET", `/api/personas/${res.body.id}`, { token: memberToken });
    expect(detail.text).not.toContain(secret);
    expect(detail.body.webhookSecret).toBeUndefined();
    expect(JSON.stringify(await listAllPersonas(memberToken))).not.toContain(secret);
    const patched = await api("PATCH", `/api/personas/${res.body.id}`, {
      token: adminToken,
      body: { about: "x" },
    });
    expect(patched.body.webhookSecret).toBeUndefined();
    expect(patched.text).not.toContain(secret);

    const [audit] = await withDb((db) =>
      db.select().from(auditEvents).where(eq(auditEvents.targetId, res.body.id)),
    );
    expect(audit).toMatchObject({ eventType: "PERSONA_CREATED", workspaceId: tenant.workspace.id });
    expect(JSON.stringify(audit?.data)).not.toContain("whsec_");

    // And it answers chats with the generated secret.
    const chatRes = await chat(memberToken, res.body.id, { message: "hi" });
    expect(chatRes.status, describeResponse(chatRes)).toBe(200);
  });

  it("keeps a supplied secret and does not echo it", async () => {
    const { adminToken } = await adminSetup();
    const secret = newSecret(24);
    const res = await api("POST", "/api/personas", {
      token: adminToken,
      body: { scope: "workspace", name: "Own Secret", webhookUrl: hookUrl(), webhookSecret: secret },
    });
    expect(res.status, describeResponse(res)).toBe(201);
    expect(res.body.webhookSecret).toBeUndefined();
    expect(res.text).not.toContain(secret);
    const row = await storedRow(res.body.id);
    expect(await decrypt(KEY, "webhook-secret", row.webhookSecretEncrypted, row.id)).toBe(secret);
  });

  it.each([
    ["no prefix", btoa("x".repeat(32))],
    ["too short (16 bytes)", newSecret(16)],
    ["too long (65 bytes)", newSecret(65)],
    ["not base64", "whsec_!!!!not-base64!!!!"],
    ["non-canonical base64 (no padding)", newSecret(32).replace(/=+$/, "")],
    ["empty", "whsec_"],
  ])("refuses a secret that is %s with 400", async (_label, webhookSecret) => {
    const { adminToken } = await adminSetup();
    const res = await api("POST", "/api/personas", {
      token: adminToken,
      body: { scope: "workspace", name: "Bad Secret", webhookUrl: hookUrl(), webhookSecret },
    });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.errors.map((e: any) => e.path)).toContain("webhookSecret");
  });

  it.each([
    "ftp://example.com/hook",
    "https://10.0.0.1/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://[::ffff:10.0.0.1]/hook",
    "https://hooks.internal/flow",
    "https://user:pass@example.com/hook",
    "not a url",
  ])("refuses the webhook URL %s with 400 (validated on save)", async (webhookUrl) => {
    const { adminToken } = await adminSetup();
    const res = await api("POST", "/api/personas", {
      token: adminToken,
      body: { scope: "workspace", name: "Bad URL", webhookUrl },
    });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.errors).toEqual([{ path: "webhookUrl", message: expect.any(String) }]);
  });

  it("refuses unknown fields, and fields the server owns", async () => {
    const { adminToken } = await adminSetup();
    for (const extra of [{ version: 7 }, { isActive: false }, { workspaceId: newId() }, { colour: "red" }]) {
      const res = await api("POST", "/api/personas", {
        token: adminToken,
        body: { scope: "workspace", name: "Strict", webhookUrl: hookUrl(), ...extra },
      });
      expect(res.status, describeResponse(res)).toBe(400);
    }
  });

  it("lets only ADMINs create workspace personas and only platform admins global ones", async () => {
    const { adminToken, memberToken } = await adminSetup();
    const body = { name: "Scoped", webhookUrl: hookUrl() };
    const member = await api("POST", "/api/personas", {
      token: memberToken,
      body: { ...body, scope: "workspace" },
    });
    expect(member.status, describeResponse(member)).toBe(403);
    const adminGlobal = await api("POST", "/api/personas", {
      token: adminToken,
      body: { ...body, scope: "global" },
    });
    expect(adminGlobal.status, describeResponse(adminGlobal)).toBe(403);

    const { accessToken: platformToken } = await signIn(await platformAdmin());
    const global = await api("POST", "/api/personas", {
      token: platformToken,
      body: { ...body, name: `Global ${unique("g")}`, scope: "global" },
    });
    expect(global.status, describeResponse(global)).toBe(201);
    expect(global.body.scope).toBe("global");
    // Visible to every workspace.
    const elsewhere = await adminSetup();
    const seen = await api("GET", `/api/personas/${global.body.id}`, { token: elsewhere.memberToken });
    expect(seen.status, describeResponse(seen)).toBe(200);
    const [audit] = await withDb((db) =>
      db.select().from(auditEvents).where(eq(auditEvents.targetId, global.body.id)),
    );
    expect(audit).toMatchObject({ eventType: "PERSONA_CREATED", workspaceId: null });
  });

  it("derives unique slugs and refuses a taken explicit slug with 409", async () => {
    const { tenant, adminToken } = await adminSetup();
    const create = (body: Record<string, unknown>) =>
      api("POST", "/api/personas", {
        token: adminToken,
        body: { scope: "workspace", webhookUrl: hookUrl(), ...body },
      });
    const first = await create({ name: "Ünïcode Coach!" });
    const second = await create({ name: "Unicode Coach" });
    expect(first.body.slug).toBe("unicode-coach");
    expect(second.body.slug).toMatch(/^unicode-coach-[0-9a-f]{6}$/);
    const explicit = await create({ name: "Other", slug: "unicode-coach" });
    expect(explicit.status, describeResponse(explicit)).toBe(409);
    expect(explicit.body.code).toBe("CONFLICT");
    // One PERSONA_CREATED per persona made, with the slug it got; the attempt that lost the slug and the
    // refused explicit one wrote none.
    const events = await withDb((db) =>
      db.select().from(auditEvents).where(eq(auditEvents.workspaceId, tenant.workspace.id)),
    );
    const created = events.filter((e) => e.eventType === "PERSONA_CREATED");
    expect(created.map((e) => [e.targetId, (e.data as { slug: string }).slug]).sort()).toEqual(
      [
        [first.body.id, "unicode-coach"],
        [second.body.id, second.body.slug],
      ].sort(),
    );
    const bad = await create({ name: "Other", slug: "Not A Slug" });
    expect(bad.status).toBe(400);
    // Another workspace may use the same slug.
    const other = await adminSetup();
    const elsewhere = await api("POST", "/api/personas", {
      token: other.adminToken,
      body: { scope: "workspace", name: "x", slug: "unicode-coach", webhookUrl: hookUrl() },
    });
    expect(elsewhere.status, describeResponse(elsewhere)).toBe(201);
  });

  it(`allows ${MAX_WORKSPACE_PERSONAS} active workspace personas, the next is 409 PERSONA_LIMIT_REACHED`, async () => {
    const { tenant, adminToken } = await adminSetup();
    await withDb(async (db) => {
      const rows = [];
      for (let i = 0; i < MAX_WORKSPACE_PERSONAS - 1; i++) {
        const id = newId();
        rows.push({
          id,
          workspaceId: tenant.workspace.id,
          slug: `bulk-${i}`,
          name: `Bulk ${i}`,
          webhookUrlEncrypted: await encrypt(KEY, "webhook-url", hookUrl(), id),
          webhookSecretEncrypted: await encrypt(KEY, "webhook-secret", newSecret(), id),
        });
      }
      await db.insert(personas).values(rows);
    });
    // A deactivated persona does not count.
    await createPersonaRow({ workspaceId: tenant.workspace.id, isActive: false });
    const create = () =>
      api("POST", "/api/personas", {
        token: adminToken,
        body: { scope: "workspace", name: "One more", webhookUrl: hookUrl() },
      });
    const fiftieth = await create();
    expect(fiftieth.status, describeResponse(fiftieth)).toBe(201);
    const fiftyFirst = await create();
    expect(fiftyFirst.status, describeResponse(fiftyFirst)).toBe(409);
    expect(fiftyFirst.body.code).toBe("PERSONA_LIMIT_REACHED");

    // Deactivating one makes room again.
    const removed = await api("DELETE", `/api/personas/${fiftieth.body.id}`, { token: adminToken });
    expect(removed.status, describeResponse(removed)).toBe(204);
    expect((await create()).status).toBe(201);
  });

  it("never overshoots the limit under parallel creates", async () => {
    const { tenant, adminToken } = await adminSetup();
    await withDb(async (db) => {
      const rows = [];
      for (let i = 0; i < MAX_WORKSPACE_PERSONAS - 2; i++) {
        const id = newId();
        rows.push({
          id,
          workspaceId: tenant.workspace.id,
          slug: `bulk-${i}`,
          name: `Bulk ${i}`,
          webhookUrlEncrypted: await encrypt(KEY, "webhook-url", hookUrl(), id),
          webhookSecretEncrypted: await encrypt(KEY, "webhook-secret", newSecret(), id),
        });
      }
      await db.insert(personas).values(rows);
    });
    const results = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        api("POST", "/api/personas", {
          token: adminToken,
          body: { scope: "workspace", name: `Race ${i}`, webhookUrl: hookUrl() },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 409, 409, 409]);
  });
});

describe("PATCH /api/personas/{id}", () => {
  it("updates traits and bumps the version; webhook-only changes keep it", async () => {
    const { tenant, adminToken } = await adminSetup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const res = await api("PATCH", `/api/personas/${persona.id}`, {
      token: adminToken,
      body: { traits: ["calm", "precise"], about: "Knows things", communicationStyle: null },
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ traits: ["calm", "precise"], about: "Knows things", version: 2 });

    const url = hookUrl();
    const webhookOnly = await api("PATCH", `/api/personas/${persona.id}`, {
      token: adminToken,
      body: { webhookUrl: url },
    });
    expect(webhookOnly.status, describeResponse(webhookOnly)).toBe(200);
    expect(webhookOnly.body.version).toBe(2);
    expect(webhookOnly.text).not.toContain(url);
    const row = await storedRow(persona.id);
    expect(await decrypt(KEY, "webhook-url", row.webhookUrlEncrypted, persona.id)).toBe(url);

    const noop = await api("PATCH", `/api/personas/${persona.id}`, {
      token: adminToken,
      body: { about: "Knows things" },
    });
    expect(noop.body.version).toBe(2);

    const audits = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.targetId, persona.id))
        .orderBy(auditEvents.createdAt),
    );
    expect(audits.map((a) => [a.eventType, (a.data as any).fields])).toEqual([
      // communicationStyle was already null: not a change.
      ["PERSONA_UPDATED", ["about", "traits"]],
      ["PERSONA_UPDATED", ["webhookUrl"]],
    ]);
  });

  it("rotates the secret on request and shows the new one once", async () => {
    const { tenant, adminToken } = await adminSetup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const res = await api("PATCH", `/api/personas/${persona.id}`, {
      token: adminToken,
      body: { rotateWebhookSecret: true },
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.webhookSecret).toMatch(/^whsec_/);
    expect(res.body.webhookSecret).not.toBe(persona.secret);
    const row = await storedRow(persona.id);
    expect(await decrypt(KEY, "webhook-secret", row.webhookSecretEncrypted, persona.id)).toBe(
      res.body.webhookSecret,
    );
    const both = await api("PATCH", `/api/personas/${persona.id}`, {
      token: adminToken,
      body: { rotateWebhookSecret: true, webhookSecret: newSecret() },
    });
    expect(both.status, describeResponse(both)).toBe(400);
  });

  it("applies the roles: member 403, ADMIN on a global persona 403, platform admin on it 200", async () => {
    const { tenant, adminToken, memberToken } = await adminSetup();
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const global = await createPersonaRow({ workspaceId: null });
    const memberRes = await api("PATCH", `/api/personas/${own.id}`, {
      token: memberToken,
      body: { about: "x" },
    });
    expect(memberRes.status, describeResponse(memberRes)).toBe(403);
    const adminGlobal = await api("PATCH", `/api/personas/${global.id}`, {
      token: adminToken,
      body: { about: "x" },
    });
    expect(adminGlobal.status, describeResponse(adminGlobal)).toBe(403);
    const { accessToken: platformToken } = await signIn(await platformAdmin());
    const platform = await api("PATCH", `/api/personas/${global.id}`, {
      token: platformToken,
      body: { about: "x" },
    });
    expect(platform.status, describeResponse(platform)).toBe(200);
    expect((await storedRow(global.id)).about).toBe("x");
    expect((await storedRow(own.id)).about).toBeNull();
  });

  it("answers another workspace's persona like a random id, and changes nothing", async () => {
    const { adminToken } = await adminSetup();
    const other = await createTenant();
    const foreign = await createPersonaRow({ workspaceId: other.workspace.id });
    const res = await api("PATCH", `/api/personas/${foreign.id}`, {
      token: adminToken,
      body: { about: "pwned" },
    });
    const random = await api("PATCH", `/api/personas/${newId()}`, {
      token: adminToken,
      body: { about: "pwned" },
    });
    expect(res.status, describeResponse(res)).toBe(404);
    expect(strip(res.body)).toEqual(strip(random.body));
    expect((await storedRow(foreign.id)).about).toBeNull();
    const del = await api("DELETE", `/api/personas/${foreign.id}`, { token: adminToken });
    expect(del.status).toBe(404);
    expect((await storedRow(foreign.id)).isActive).toBe(true);
  });

  it("refuses a slug taken in the scope with 409", async () => {
    const { tenant, adminToken } = await adminSetup();
    const a = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const b = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const res = await api("PATCH", `/api/personas/${b.id}`, { token: adminToken, body: { slug: a.slug } });
    expect(res.status, describeResponse(res)).toBe(409);
  });
});

describe("DELETE /api/personas/{id}", () => {
  it("deactivates: gone from the catalogue, 404 everywhere, slug free, conversations kept", async () => {
    const { tenant, adminToken, memberToken } = await adminSetup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id, slug: unique("slug") });
    const conversation = await chat(memberToken, persona.id, { message: "before" });
    expect(conversation.status).toBe(200);

    const res = await api("DELETE", `/api/personas/${persona.id}`, { token: adminToken });
    expect(res.status, describeResponse(res)).toBe(204);
    expect((await listAllPersonas(memberToken)).map((p) => p.id)).not.toContain(persona.id);
    expect((await api("GET", `/api/personas/${persona.id}`, { token: memberToken })).status).toBe(404);
    expect((await chat(memberToken, persona.id, { message: "after" })).status).toBe(404);
    expect((await api("DELETE", `/api/personas/${persona.id}`, { token: adminToken })).status).toBe(404);
    expect(
      (await api("PATCH", `/api/personas/${persona.id}`, { token: adminToken, body: { about: "x" } })).status,
    ).toBe(404);

    const row = await storedRow(persona.id);
    expect(row.isActive).toBe(false);
    const reuse = await api("POST", "/api/personas", {
      token: adminToken,
      body: { scope: "workspace", name: "Again", slug: persona.slug, webhookUrl: hookUrl() },
    });
    expect(reuse.status, describeResponse(reuse)).toBe(201);
  });

  it("refuses members", async () => {
    const { tenant, memberToken } = await adminSetup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const res = await api("DELETE", `/api/personas/${persona.id}`, { token: memberToken });
    expect(res.status, describeResponse(res)).toBe(403);
    expect((await storedRow(persona.id)).isActive).toBe(true);
  });
});

describe("GET /api/personas/{id}/deliveries", () => {
  it("shows the caller's workspace's runs only (a global persona is shared), newest first, paged", async () => {
    const global = await createPersonaRow({ workspaceId: null });
    const a = await adminSetup();
    const b = await adminSetup();
    for (let i = 0; i < 3; i++)
      expect((await chat(a.memberToken, global.id, { message: `a${i}` })).status).toBe(200);
    expect((await chat(b.memberToken, global.id, { message: "b" })).status).toBe(200);

    const first = await api("GET", `/api/personas/${global.id}/deliveries?limit=2`, { token: a.adminToken });
    expect(first.status, describeResponse(first)).toBe(200);
    expect(first.body.breaker).toEqual({
      state: "CLOSED",
      consecutiveFailures: 0,
      openUntil: null,
      probeInFlight: false,
    });
    expect(first.body.items).toHaveLength(2);
    expect(first.body.items[0]).toMatchObject({ status: "SUCCEEDED", attempts: 1, errorClass: null });
    expect(first.text).not.toContain(global.path);
    const second = await api(
      "GET",
      `/api/personas/${global.id}/deliveries?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`,
      { token: a.adminToken },
    );
    expect(second.body.items).toHaveLength(1);
    expect(second.body.nextCursor).toBeNull();
    const all = [...first.body.items, ...second.body.items];
    expect(new Set(all.map((r: any) => r.id)).size).toBe(3);
    const started = all.map((r: any) => Date.parse(r.startedAt));
    expect([...started].sort((x, y) => y - x)).toEqual(started);

    const bRuns = await api("GET", `/api/personas/${global.id}/deliveries`, { token: b.adminToken });
    expect(bRuns.body.items).toHaveLength(1);
  });

  it("is for admins (403) and hides other workspaces' personas (404)", async () => {
    const { tenant, memberToken, adminToken } = await adminSetup();
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const member = await api("GET", `/api/personas/${own.id}/deliveries`, { token: memberToken });
    expect(member.status, describeResponse(member)).toBe(403);
    const other = await createTenant();
    const foreign = await createPersonaRow({ workspaceId: other.workspace.id });
    const res = await api("GET", `/api/personas/${foreign.id}/deliveries`, { token: adminToken });
    expect(res.status, describeResponse(res)).toBe(404);
  });
});
