import { env } from "cloudflare:test";
import { and, eq, inArray, sql } from "drizzle-orm";
import { decodeProtectedHeader } from "jose";
import { describe, expect, it } from "vitest";
import { decrypt } from "../../src/core/crypto";
import { createDb, type Database } from "../../src/db/client";
import { auditEvents, signingKeys } from "../../src/db/schema";
import { loadConfig } from "../../src/env";
import { verifyAccessToken } from "../../src/modules/auth/access-token";
import {
  ensureSigningKeys,
  isRotationDue,
  PREVIOUS_KEY_GRACE_SECONDS,
  rotateSigningKeys,
} from "../../src/modules/auth/signing-keys.service";
import { platformAdmin, signIn } from "../helpers/auth";
import { withDb } from "../helpers/db";
import { testDeps, withDeps } from "../helpers/deps";
import { createTenant, unique } from "../helpers/factories";
import { api, describeResponse } from "../helpers/request";

const JWKS_PATHS = ["/api/auth/.well-known/jwks.json", "/.well-known/jwks.json"];
const PUBLIC_MEMBERS = ["alg", "e", "kid", "kty", "n", "use"];

/** The shared table's keys by status (this file is the only one that rotates them). */
async function keysByStatus(db: Database) {
  const rows = await db
    .select({ kid: signingKeys.kid, status: signingKeys.status, retireAfter: signingKeys.retireAfter })
    .from(signingKeys)
    .where(inArray(signingKeys.status, ["CURRENT", "NEXT", "PREVIOUS"]));
  return {
    current: rows.filter((r) => r.status === "CURRENT"),
    next: rows.filter((r) => r.status === "NEXT"),
    previous: rows.filter((r) => r.status === "PREVIOUS"),
  };
}

/**
 * Runs `fn` against a private copy of `signing_keys` in a throwaway schema, so bootstrap races and due
 * checks can start from an empty table without touching the keys every other test file signs with.
 * `deps()` makes a Deps whose connection resolves `signing_keys` to the copy (and audit_events to public).
 */
async function withPrivateKeyTable<T>(
  fn: (ctx: { deps: () => ReturnType<typeof testDeps>; schema: string }) => Promise<T>,
): Promise<T> {
  const schema = `sk_${unique("t").replaceAll("-", "_")}`;
  await withDb(async (db) => {
    await db.execute(sql.raw(`CREATE SCHEMA ${schema}`));
    await db.execute(sql.raw(`CREATE TABLE ${schema}.signing_keys (LIKE public.signing_keys INCLUDING ALL)`));
  });
  const url = new URL(env.TEST_DATABASE_URL);
  // A start-up option (node-postgres passes `options` on; a bare `search_path` parameter it would drop).
  url.searchParams.set("options", `-c search_path=${schema},public`);
  const opened: ReturnType<typeof testDeps>[] = [];
  try {
    return await fn({
      schema,
      deps: () => {
        const deps = testDeps();
        const handle = createDb(url.toString());
        const scoped = {
          ...deps,
          db: handle.db,
          close: async () => {
            await deps.close();
            await handle.close();
          },
        };
        opened.push(scoped);
        return scoped;
      },
    });
  } finally {
    await Promise.all(opened.map((d) => d.close()));
    await withDb((db) => db.execute(sql.raw(`DROP SCHEMA ${schema} CASCADE`)));
  }
}

describe("GET /api/auth/.well-known/jwks.json and GET /.well-known/jwks.json", () => {
  it("publishes the CURRENT and NEXT keys at both paths, public members only, cacheable for 5 minutes", async () => {
    // Make sure keys exist (a fresh database bootstraps on first use).
    await api("GET", JWKS_PATHS[0] as string);
    const { current, next } = await withDb(keysByStatus);
    expect(current).toHaveLength(1);
    expect(next).toHaveLength(1);

    for (const path of JWKS_PATHS) {
      const res = await api("GET", path);
      expect(res.status, describeResponse(res)).toBe(200);
      expect(res.headers.get("Cache-Control")).toBe("public, max-age=300");
      const kids = res.body.keys.map((k: { kid: string }) => k.kid);
      expect(kids).toContain(current[0]?.kid);
      expect(kids).toContain(next[0]?.kid);
      for (const key of res.body.keys) {
        expect(Object.keys(key).sort(), path).toEqual(PUBLIC_MEMBERS);
        expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
      }
      expect(res.text).not.toMatch(/"(d|p|q|dp|dq|qi)":/);
    }
  });

  it("documents both paths in the OpenAPI document", async () => {
    const res = await api("GET", "/docs/openapi.json");
    expect(res.body.paths["/api/auth/.well-known/jwks.json"].get.operationId).toBe("getJwks");
    expect(res.body.paths["/.well-known/jwks.json"].get.operationId).toBe("getRootJwks");
    expect(res.body.paths["/api/auth/rotate-keys"].post.security).toEqual([{ bearerAuth: [] }]);
  });
});

