import { SELF } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { newId } from "../../src/core/ids";
import { auditEvents, type NewAuditEvent } from "../../src/db/schema";
import { AUDIT_EXPORT_BATCH, auditPageQuery } from "../../src/modules/audit/audit-events.service";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { createTenant, type Tenant } from "../helpers/factories";
import { explain, parentOfIndexScan } from "../helpers/plan";
import { type ApiResponse, api, BASE_URL, describeResponse } from "../helpers/request";

const PATH = "/api/admin/audit-events";
const EVENT_FIELDS = [
  "actorType",
  "actorUserId",
  "createdAt",
  "data",
  "id",
  "ip",
  "targetId",
  "targetType",
  "traceId",
  "type",
  "userAgent",
  "workspaceId",
];

type Seeded = { id: string; type: string; actor: string | null; at: string };

/**
 * Inserts events straight into the table with explicit timestamps (microsecond precision, some shared), so
 * ordering, ties and time filters are tested deterministically. Returns them newest first, the API's order.
 */
async function seed(workspaceId: string, specs: { type: string; actor?: string | null; at: string }[]) {
  const rows: (NewAuditEvent & { id: string })[] = specs.map((s) => ({
    id: newId(),
    workspaceId,
    actorUserId: s.actor ?? null,
    actorType: s.actor ? "USER" : "SYSTEM",
    eventType: s.type,
    targetType: "user",
    targetId: s.actor ?? undefined,
    data: { via: "test" },
    ip: "192.0.2.1",
    userAgent: "vitest",
    traceId: "trace",
    createdAt: sql`${s.at}::timestamptz` as unknown as Date,
  }));
  await withDb((db) => db.insert(auditEvents).values(rows));
  const seeded: Seeded[] = rows.map((r, i) => ({
    id: r.id,
    type: r.eventType,
    actor: r.actorUserId ?? null,
    at: specs[i]?.at as string,
  }));
  // created_at DESC, id DESC; timestamps here are fixed-width ISO strings, so string order is time order.
  return seeded.sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1));
}

async function adminOf(tenant: Tenant) {
  return (await signIn(tenant.admin)).accessToken;
}

const list = (token: string, query: Record<string, string | number> = {}) => {
  const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)]));
  return api("GET", `${PATH}${qs.size ? `?${qs}` : ""}`, { token });
};
/** The export's raw text (the shared `api` helper would try to parse application/x-ndjson as one JSON value). */
async function exportText(token: string, query: string) {
  const res = await SELF.fetch(`${BASE_URL}${PATH}?format=ndjson${query}`, {
    headers: { Authorization: `Bearer ${token}` },
  });
  return { status: res.status, text: new TextDecoder().decode(await res.arrayBuffer()) };
}
const lineIds = (text: string) =>
  text
    .trim()
    .split("\n")
    .map((line) => (JSON.parse(line) as { id: string }).id);

const ids = (res: ApiResponse) => (res.body.items as { id: string }[]).map((e) => e.id);

/** Walks every page and returns the ids in order, failing on any page error. */
async function walk(token: string, query: Record<string, string | number>) {
  const all: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 100; page++) {
    const res = await list(token, { ...query, ...(cursor ? { cursor } : {}) });
    expect(res.status, describeResponse(res)).toBe(200);
    all.push(...ids(res));
    cursor = res.body.nextCursor;
    if (!cursor) return all;
  }
  throw new Error("cursor never ended");
}

const T = (minute: number, micro = 0) =>
  `2026-01-10T10:${String(minute).padStart(2, "0")}:00.${String(micro).padStart(6, "0")}Z`;

