import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { bytesToBase64 } from "../../src/core/crypto";
import { auditEvents, personas, workspaces } from "../../src/db/schema";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, unique } from "../helpers/factories";
import { api, describeResponse, randomIp } from "../helpers/request";
import { createPersonaRow, hmacBytes, secretBytes } from "../personas/support";

const TRAITS = "/api/webhooks/traits";

/** POST /api/webhooks/traits from a random client IP (the route allows 60 per minute and IP). */
const postTraits = (options: Parameters<typeof api>[2] & { headers?: Record<string, string> }) =>
  api("POST", TRAITS, { ...options, headers: { "CF-Connecting-IP": randomIp(), ...options?.headers } });
const now = () => Math.floor(Date.now() / 1000);

async function signature(secret: string, id: string, timestamp: number, body: string) {
  return `v1,${bytesToBase64(await hmacBytes(secretBytes(secret), `${id}.${timestamp}.${body}`))}`;
}

/** A Standard Webhooks request, signed with `secret` unless `sign` overrides the header. */
async function signedTraits(
  secret: string,
  payload: unknown,
  options: { id?: string; timestamp?: number; rawBody?: string; signatureHeader?: string } = {},
) {
  const body = options.rawBody ?? JSON.stringify(payload);
  const id = options.id ?? `msg_${crypto.randomUUID()}`;
  const timestamp = options.timestamp ?? now();
  const headers = {
    "Content-Type": "application/json",
    "webhook-id": id,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": options.signatureHeader ?? (await signature(secret, id, timestamp, body)),
  };
  return { res: await postTraits({ rawBody: body, headers }), id, timestamp, body, headers };
}

async function personaRow(id: string) {
  const [row] = await withDb((db) => db.select().from(personas).where(eq(personas.id, id)));
  if (!row) throw new Error("missing persona");
  return row;
}

async function audits(type: string, targetId: string) {
  return withDb((db) =>
    db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.eventType, type), eq(auditEvents.targetId, targetId))),
  );
}

const metadata = {
  about: "Twenty years of B2B sales.",
  coreExpertise: ["negotiation", "forecasting"],
  communicationStyle: "Direct",
  traits: ["direct", "numbers-driven"],
  painPoints: ["long sales cycles"],
  keyResponsibilities: ["coach the team"],
};