describe("signing key storage", () => {
  it("stores private keys encrypted (v1:, bound to the kid), never in clear", async () => {
    await api("GET", JWKS_PATHS[0] as string);
    const rows = await withDb((db) => db.select().from(signingKeys));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    const config = loadConfig(env);
    for (const row of rows.filter((r) => r.status === "CURRENT" || r.status === "NEXT")) {
      expect(row.privateJwkEncrypted.startsWith("v1:")).toBe(true);
      expect(row.privateJwkEncrypted).not.toContain('"d":');
      expect(Object.keys(row.publicJwk)).not.toContain("d");
      const privateJwk = JSON.parse(
        await decrypt(config.ENCRYPTION_KEY, "signing-key", row.privateJwkEncrypted, row.kid),
      );
      expect(privateJwk.d).toEqual(expect.any(String));
      expect(privateJwk.n).toBe(row.publicJwk.n);
      // The kid is bound as additional data: the ciphertext does not open under another row's id.
      await expect(
        decrypt(config.ENCRYPTION_KEY, "signing-key", row.privateJwkEncrypted, "another-kid"),
      ).rejects.toThrow();
    }
  });
});

describe("ensureSigningKeys (bootstrap)", () => {
  it("ends with exactly one CURRENT and one NEXT when several isolates bootstrap an empty table at once", async () => {
    await withPrivateKeyTable(async ({ deps }) => {
      // Separate clients, so the calls really race on separate connections.
      const results = await Promise.all(Array.from({ length: 6 }, () => ensureSigningKeys(deps())));
      const check = deps();
      const rows = await check.db.select().from(signingKeys);
      expect(rows.filter((r) => r.status === "CURRENT")).toHaveLength(1);
      expect(rows.filter((r) => r.status === "NEXT")).toHaveLength(1);
      expect(rows).toHaveLength(2);
      const current = rows.find((r) => r.status === "CURRENT");
      expect(current?.activatedAt).toBeInstanceOf(Date);
      // Every caller saw the winners, whoever inserted them.
      for (const result of results) {
        expect(result.find((r) => r.status === "CURRENT")?.kid).toBe(current?.kid);
      }
    });
  });

  it("keeps the shared table at one CURRENT and one NEXT after parallel calls", async () => {
    const handles = Array.from({ length: 4 }, () => testDeps());
    try {
      await Promise.all(handles.map((deps) => ensureSigningKeys(deps)));
    } finally {
      await Promise.all(handles.map((deps) => deps.close()));
    }
    const { current, next } = await withDb(keysByStatus);
    expect(current).toHaveLength(1);
    expect(next).toHaveLength(1);
  });
});

describe("isRotationDue", () => {
  it("is due once the CURRENT key is 30 days old", async () => {
    await withPrivateKeyTable(async ({ deps }) => {
      const d = deps();
      expect(await isRotationDue(d)).toBe(true); // no key at all yet
      await ensureSigningKeys(d);
      expect(await isRotationDue(d)).toBe(false);
      await d.db
        .update(signingKeys)
        .set({ activatedAt: sql`now() - interval '30 days 1 minute'` })
        .where(eq(signingKeys.status, "CURRENT"));
      expect(await isRotationDue(d)).toBe(true);
    });
  });
});

describe("rotateSigningKeys", () => {
  it("serialises concurrent rotations: both succeed, one CURRENT and one NEXT remain", async () => {
    await withPrivateKeyTable(async ({ deps }) => {
      await ensureSigningKeys(deps());
      const [a, b] = await Promise.all([rotateSigningKeys(deps(), null), rotateSigningKeys(deps(), null)]);
      expect(a?.currentKid).not.toBe(b?.currentKid);
      // The second rotation promoted the NEXT the first one created.
      const second = a && b && (b.previousKid === a.currentKid ? b : a);
      const first = second === a ? b : a;
      expect(second?.previousKid).toBe(first?.currentKid);
      const rows = await deps().db.select().from(signingKeys);
      expect(rows.filter((r) => r.status === "CURRENT")).toHaveLength(1);
      expect(rows.filter((r) => r.status === "NEXT")).toHaveLength(1);
      expect(rows.filter((r) => r.status === "PREVIOUS")).toHaveLength(2);
    });
  });

  it("retires PREVIOUS keys past retire_after and records a SYSTEM audit event", async () => {
    await withPrivateKeyTable(async ({ deps }) => {
      const d = deps();
      await ensureSigningKeys(d);
      const staleKid = unique("stale");
      await d.db.insert(signingKeys).values({
        kid: staleKid,
        publicJwk: { kty: "RSA", n: "AQAB", e: "AQAB", kid: staleKid, alg: "RS256", use: "sig" },
        privateJwkEncrypted: "v1:unused",
        status: "PREVIOUS",
        retireAfter: sql`now() - interval '1 minute'`,
      });
      const result = await rotateSigningKeys(d, null);
      const [stale] = await d.db.select().from(signingKeys).where(eq(signingKeys.kid, staleKid));
      expect(stale?.status).toBe("RETIRED");
      const [event] = await d.db
        .select()
        .from(auditEvents)
        .where(
          and(eq(auditEvents.eventType, "SIGNING_KEY_ROTATED"), eq(auditEvents.targetId, result.currentKid)),
        );
      expect(event).toMatchObject({ actorType: "SYSTEM", actorUserId: null, workspaceId: null });
      expect(event?.data).toMatchObject({ previousKid: result.previousKid, retiredKids: [staleKid] });
    });
  });
});