describe("GET /api/admin/audit-events", () => {
  it("lists the workspace's events newest first with exactly the row's fields", async () => {
    const tenant = await createTenant();
    const seeded = await seed(tenant.workspace.id, [
      { type: "LOGIN_SUCCESS", actor: tenant.admin.id, at: T(1) },
      { type: "PROFILE_UPDATED", actor: tenant.member.id, at: T(2) },
      { type: "JOB_RUN", actor: null, at: T(3) },
    ]);
    const res = await list(await adminOf(tenant));
    expect(res.status, describeResponse(res)).toBe(200);
    expect(ids(res)).toEqual(seeded.map((s) => s.id));
    expect(res.body.nextCursor).toBeNull();
    for (const item of res.body.items) expect(Object.keys(item).sort()).toEqual(EVENT_FIELDS);
    expect(res.body.items[1]).toEqual({
      id: seeded[1]?.id,
      workspaceId: tenant.workspace.id,
      type: "PROFILE_UPDATED",
      actorType: "USER",
      actorUserId: tenant.member.id,
      targetType: "user",
      targetId: tenant.member.id,
      data: { via: "test" },
      ip: "192.0.2.1",
      userAgent: "vitest",
      traceId: "trace",
      createdAt: "2026-01-10T10:02:00.000Z",
    });
  });

  it("reads a page straight off the workspace index, newest first (EXPLAIN on 3,000 events)", async () => {
    const tenant = await createTenant();
    const specs = Array.from({ length: 3000 }, (_, i) => ({
      type: "LOGIN_SUCCESS",
      actor: tenant.member.id,
      at: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    }));
    for (let i = 0; i < specs.length; i += 1000) await seed(tenant.workspace.id, specs.slice(i, i + 1000));
    await withDb(async (db) => {
      await db.execute(sql`ANALYZE audit_events`);
      const query = auditPageQuery(db, tenant.workspace.id, {}, undefined, 51).getSQL();
      const { root, json } = await explain(db, query);
      expect(parentOfIndexScan(root, "audit_events_workspace_created_idx")?.["Node Type"], json).toBe(
        "Limit",
      );
    });
  });

  it("shows events the API itself recorded (PROFILE_UPDATED by a member)", async () => {
    const tenant = await createTenant();
    const memberToken = (await signIn(tenant.member)).accessToken;
    const put = await api("PUT", "/api/users/me", { token: memberToken, body: { name: "Renamed" } });
    expect(put.status, describeResponse(put)).toBe(200);
    const res = await list(await adminOf(tenant), { type: "PROFILE_UPDATED" });
    expect(res.body.items).toHaveLength(1);
    expect(res.body.items[0]).toMatchObject({
      actorUserId: tenant.member.id,
      data: { fields: ["name"] },
      ip: "0.0.0.0",
    });
  });

  it("filters by type, actor and a [from, to) time range, alone and combined", async () => {
    const tenant = await createTenant();
    const { admin, member } = tenant;
    const seeded = await seed(tenant.workspace.id, [
      { type: "LOGIN_SUCCESS", actor: admin.id, at: T(1) },
      { type: "LOGIN_SUCCESS", actor: member.id, at: T(2) },
      { type: "LOGIN_FAILED", actor: null, at: T(3) },
      { type: "PROFILE_UPDATED", actor: member.id, at: T(4) },
      { type: "LOGIN_SUCCESS", actor: member.id, at: T(5) },
    ]);
    const token = await adminOf(tenant);
    const expected = (pred: (s: Seeded) => boolean) => seeded.filter(pred).map((s) => s.id);

    expect(ids(await list(token, { type: "LOGIN_SUCCESS" }))).toEqual(
      expected((s) => s.type === "LOGIN_SUCCESS"),
    );
    expect(ids(await list(token, { actor: member.id }))).toEqual(expected((s) => s.actor === member.id));
    expect(ids(await list(token, { actor: member.id.toUpperCase() }))).toEqual(
      expected((s) => s.actor === member.id),
    );
    expect(ids(await list(token, { from: T(2), to: T(4) }))).toEqual(
      expected((s) => s.at >= T(2) && s.at < T(4)),
    );
    expect(ids(await list(token, { from: "2026-01-10T11:02:00+01:00" }))).toEqual(
      expected((s) => s.at >= T(2)),
    );
    expect(ids(await list(token, { type: "LOGIN_SUCCESS", actor: member.id, from: T(3) }))).toEqual(
      expected((s) => s.type === "LOGIN_SUCCESS" && s.actor === member.id && s.at >= T(3)),
    );
    expect(ids(await list(token, { type: "OAUTH_LINKED" }))).toEqual([]);
  });

  it("honours microseconds in from and to", async () => {
    const tenant = await createTenant();
    const seeded = await seed(tenant.workspace.id, [
      { type: "JOB_RUN", at: T(2, 0) },
      { type: "JOB_RUN", at: T(2, 5) },
      { type: "JOB_RUN", at: T(2, 9) },
    ]);
    const token = await adminOf(tenant);
    const res = await list(token, { from: T(2, 5), to: T(2, 9) });
    expect(ids(res), describeResponse(res)).toEqual(seeded.filter((s) => s.at === T(2, 5)).map((s) => s.id));
  });

  it("pages with the cursor without duplicates or gaps, ties on created_at included", async () => {
    const tenant = await createTenant();
    const specs = [];
    // 23 events: runs sharing one timestamp, and neighbours a microsecond apart (same millisecond).
    for (let i = 0; i < 23; i++)
      specs.push({ type: "LOGIN_SUCCESS", actor: tenant.member.id, at: T(i % 4, i % 3) });
    const seeded = await seed(tenant.workspace.id, specs);
    const token = await adminOf(tenant);
    for (const limit of [1, 5, 7, 23, 100]) {
      const walked = await walk(token, { limit });
      expect(walked, `limit ${limit}`).toEqual(seeded.map((s) => s.id));
    }
    const first = await list(token, { limit: 5 });
    expect(first.body.items).toHaveLength(5);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    // Filters apply on every page.
    const filtered = await walk(token, { limit: 4, from: T(1), to: T(3) });
    expect(filtered).toEqual(seeded.filter((s) => s.at >= T(1) && s.at < T(3)).map((s) => s.id));
  });

  it("defaults to 20 per page", async () => {
    const tenant = await createTenant();
    await seed(
      tenant.workspace.id,
      Array.from({ length: 21 }, (_, i) => ({ type: "JOB_RUN", at: T(i % 60) })),
    );
    const res = await list(await adminOf(tenant));
    expect(res.body.items).toHaveLength(20);
    expect(res.body.nextCursor).not.toBeNull();
  });

  it("never shows another workspace's events, whatever the filters", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const aEvents = await seed(a.workspace.id, [
      { type: "LOGIN_SUCCESS", actor: a.member.id, at: T(1) },
      { type: "PROFILE_UPDATED", actor: a.member.id, at: T(2) },
    ]);
    const bEvents = await seed(b.workspace.id, [{ type: "LOGIN_SUCCESS", actor: b.member.id, at: T(1) }]);
    const aToken = await adminOf(a);
    const bToken = await adminOf(b);

    expect(await walk(bToken, { limit: 1 })).toEqual(bEvents.map((e) => e.id));
    expect(ids(await list(bToken, { actor: a.member.id }))).toEqual([]);
    expect(ids(await list(bToken, { type: "PROFILE_UPDATED" }))).toEqual([]);
    expect(await walk(aToken, { limit: 1 })).toEqual(aEvents.map((e) => e.id));

    // A cursor taken from A's listing does not open A's trail to B.
    const aPage = await list(aToken, { limit: 1 });
    const crossed = await list(bToken, { cursor: aPage.body.nextCursor });
    expect(crossed.status, describeResponse(crossed)).toBe(200);
    expect(ids(crossed).every((id) => bEvents.some((e) => e.id === id))).toBe(true);

    // Platform events (no workspace) are not any workspace's.
    await withDb((db) =>
      db
        .insert(auditEvents)
        .values({ workspaceId: null, actorType: "SYSTEM", eventType: "SIGNING_KEY_ROTATED" }),
    );
    expect(ids(await list(aToken, { type: "SIGNING_KEY_ROTATED" }))).toEqual([]);

    // A x-workspace-id naming another workspace is the usual 404.
    const foreign = await api("GET", PATH, { token: aToken, headers: { "x-workspace-id": b.workspace.id } });
    expect(foreign.status, describeResponse(foreign)).toBe(404);
  });

  it("403 FORBIDDEN for a MEMBER, 401 without a token", async () => {
    const tenant = await createTenant();
    const member = await list((await signIn(tenant.member)).accessToken);
    expect(member.status, describeResponse(member)).toBe(403);
    expect(member.body.code).toBe("FORBIDDEN");
    const anonymous = await api("GET", PATH);
    expect(anonymous.status, describeResponse(anonymous)).toBe(401);
    const ndjson = await api("GET", `${PATH}?format=ndjson`, {
      token: (await signIn(tenant.member)).accessToken,
    });
    expect(ndjson.status, describeResponse(ndjson)).toBe(403);
  });

  it.each([
    ["limit", { limit: 0 }],
    ["limit", { limit: 101 }],
    ["limit", { limit: "ten" }],
    ["type", { type: "NOT_AN_EVENT" }],
    ["actor", { actor: "not-a-uuid" }],
    ["from", { from: "yesterday" }],
    ["to", { to: "2026-13-45" }],
    ["from", { from: T(5), to: T(1) }],
    ["cursor", { cursor: "garbage" }],
    ["cursor", { cursor: btoa(JSON.stringify({ t: "x", i: "y" })) }],
    ["format", { format: "csv" }],
    ["workspaceId", { workspaceId: "01936d1e-6b1a-7c3e-9a51-2f0d4c8b7a10" }],
  ])("400 VALIDATION_FAILED for a bad %s: %j", async (field, query) => {
    const tenant = await createTenant();
    const res = await list(await adminOf(tenant), query as Record<string, string>);
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(res.body.errors)).toContain(field);
  });
});

