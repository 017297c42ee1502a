import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, personaFavourites } from "../../src/db/schema";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant } from "../helpers/factories";
import { type ApiResponse, api, describeResponse } from "../helpers/request";
import { createPersonaRow, listAllPersonas } from "./support";

const strip = (body: any) => ({ ...body, traceId: undefined });

async function setup() {
  const tenant = await createTenant();
  const { accessToken } = await signIn(tenant.member);
  return { tenant, token: accessToken };
}

describe("GET /api/personas", () => {
  it("lists active global and own-workspace personas, never another workspace's or deactivated ones", async () => {
    const { tenant, token } = await setup();
    const other = await createTenant();
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const global = await createPersonaRow({ workspaceId: null });
    const foreign = await createPersonaRow({ workspaceId: other.workspace.id });
    const inactive = await createPersonaRow({ workspaceId: tenant.workspace.id, isActive: false });
    const inactiveGlobal = await createPersonaRow({ workspaceId: null, isActive: false });

    const ids = (await listAllPersonas(token)).map((p) => p.id);
    expect(ids).toContain(own.id);
    expect(ids).toContain(global.id);
    expect(ids).not.toContain(foreign.id);
    expect(ids).not.toContain(inactive.id);
    expect(ids).not.toContain(inactiveGlobal.id);
  });

  it("shows the public fields with isFavourite and isAvailable, never the webhook URL or secret", async () => {
    const { tenant, token } = await setup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const res = await api("GET", "/api/personas?limit=100", { token });
    expect(res.status, describeResponse(res)).toBe(200);
    const all = await listAllPersonas(token);
    const item = all.find((p) => p.id === persona.id);
    expect(item).toMatchObject({
      id: persona.id,
      scope: "workspace",
      slug: persona.slug,
      name: persona.name,
      traits: ["curious"],
      version: 1,
      isFavourite: false,
      isAvailable: true,
    });
    expect(Object.keys(item).some((k) => /webhook|secret/i.test(k))).toBe(false);
    const text = JSON.stringify(all);
    expect(text).not.toContain(persona.secret);
    expect(text).not.toContain(persona.path);
    expect(text).not.toContain("v1:");
  });

  it("reports a persona with an open breaker (mirror in the future) as unavailable", async () => {
    const { tenant, token } = await setup();
    const open = await createPersonaRow({
      workspaceId: tenant.workspace.id,
      breakerOpenUntil: new Date(Date.now() + 60_000),
    });
    const past = await createPersonaRow({
      workspaceId: tenant.workspace.id,
      breakerOpenUntil: new Date(Date.now() - 60_000),
    });
    const all = await listAllPersonas(token);
    expect(all.find((p) => p.id === open.id)?.isAvailable).toBe(false);
    expect(all.find((p) => p.id === past.id)?.isAvailable).toBe(true);
  });

  it("pages by name with an opaque cursor", async () => {
    const { tenant, token } = await setup();
    // Favourites keep the walk to this test's personas (the global catalogue grows with other files).
    for (const name of ["Echo", "Alpha", "Delta", "Bravo", "Charlie"]) {
      const persona = await createPersonaRow({ workspaceId: tenant.workspace.id, name });
      await api("POST", `/api/personas/${persona.id}/favourite`, { token });
    }
    const names: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `favouritesOnly=true&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const res: ApiResponse = await api("GET", `/api/personas?${query}`, { token });
      expect(res.status, describeResponse(res)).toBe(200);
      names.push(res.body.items.map((p: any) => p.name));
      cursor = res.body.nextCursor;
    } while (cursor && names.length < 10);
    expect(names).toEqual([["Alpha", "Bravo"], ["Charlie", "Delta"], ["Echo"]]);
  });

  it("refuses a forged cursor and a bad limit with 400", async () => {
    const { token } = await setup();
    for (const query of ["cursor=nonsense", "limit=0", "limit=101", "favouritesOnly=yes"]) {
      const res = await api("GET", `/api/personas?${query}`, { token });
      expect(res.status, `${query}: ${describeResponse(res)}`).toBe(400);
    }
  });

  it("requires a bearer token", async () => {
    const res = await api("GET", "/api/personas");
    expect(res.status).toBe(401);
  });
});

describe("GET /api/personas/{id}", () => {
  it("returns a visible persona", async () => {
    const { tenant, token } = await setup();
    const own = await createPersonaRow({ workspaceId: tenant.workspace.id });
    const global = await createPersonaRow({ workspaceId: null });
    for (const persona of [own, global]) {
      const res = await api("GET", `/api/personas/${persona.id}`, { token });
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.body.id).toBe(persona.id);
    }
  });

  it("answers another workspace's, a deactivated and a malformed id exactly like a random id", async () => {
    const { token } = await setup();
    const other = await createTenant();
    const foreign = await createPersonaRow({ workspaceId: other.workspace.id });
    const inactive = await createPersonaRow({ workspaceId: null, isActive: false });
    const random = await api("GET", `/api/personas/${crypto.randomUUID()}`, { token });
    expect(random.status).toBe(404);
    for (const id of [foreign.id, inactive.id, "not-a-uuid"]) {
      const res = await api("GET", `/api/personas/${id}`, { token });
      expect(res.status, describeResponse(res)).toBe(404);
      expect(strip(res.body)).toEqual(strip(random.body));
    }
  });
});

describe("POST /api/personas/{id}/favourite", () => {
  it("toggles the caller's favourite, lists it with favouritesOnly, and audits both ways", async () => {
    const { tenant, token } = await setup();
    const persona = await createPersonaRow({ workspaceId: null });
    const other = await createPersonaRow({ workspaceId: tenant.workspace.id });

    const on = await api("POST", `/api/personas/${persona.id}/favourite`, { token });
    expect(on.status, describeResponse(on)).toBe(200);
    expect(on.body).toEqual({ isFavourite: true });
    const favourites = await listAllPersonas(token, "favouritesOnly=true");
    expect(favourites.map((p) => p.id)).toEqual([persona.id]);
    expect(favourites[0].isFavourite).toBe(true);
    expect((await listAllPersonas(token)).find((p) => p.id === other.id)?.isFavourite).toBe(false);
    expect((await api("GET", `/api/personas/${persona.id}`, { token })).body.isFavourite).toBe(true);

    // Another member's favourites are their own.
    const { accessToken: adminToken } = await signIn(tenant.admin);
    expect(await listAllPersonas(adminToken, "favouritesOnly=true")).toEqual([]);

    const off = await api("POST", `/api/personas/${persona.id}/favourite`, { token });
    expect(off.body).toEqual({ isFavourite: false });
    expect(await listAllPersonas(token, "favouritesOnly=true")).toEqual([]);

    const audits = await withDb((db) =>
      db
        .select({ type: auditEvents.eventType, actor: auditEvents.actorUserId, ws: auditEvents.workspaceId })
        .from(auditEvents)
        .where(eq(auditEvents.targetId, persona.id))
        .orderBy(auditEvents.createdAt),
    );
    expect(audits).toEqual([
      { type: "PERSONA_FAVOURITED", actor: tenant.member.id, ws: tenant.workspace.id },
      { type: "PERSONA_UNFAVOURITED", actor: tenant.member.id, ws: tenant.workspace.id },
    ]);
  });

  it("hides a favourite whose persona was deactivated, and refuses to favourite it (404)", async () => {
    const { tenant, token } = await setup();
    const persona = await createPersonaRow({ workspaceId: tenant.workspace.id });
    await api("POST", `/api/personas/${persona.id}/favourite`, { token });
    const { accessToken: adminToken } = await signIn(tenant.admin);
    const deleted = await api("DELETE", `/api/personas/${persona.id}`, { token: adminToken });
    expect(deleted.status, describeResponse(deleted)).toBe(204);
    expect(await listAllPersonas(token, "favouritesOnly=true")).toEqual([]);
    const res = await api("POST", `/api/personas/${persona.id}/favourite`, { token });
    expect(res.status, describeResponse(res)).toBe(404);
  });

  it("answers another workspace's persona with 404 and stores nothing", async () => {
    const { tenant, token } = await setup();
    const other = await createTenant();
    const foreign = await createPersonaRow({ workspaceId: other.workspace.id });
    const res = await api("POST", `/api/personas/${foreign.id}/favourite`, { token });
    expect(res.status, describeResponse(res)).toBe(404);
    const rows = await withDb((db) =>
      db
        .select()
        .from(personaFavourites)
        .where(
          and(eq(personaFavourites.personaId, foreign.id), eq(personaFavourites.userId, tenant.member.id)),
        ),
    );
    expect(rows).toEqual([]);
  });
});