describe("rotateSigningKeys on an empty table", () => {
  it("bootstraps the pair, then rotates it", async () => {
    await withPrivateKeyTable(async ({ deps }) => {
      const d = deps();
      const result = await rotateSigningKeys(d, null);
      const rows = await d.db.select().from(signingKeys);
      expect(rows.map((r) => r.status).sort()).toEqual(["CURRENT", "NEXT", "PREVIOUS"]);
      expect(rows.find((r) => r.status === "CURRENT")?.kid).toBe(result.currentKid);
      expect(rows.find((r) => r.status === "PREVIOUS")?.kid).toBe(result.previousKid);
    });
  });
});

describe("POST /api/auth/rotate-keys", () => {
  it("answers 401 without a token", async () => {
    const res = await api("POST", "/api/auth/rotate-keys");
    expect(res.status, describeResponse(res)).toBe(401);
    expect(res.body.code).toBe("UNAUTHENTICATED");
    expect(res.headers.get("WWW-Authenticate")).toBe("Bearer");
  });

  it("answers 403 to a workspace admin who is not a platform admin, and rotates nothing", async () => {
    const { admin } = await createTenant();
    const { accessToken } = await signIn(admin);
    const before = await withDb(keysByStatus);
    const res = await api("POST", "/api/auth/rotate-keys", { token: accessToken });
    expect(res.status, describeResponse(res)).toBe(403);
    expect(res.body.code).toBe("FORBIDDEN");
    // The table lock and its reads travelled with the session check; nothing was written.
    expect(await withDb(keysByStatus)).toEqual(before);
  });

  it("rotates for a platform admin: NEXT → CURRENT, CURRENT → PREVIOUS (≥ 1 h), audited; old tokens stay valid", async () => {
    const admin = await platformAdmin();
    const { member } = await createTenant();
    const [adminSession, memberSession] = await Promise.all([signIn(admin), signIn(member)]);
    const before = await withDb(keysByStatus);

    const res = await api("POST", "/api/auth/rotate-keys", { token: adminSession.accessToken });
    expect(res.status, describeResponse(res)).toBe(200);
    expect(res.body).toEqual({ currentKid: before.next[0]?.kid, previousKid: before.current[0]?.kid });

    const after = await withDb(keysByStatus);
    expect(after.current.map((k) => k.kid)).toEqual([res.body.currentKid]);
    expect(after.next).toHaveLength(1);
    expect(after.next[0]?.kid).not.toBe(res.body.currentKid);
    const previous = after.previous.find((k) => k.kid === res.body.previousKid);
    expect(previous?.retireAfter?.getTime()).toBeGreaterThan(
      Date.now() + (PREVIOUS_KEY_GRACE_SECONDS - 60) * 1000,
    );
    expect(PREVIOUS_KEY_GRACE_SECONDS).toBeGreaterThanOrEqual(3600);

    const events = await withDb((db) =>
      db
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.eventType, "SIGNING_KEY_ROTATED"), eq(auditEvents.actorUserId, admin.id))),
    );
    const event = events.find((e) => e.targetId === res.body.currentKid);
    expect(event, JSON.stringify(events)).toMatchObject({ actorType: "USER", workspaceId: null });
    expect(event?.data).toMatchObject({ currentKid: res.body.currentKid, previousKid: res.body.previousKid });

    // JWKS now carries the new NEXT and the previous key at both paths.
    for (const path of JWKS_PATHS) {
      const jwks = await api("GET", path);
      const kids = jwks.body.keys.map((k: { kid: string }) => k.kid);
      expect(kids, path).toEqual(
        expect.arrayContaining([res.body.currentKid, res.body.previousKid, after.next[0]?.kid]),
      );
    }

    // Tokens signed before the rotation still verify, over HTTP and directly.
    const again = await api("POST", "/api/auth/rotate-keys", { token: adminSession.accessToken });
    expect(again.status, describeResponse(again)).toBe(200);
    const claims = await withDeps((deps) => verifyAccessToken(deps, memberSession.accessToken));
    expect(claims.userId).toBe(member.id);
    // Tokens signed after it verify too, whichever published key this isolate's cache signs with.
    const fresh = await signIn(member);
    const kid = decodeProtectedHeader(fresh.accessToken).kid;
    const published = await api("GET", JWKS_PATHS[0] as string);
    expect(published.body.keys.map((k: { kid: string }) => k.kid)).toContain(kid);
    const freshClaims = await withDeps((deps) => verifyAccessToken(deps, fresh.accessToken));
    expect(freshClaims.sessionId).toBe(fresh.sessionId);
  });
});
