import { env, SELF } from "cloudflare:test";
import { and, eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { auditEvents, users } from "../../src/db/schema";
import { AVATAR_MAX_BYTES, signedAvatarUrl } from "../../src/modules/users/avatar.service";
import { signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { testDeps } from "../helpers/deps";
import { createTenant, type TestUser } from "../helpers/factories";
import { type ApiResponse, api, BASE_URL, describeResponse } from "../helpers/request";

const fromBase64 = (b64: string) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));

/** Tiny but complete images, one per accepted type. */
const IMAGES = {
  "image/png": fromBase64(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
  ),
  "image/jpeg": fromBase64(
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////////" +
      "////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA=",
  ),
  "image/webp": fromBase64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA=="),
  "image/gif": fromBase64("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
} as const;
type ImageType = keyof typeof IMAGES;

type Caller = { user: TestUser; token: string; prefix: string };

async function caller(): Promise<Caller> {
  const { member } = await createTenant();
  const { accessToken } = await signIn(member);
  return { user: member, token: accessToken, prefix: `avatars/${member.workspaceId}/${member.id}/` };
}

const uploadRaw = (token: string, body: BodyInit, contentType = "application/octet-stream") =>
  api("POST", "/api/users/me/avatar", { token, rawBody: body, headers: { "Content-Type": contentType } });

function uploadMultipart(token: string, bytes: Uint8Array, declaredType = "image/png", field = "avatar") {
  const form = new FormData();
  form.append(field, new File([bytes], "avatar.bin", { type: declaredType }));
  return api("POST", "/api/users/me/avatar", { token, rawBody: form });
}

const objectsUnder = async (prefix: string) => (await env.FILES.list({ prefix })).objects.map((o) => o.key);
const avatarKeyOf = async (id: string) =>
  (await withDb((db) => db.select({ key: users.avatarKey }).from(users).where(eq(users.id, id))))[0]?.key;

/** GET a signed avatar URL through the Worker, keeping the raw bytes. */
async function fetchAvatar(url: string, headers: Record<string, string> = {}) {
  const res = await SELF.fetch(url, { headers });
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

function expectStored(res: ApiResponse) {
  expect(res.status, describeResponse(res)).toBe(200);
  expect(Object.keys(res.body)).toEqual(["avatarUrl"]);
  return res.body.avatarUrl as string;
}

describe("POST /api/users/me/avatar", () => {
  it.each(Object.keys(IMAGES) as ImageType[])(
    "stores a %s sent raw under avatars/<workspace>/<user>/<uuid> with the detected type",
    async (type) => {
      const me = await caller();
      const url = expectStored(await uploadRaw(me.token, IMAGES[type], "application/octet-stream"));
      expect(url).toMatch(new RegExp(`^${BASE_URL}/api/users/${me.user.id}/avatar\\?exp=\\d+&sig=[\\w-]+$`));

      const keys = await objectsUnder(me.prefix);
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(
        /^avatars\/[0-9a-f-]{36}\/[0-9a-f-]{36}\/[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-/,
      );
      expect(await avatarKeyOf(me.user.id)).toBe(keys[0]);
      const object = await env.FILES.get(keys[0] as string);
      expect(object?.httpMetadata?.contentType).toBe(type);
      expect(new Uint8Array(await (object as R2ObjectBody).arrayBuffer())).toEqual(IMAGES[type]);

      const served = await fetchAvatar(url);
      expect(served.status).toBe(200);
      expect(served.headers.get("Content-Type")).toBe(type);
      expect(served.bytes).toEqual(IMAGES[type]);
    },
  );

  it.each(Object.keys(IMAGES) as ImageType[])(
    "accepts a %s in the multipart field avatar whatever type it declares",
    async (type) => {
      const me = await caller();
      const url = expectStored(await uploadMultipart(me.token, IMAGES[type], "text/html"));
      const served = await fetchAvatar(url);
      expect(served.headers.get("Content-Type")).toBe(type);
      expect(served.bytes).toEqual(IMAGES[type]);
    },
  );

  it("records AVATAR_UPLOADED and GET /api/users/me then carries the same signed URL", async () => {
    const me = await caller();
    const url = expectStored(await uploadRaw(me.token, IMAGES["image/png"], "image/png"));
    const audits = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.targetId, me.user.id), eq(auditEvents.eventType, "AVATAR_UPLOADED"))),
    );
    expect(audits).toHaveLength(1);
    expect(audits[0]).toMatchObject({ workspaceId: me.user.workspaceId, actorUserId: me.user.id });
    expect(audits[0]?.data).toMatchObject({
      contentType: "image/png",
      sizeBytes: IMAGES["image/png"].length,
    });

    const first = await api("GET", "/api/users/me", { token: me.token });
    const second = await api("GET", "/api/users/me", { token: me.token });
    // Expiry rounded to the day: the URL is stable, so clients can cache the image.
    expect(first.body.avatarUrl).toBe(url);
    expect(second.body.avatarUrl).toBe(url);
  });

  it("replacing the avatar deletes the previous object and voids its URLs", async () => {
    const me = await caller();
    const oldUrl = expectStored(await uploadRaw(me.token, IMAGES["image/png"]));
    const [oldKey] = await objectsUnder(me.prefix);
    const newUrl = expectStored(await uploadMultipart(me.token, IMAGES["image/gif"]));

    const keys = await objectsUnder(me.prefix);
    expect(keys).toHaveLength(1);
    expect(keys[0]).not.toBe(oldKey);
    expect(await env.FILES.head(oldKey as string)).toBeNull();
    expect(await avatarKeyOf(me.user.id)).toBe(keys[0]);
    expect((await fetchAvatar(oldUrl)).status).toBe(404);
    const served = await fetchAvatar(newUrl);
    expect(served.status).toBe(200);
    expect(served.headers.get("Content-Type")).toBe("image/gif");
  });

  const oversized = () => {
    const bytes = new Uint8Array(AVATAR_MAX_BYTES + 1);
    bytes.set(IMAGES["image/png"]);
    return bytes;
  };

  it("413 for a raw body over 2 MB; nothing in R2, avatar unchanged", async () => {
    const me = await caller();
    const res = await uploadRaw(me.token, oversized(), "image/png");
    expect(res.status, describeResponse(res)).toBe(413);
    expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await objectsUnder(me.prefix)).toEqual([]);
    expect(await avatarKeyOf(me.user.id)).toBeNull();
  });

  it("413 for a multipart file over 2 MB; nothing in R2", async () => {
    const me = await caller();
    const res = await uploadMultipart(me.token, oversized());
    expect(res.status, describeResponse(res)).toBe(413);
    expect(res.body.code).toBe("PAYLOAD_TOO_LARGE");
    expect(await objectsUnder(me.prefix)).toEqual([]);
  });

  it("413 for a streamed body without Content-Length: the cap is counted while reading", async () => {
    const me = await caller();
    const chunk = new Uint8Array(256 * 1024);
    chunk.set(IMAGES["image/png"]);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 3 MB in 256 KB chunks, never announced up front.
        if (sent >= 12) return controller.close();
        sent += 1;
        controller.enqueue(sent === 1 ? chunk : new Uint8Array(256 * 1024));
      },
    });
    const res = await SELF.fetch(`${BASE_URL}/api/users/me/avatar`, {
      method: "POST",
      headers: { Authorization: `Bearer ${me.token}`, "Content-Type": "image/png" },
      body,
    });
    const text = await res.text();
    expect(res.status, text).toBe(413);
    expect(JSON.parse(text).code).toBe("PAYLOAD_TOO_LARGE");
    expect(await objectsUnder(me.prefix)).toEqual([]);
  });

  it("accepts exactly 2 MB", async () => {
    const me = await caller();
    const bytes = new Uint8Array(AVATAR_MAX_BYTES);
    bytes.set(IMAGES["image/png"]);
    expectStored(await uploadRaw(me.token, bytes, "image/png"));
    expect(await objectsUnder(me.prefix)).toHaveLength(1);
  });

  it.each([
    [
      "an SVG declared as image/png",
      new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>'),
      "image/png",
    ],
    [
      "HTML declared as image/gif",
      new TextEncoder().encode("<!doctype html><script>alert(1)</script>"),
      "image/gif",
    ],
    ["a PDF", new TextEncoder().encode("%PDF-1.7\n%âãÏÓ\n"), "application/pdf"],
    ["a truncated PNG signature", IMAGES["image/png"].slice(0, 6), "image/png"],
    ["RIFF that is not WebP", new TextEncoder().encode("RIFF\u0004\u0000\u0000\u0000WAVEfmt "), "image/webp"],
  ])("415 for %s (raw and multipart); nothing in R2", async (_label, bytes, declared) => {
    const me = await caller();
    const raw = await uploadRaw(me.token, bytes, declared);
    expect(raw.status, describeResponse(raw)).toBe(415);
    expect(raw.body.code).toBe("UNSUPPORTED_MEDIA_TYPE");
    const multipart = await uploadMultipart(me.token, bytes, declared);
    expect(multipart.status, describeResponse(multipart)).toBe(415);
    expect(await objectsUnder(me.prefix)).toEqual([]);
    expect(await avatarKeyOf(me.user.id)).toBeNull();
  });

  it("a refused upload keeps the current avatar and its object", async () => {
    const me = await caller();
    const url = expectStored(await uploadRaw(me.token, IMAGES["image/webp"]));
    const before = await objectsUnder(me.prefix);
    expect((await uploadRaw(me.token, new TextEncoder().encode("nope"))).status).toBe(415);
    expect((await uploadRaw(me.token, oversized())).status).toBe(413);
    expect(await objectsUnder(me.prefix)).toEqual(before);
    expect((await fetchAvatar(url)).status).toBe(200);
  });

  it("400 for an empty body or a multipart body without the avatar field", async () => {
    const me = await caller();
    const empty = await uploadRaw(me.token, new Uint8Array(0), "image/png");
    expect(empty.status, describeResponse(empty)).toBe(400);
    expect(empty.body.code).toBe("VALIDATION_FAILED");
    const wrongField = await uploadMultipart(me.token, IMAGES["image/png"], "image/png", "picture");
    expect(wrongField.status, describeResponse(wrongField)).toBe(400);
    expect(await objectsUnder(me.prefix)).toEqual([]);
  });

  it("401 without a token, and nothing stored", async () => {
    const res = await api("POST", "/api/users/me/avatar", { rawBody: IMAGES["image/png"] });
    expect(res.status, describeResponse(res)).toBe(401);
  });
});