describe("POST /api/webhooks/traits — Standard Webhooks signature", () => {
  it("updates the persona named by personaName when signed with its own secret, and bumps the version", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({
      workspaceId: tenant.workspace.id,
      name: `Coach ${unique("n")}`,
    });
    // Name matching is case-insensitive; extra whitespace in the raw body is signed as sent.
    const body = `{ "personaName": "${persona.name.toUpperCase()}",\n  "metadata": ${JSON.stringify(metadata)} }`;
    const { res } = await signedTraits(persona.secret, null, { rawBody: body });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toMatchObject({ id: persona.id, version: 2, slug: persona.slug, name: persona.name });

    const row = await personaRow(persona.id);
    expect(row).toMatchObject({
      version: 2,
      about: metadata.about,
      coreExpertise: metadata.coreExpertise,
      communicationStyle: "Direct",
      traits: metadata.traits,
      painPoints: metadata.painPoints,
      keyResponsibilities: metadata.keyResponsibilities,
    });
    const [audit] = await audits("TRAITS_UPDATED", persona.id);
    expect(audit).toMatchObject({
      actorType: "WEBHOOK",
      actorUserId: null,
      workspaceId: tenant.workspace.id,
    });
    expect((audit?.data as any)?.fields).toEqual(Object.keys(metadata));
  });

  it("accepts personaId or slug instead of the name, and partial metadata", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const byId = await signedTraits(persona.secret, {
      personaId: persona.id,
      metadata: { traits: ["calm"] },
    });
    expect(byId.res.status, describeResponse(byId.res)).toBe(200);
    const bySlug = await signedTraits(persona.secret, { slug: persona.slug, metadata: { about: "New" } });
    expect(bySlug.res.status, describeResponse(bySlug.res)).toBe(200);
    const row = await personaRow(persona.id);
    expect(row).toMatchObject({ version: 3, traits: ["calm"], about: "New" });
  });

  it("resolves a name shared by personas of different workspaces to the one whose secret signed", async () => {
    const name = `Shared ${unique("n")}`;
    const a = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id, name });
    const b = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id, name });
    const { res } = await signedTraits(b.secret, { personaName: name, metadata: { about: "only b" } });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.id).toBe(b.id);
    expect((await personaRow(a.id)).about).toBeNull();
    expect((await personaRow(b.id)).about).toBe("only b");
  });

  it("refuses a signature made with another persona's secret (401), audited, nothing changed", async () => {
    const tenant = await createTenant();
    const target = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const attacker = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const { res } = await signedTraits(attacker.secret, {
      personaId: target.id,
      metadata: { about: "pwned" },
    });
    expect(res.status, describeResponse(res)).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect(await personaRow(target.id)).toMatchObject({ about: null, version: 1 });
    const [audit] = await audits("WEBHOOK_SIGNATURE_INVALID", target.id);
    expect(audit).toMatchObject({ actorType: "WEBHOOK", workspaceId: tenant.workspace.id });
    expect((audit?.data as any)?.reason).toBe("signature");
  });

  it("refuses a body changed after signing (401)", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const original = JSON.stringify({ personaId: persona.id, metadata: { about: "signed" } });
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = now();
    const header = await signature(persona.secret, id, timestamp, original);
    const tampered = JSON.stringify({ personaId: persona.id, metadata: { about: "tampered" } });
    const { res } = await signedTraits(persona.secret, null, {
      id,
      timestamp,
      rawBody: tampered,
      signatureHeader: header,
    });
    expect(res.status, describeResponse(res)).toBe(401);
    expect((await personaRow(persona.id)).about).toBeNull();
  });

  it.each([
    ["6 minutes old", -360],
    ["6 minutes in the future", 360],
  ])("refuses a correctly signed request whose timestamp is %s (401), audited", async (_label, offset) => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const { res } = await signedTraits(
      persona.secret,
      { personaId: persona.id, metadata: { about: "late" } },
      { timestamp: now() + offset },
    );
    expect(res.status, describeResponse(res)).toBe(401);
    expect((await personaRow(persona.id)).about).toBeNull();
    const [audit] = await audits("WEBHOOK_SIGNATURE_INVALID", persona.id);
    expect((audit?.data as any)?.reason).toBe("stale-timestamp");
  });

  it("accepts a timestamp within the 5-minute window", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const { res } = await signedTraits(
      persona.secret,
      { personaId: persona.id, metadata: { about: "fine" } },
      { timestamp: now() - 240 },
    );
    expect(res.status, describeResponse(res)).toBe(200);
  });

  it("refuses a replayed webhook-id (409), even re-signed with a fresh timestamp; applied once", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const payload = { personaId: persona.id, metadata: { traits: ["once"] } };
    const first = await signedTraits(persona.secret, payload);
    expect(first.res.status, describeResponse(first.res)).toBe(200);

    const replay = await postTraits({ rawBody: first.body, headers: first.headers });
    expect(replay.status, describeResponse(replay)).toBe(409);
    const resigned = await signedTraits(persona.secret, payload, { id: first.id, timestamp: now() + 1 });
    expect(resigned.res.status, describeResponse(resigned.res)).toBe(409);
    expect((await personaRow(persona.id)).version).toBe(2);
    // Audited once: later refusals for the same persona within the minute write no row.
    const refused = await audits("WEBHOOK_SIGNATURE_INVALID", persona.id);
    expect(refused.map((a) => (a.data as any).reason)).toEqual(["replayed-webhook-id"]);
  });

  it("applies exactly one of two concurrent deliveries of the same webhook-id", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const signed = await signedTraits(persona.secret, { personaId: persona.id, metadata: { about: "race" } });
    expect(signed.res.status).toBe(200);
    const id = `msg_${crypto.randomUUID()}`;
    const body = JSON.stringify({ personaId: persona.id, metadata: { about: "race 2" } });
    const timestamp = now();
    const headers = {
      "Content-Type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": await signature(persona.secret, id, timestamp, body),
    };
    const results = await Promise.all([
      postTraits({ rawBody: body, headers }),
      postTraits({ rawBody: body, headers }),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    expect((await personaRow(persona.id)).version).toBe(3);
  });

  it("answers 401 alike for an unknown name, a deactivated persona and missing headers", async () => {
    const persona = await createPersonaRow({
      workspaceId: (await createTenant()).workspace.id,
      isActive: false,
    });
    const unknown = await signedTraits(persona.secret, { personaName: `Nobody ${unique("n")}`, metadata });
    expect(unknown.res.status, describeResponse(unknown.res)).toBe(401);
    const inactive = await signedTraits(persona.secret, { personaId: persona.id, metadata });
    expect(inactive.res.status, describeResponse(inactive.res)).toBe(401);
    const bare = await postTraits({ body: { personaId: persona.id, metadata } });
    expect(bare.status, describeResponse(bare)).toBe(401);
    expect(bare.headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("refuses writes to a workspace pending deletion (409)", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    await withDb((db) =>
      db
        .update(workspaces)
        .set({ status: "PENDING_DELETION", purgeAfter: new Date(Date.now() + 86_400_000) })
        .where(eq(workspaces.id, tenant.workspace.id)),
    );
    const { res } = await signedTraits(persona.secret, { personaId: persona.id, metadata: { about: "x" } });
    expect(res.status, describeResponse(res)).toBe(409);
    expect(res.body.code).toBe("WORKSPACE_PENDING_DELETION");
  });

  it.each([
    ["two identifiers", { personaName: "A", slug: "a", metadata: { about: "x" } }],
    ["no identifier", { metadata: { about: "x" } }],
    ["empty metadata", { personaName: "A", metadata: {} }],
    ["an unknown metadata field", { personaName: "A", metadata: { about: "x", salary: 1 } }],
    ["an unknown top-level field", { personaName: "A", metadata: { about: "x" }, version: 9 }],
  ])("refuses %s with 400", async (_label, payload) => {
    const res = await postTraits({ body: payload });
    expect(res.status, describeResponse(res)).toBe(400);
  });
});

describe("POST /api/webhooks/traits — bearer", () => {
  it("lets a workspace ADMIN update its persona by name (audited as the user)", async () => {
    const tenant = await createTenant();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id, name: `Mine ${unique("n")}` });
    const { accessToken } = await signIn(tenant.admin);
    const res = await postTraits({
      token: accessToken,
      body: { personaName: persona.name, metadata: { traits: ["admin-set"] } },
    });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(await personaRow(persona.id)).toMatchObject({ version: 2, traits: ["admin-set"] });
    const [audit] = await audits("TRAITS_UPDATED", persona.id);
    expect(audit).toMatchObject({ actorType: "USER", actorUserId: tenant.admin.id });
  });

  it("refuses a member (403) and an ADMIN on a global persona (403); a platform admin may (200)", async () => {
    const tenant = await createTenant();
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const global = await createPersonaRow({ workspaceId: null });
    const { accessToken: memberToken } = await signIn(tenant.member);
    const { accessToken: adminToken } = await signIn(tenant.admin);
    const member = await postTraits({ token: memberToken, body: { personaId: own.id, metadata } });
    expect(member.status, describeResponse(member)).toBe(403);
    const admin = await postTraits({ token: adminToken, body: { personaId: global.id, metadata } });
    expect(admin.status, describeResponse(admin)).toBe(403);
    const { accessToken: platformToken } = await signIn(await platformAdmin());
    const platform = await postTraits({
      token: platformToken,
      body: { personaId: global.id, metadata },
    });
    expect(platform.status, describeResponse(platform)).toBe(200);
    expect((await personaRow(own.id)).version).toBe(1);
    expect((await personaRow(global.id)).version).toBe(2);
  });

  it("answers another workspace's persona exactly like an unknown one (404)", async () => {
    const tenant = await createTenant();
    const foreign = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const { accessToken } = await signIn(tenant.admin);
    const byId = await postTraits({ token: accessToken, body: { personaId: foreign.id, metadata } });
    const byName = await postTraits({
      token: accessToken,
      body: { personaName: foreign.name, metadata },
    });
    const random = await postTraits({
      token: accessToken,
      body: { personaId: crypto.randomUUID(), metadata },
    });
    for (const res of [byId, byName, random]) expect(res.status, describeResponse(res)).toBe(404);
    const strip = (body: any) => ({ ...body, traceId: undefined });
    expect(strip(byId.body)).toEqual(strip(random.body));
    expect(strip(byName.body)).toEqual(strip(random.body));
    expect((await personaRow(foreign.id)).version).toBe(1);
  });

  it("answers 409 AMBIGUOUS_PERSONA when the name matches several editable personas; the slug resolves it", async () => {
    const tenant = await createTenant();
    const name = `Twin ${unique("n")}`;
    const first = await createPersonaRow({ workspaceId: tenant.workspace.id, name });
    await createPersonaRow({ workspaceId: tenant.workspace.id, name: name.toLowerCase() });
    const { accessToken } = await signIn(tenant.admin);
    const ambiguous = await postTraits({
      token: accessToken,
      body: { personaName: name, metadata },
    });
    expect(ambiguous.status, describeResponse(ambiguous)).toBe(409);
    expect(ambiguous.body.code).toBe("AMBIGUOUS_PERSONA");
    const bySlug = await postTraits({ token: accessToken, body: { slug: first.slug, metadata } });
    expect(bySlug.status, describeResponse(bySlug)).toBe(200);
    expect(bySlug.body.id).toBe(first.id);
  });

  it("prefers the caller's editable persona over a same-named global one it may not edit", async () => {
    const tenant = await createTenant();
    const name = `Overlap ${unique("n")}`;
    await createPersonaRow({ workspaceId: null, name });
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id, name });
    const { accessToken } = await signIn(tenant.admin);
    const res = await postTraits({ token: accessToken, body: { personaName: name, metadata } });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body.id).toBe(own.id);
  });

  it("refuses an invalid bearer token with 401 even when signature headers are present", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const body = JSON.stringify({ personaId: persona.id, metadata });
    const id = `msg_${crypto.randomUUID()}`;
    const timestamp = now();
    const res = await postTraits({
      rawBody: body,
      headers: {
        Authorization: "Bearer not-a-token",
        "Content-Type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": await signature(persona.secret, id, timestamp, body),
      },
    });
    expect(res.status, describeResponse(res)).toBe(401);
    expect((await personaRow(persona.id)).version).toBe(1);
  });
});

describe("POST /api/webhooks/traits — abuse limits", () => {
  it("allows 60 requests per minute and IP, then 429 before any lookup or audit row", async () => {
    const persona = await createPersonaRow({ workspaceId: (await createTenant()).workspace.id });
    const ip = randomIp();
    const bad = { "webhook-id": "msg_x", "webhook-timestamp": String(now()), "webhook-signature": "v1,AAAA" };
    for (let i = 0; i < 60; i++) {
      const res = await postTraits({
        body: { personaId: persona.id, metadata },
        headers: { ...bad, "webhook-id": `msg_${i}`, "CF-Connecting-IP": ip },
      });
      expect(res.status, describeResponse(res)).toBe(401);
    }
    const refused = await postTraits({
      body: { personaId: persona.id, metadata },
      headers: { ...bad, "CF-Connecting-IP": ip },
    });
    expect(refused.status, describeResponse(refused)).toBe(429);
    expect(refused.body.code).toBe("RATE_LIMITED");
    // Sixty bad signatures within a minute: one audit row for the persona.
    expect(await audits("WEBHOOK_SIGNATURE_INVALID", persona.id)).toHaveLength(1);
  });
});