describe("GET /api/admin/audit-events?format=ndjson", () => {
  it(`streams the whole filtered trail (more than one ${AUDIT_EXPORT_BATCH}-row batch), one parseable event per line`, async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const base = Date.UTC(2026, 0, 1);
    const specs = Array.from({ length: 1200 }, (_, i) => ({
      type: i % 3 === 0 ? "LOGIN_FAILED" : "LOGIN_SUCCESS",
      actor: tenant.member.id,
      // Pairs share a timestamp so batch boundaries fall inside ties too.
      at: new Date(base + Math.floor(i / 2) * 1000).toISOString().replace("Z", "000Z"),
    }));
    const seeded = await seed(tenant.workspace.id, specs);
    await seed(other.workspace.id, [{ type: "LOGIN_SUCCESS", actor: other.member.id, at: T(1) }]);
    const token = await adminOf(tenant);

    const res = await SELF.fetch(`${BASE_URL}${PATH}?format=ndjson`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^application\/x-ndjson/);
    expect(res.headers.get("Content-Disposition")).toMatch(
      /^attachment; filename="audit-events-[\d-]+\.ndjson"$/,
    );
    expect(res.headers.get("Cache-Control")).toBe("no-store");

    // Read it as a stream, the way an exporter would.
    const reader = (res.body as ReadableStream<Uint8Array>).pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let chunks = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks += 1;
      text += value;
    }
    expect(text.endsWith("\n")).toBe(true);
    const lines = text.slice(0, -1).split("\n");
    expect(lines).toHaveLength(1200);
    const events = lines.map((line) => JSON.parse(line) as { id: string; workspaceId: string });
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(EVENT_FIELDS);
      expect(event.workspaceId).toBe(tenant.workspace.id);
    }
    expect(events.map((e) => e.id)).toEqual(seeded.map((s) => s.id));
    expect(new Set(events.map((e) => e.id)).size).toBe(1200);
    expect(chunks).toBeGreaterThanOrEqual(Math.ceil(1200 / AUDIT_EXPORT_BATCH));

    const from = specs[600]?.at as string;
    const filtered = await exportText(token, `&type=LOGIN_FAILED&from=${encodeURIComponent(from)}`);
    expect(filtered.status, filtered.text).toBe(200);
    expect(lineIds(filtered.text)).toEqual(
      seeded.filter((s) => s.type === "LOGIN_FAILED" && s.at >= from).map((s) => s.id),
    );
  });

  it("an empty trail is an empty body; limit and cursor are ignored", async () => {
    const tenant = await createTenant();
    const token = await adminOf(tenant);
    const empty = await exportText(token, "");
    expect(empty.status, empty.text).toBe(200);
    expect(empty.text).toBe("");

    const seeded = await seed(
      tenant.workspace.id,
      Array.from({ length: 3 }, (_, i) => ({ type: "JOB_RUN", at: T(i) })),
    );
    const page = await list(token, { limit: 1 });
    const res = await exportText(token, `&limit=1&cursor=${page.body.nextCursor}`);
    expect(lineIds(res.text)).toEqual(seeded.map((s) => s.id));
  });
});