describe("GET /api/users/{id}/avatar", () => {
  it("serves the image with ETag, private cache, nosniff and inline disposition; 304 on If-None-Match", async () => {
    const me = await caller();
    const url = expectStored(await uploadRaw(me.token, IMAGES["image/jpeg"]));
    const res = await fetchAvatar(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toBe("image/jpeg");
    expect(res.headers.get("Cache-Control")).toBe("private, max-age=86400");
    expect(res.headers.get("X-Content-Type-Options")).toBe("nosniff");
    expect(res.headers.get("Content-Disposition")).toBe("inline");
    const etag = res.headers.get("ETag");
    expect(etag).toMatch(/^"[^"]+"$/);
    const [key] = await objectsUnder(me.prefix);
    expect(etag).toBe((await env.FILES.head(key as string))?.httpEtag);

    const cached = await fetchAvatar(url, { "If-None-Match": etag as string });
    expect(cached.status).toBe(304);
    expect(cached.bytes).toHaveLength(0);
    expect(cached.headers.get("ETag")).toBe(etag);
    expect(cached.headers.get("Cache-Control")).toBe("private, max-age=86400");

    const weak = await fetchAvatar(url, { "If-None-Match": `"other", W/${etag}` });
    expect(weak.status).toBe(304);
    const stale = await fetchAvatar(url, { "If-None-Match": '"something-else"' });
    expect(stale.status).toBe(200);
    expect(stale.bytes).toEqual(IMAGES["image/jpeg"]);
  });

  it("needs no bearer token, and a bearer token does not replace the signature", async () => {
    const me = await caller();
    const url = expectStored(await uploadRaw(me.token, IMAGES["image/png"]));
    const bare = new URL(url);
    bare.search = "";
    const res = await SELF.fetch(bare, { headers: { Authorization: `Bearer ${me.token}` } });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe("NOT_FOUND");
  });

  it("404 for a tampered, truncated, missing or expired signature — one body for all", async () => {
    const me = await caller();
    const url = new URL(expectStored(await uploadRaw(me.token, IMAGES["image/png"])));
    const sig = url.searchParams.get("sig") as string;
    const exp = url.searchParams.get("exp") as string;
    const variant = (params: Record<string, string | null>) => {
      const u = new URL(url);
      for (const [k, v] of Object.entries(params))
        v === null ? u.searchParams.delete(k) : u.searchParams.set(k, v);
      return u.toString();
    };
    const flipped = `${sig.slice(0, -2)}${sig.endsWith("AA") ? "BB" : "AA"}`;

    const deps = testDeps();
    const expired = await signedAvatarUrl(
      deps,
      { id: me.user.id, avatarKey: (await avatarKeyOf(me.user.id)) as string },
      Date.now() - 9 * 86_400_000,
    );
    await deps.close();
    expect(Number(new URL(expired as string).searchParams.get("exp")) * 1000).toBeLessThan(Date.now());

    const refusals = [
      variant({ sig: flipped }),
      variant({ sig: sig.slice(0, 10) }),
      variant({ sig: null }),
      variant({ exp: null }),
      variant({ exp: String(Number(exp) + 86_400) }),
      variant({ exp: "abc" }),
      variant({ sig: "" }),
      expired as string,
    ];
    const bodies = [];
    for (const u of refusals) {
      const res = await api("GET", u);
      expect(res.status, `${u} → ${describeResponse(res)}`).toBe(404);
      const { traceId: _t, ...rest } = res.body;
      bodies.push(rest);
    }
    for (const body of bodies) expect(body).toEqual(bodies[0]);
  });

  it("another user's URL works only with its own signature", async () => {
    const alice = await caller();
    const bob = await caller();
    const aliceUrl = new URL(expectStored(await uploadRaw(alice.token, IMAGES["image/png"])));
    const bobUrl = new URL(expectStored(await uploadRaw(bob.token, IMAGES["image/gif"])));

    // Anyone holding Bob's URL gets Bob's avatar (the signature is the authorisation)…
    const bobs = await fetchAvatar(bobUrl.toString());
    expect(bobs.status).toBe(200);
    expect(bobs.bytes).toEqual(IMAGES["image/gif"]);
    // …but Alice's signature does not open Bob's id, nor Bob's Alice's.
    const swapped = new URL(bobUrl);
    swapped.search = aliceUrl.search;
    expect((await fetchAvatar(swapped.toString())).status).toBe(404);
    const swappedBack = new URL(aliceUrl);
    swappedBack.search = bobUrl.search;
    expect((await fetchAvatar(swappedBack.toString())).status).toBe(404);
  });

  it("404 for a user without an avatar, an unknown id and a non-UUID id", async () => {
    const me = await caller();
    const url = new URL(expectStored(await uploadRaw(me.token, IMAGES["image/png"])));
    const { member: noAvatar } = await createTenant();
    for (const id of [noAvatar.id, crypto.randomUUID(), "me", "not-a-uuid"]) {
      const res = await api("GET", `/api/users/${id}/avatar${url.search}`);
      expect(res.status, describeResponse(res)).toBe(404);
    }
  });
});
