import { and, eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { hashToken } from "../../src/core/crypto";
import { users, userTokens } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { api, describeResponse, randomIp } from "../helpers/request";
import { exchange, googleIdentity, googleLogin, googleSignIn, sessionsOf, userByEmail } from "./support";

async function freshCode() {
  const identity = googleIdentity();
  const finished = await googleSignIn(identity);
  const code = finished.fragment.get("code");
  expect(code, finished.location).toBeTruthy();
  return { identity, code: code as string };
}

describe("POST /api/auth/oauth/exchange", () => {
  it("works once: a replayed one-time code is 400 INVALID_TOKEN and starts no second session", async () => {
    const { identity, code } = await freshCode();
    const first = await exchange(code);
    expect(first.status, describeResponse(first)).toBe(200);
    const replay = await exchange(code);
    expect(replay.status, describeResponse(replay)).toBe(400);
    expect(replay.body.code).toBe("INVALID_TOKEN");
    const user = await userByEmail(identity.email);
    expect(await sessionsOf(user?.id as string)).toHaveLength(1);
    // Stored as a hash only, marked used.
    const [row] = await withDb((db) =>
      db
        .select()
        .from(userTokens)
        .where(and(eq(userTokens.userId, user?.id as string), eq(userTokens.purpose, "OAUTH_CODE"))),
    );
    expect(row?.tokenHash).toBe(await hashToken(code));
    expect(row?.usedAt).not.toBeNull();
  });

  it("gives two concurrent exchanges of one code exactly one session", async () => {
    const { identity, code } = await freshCode();
    const results = await Promise.all([exchange(code), exchange(code)]);
    expect(results.map((r) => r.status).sort(), results.map(describeResponse).join("\n")).toEqual([200, 400]);
    const user = await userByEmail(identity.email);
    expect(await sessionsOf(user?.id as string)).toHaveLength(1);
  });

  it("refuses an expired code (60 s) and an unknown one", async () => {
    const { code } = await freshCode();
    const tokenHash = await hashToken(code);
    await withDb((db) =>
      db
        .update(userTokens)
        .set({ expiresAt: sql`now() - interval '1 second'` })
        .where(eq(userTokens.tokenHash, tokenHash)),
    );
    const expired = await exchange(code);
    expect(expired.status, describeResponse(expired)).toBe(400);
    expect(expired.body.code).toBe("INVALID_TOKEN");
    const unknown = await exchange("q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw");
    expect(unknown.status, describeResponse(unknown)).toBe(400);
    expect(unknown.body.code).toBe("INVALID_TOKEN");
  });

  it("issues codes that expire 60 seconds after the callback", async () => {
    const { identity } = await freshCode();
    const user = await userByEmail(identity.email);
    const [row] = await withDb((db) =>
      db
        .select({ ttl: sql<number>`extract(epoch from ${userTokens.expiresAt} - ${userTokens.createdAt})` })
        .from(userTokens)
        .where(eq(userTokens.userId, user?.id as string)),
    );
    expect(Number(row?.ttl)).toBeCloseTo(60, 0);
  });

  it("refuses (and spends) the code of an account deactivated since the callback", async () => {
    const { identity, code } = await freshCode();
    const user = await userByEmail(identity.email);
    await withDb((db) =>
      db
        .update(users)
        .set({ status: "DEACTIVATED" })
        .where(eq(users.id, user?.id as string)),
    );
    const res = await exchange(code);
    expect(res.status, describeResponse(res)).toBe(403);
    expect(res.body.code).toBe("ACCOUNT_DEACTIVATED");
    await withDb((db) =>
      db
        .update(users)
        .set({ status: "ACTIVE" })
        .where(eq(users.id, user?.id as string)),
    );
    const again = await exchange(code);
    expect(again.status, describeResponse(again)).toBe(400);
    expect(await sessionsOf(user?.id as string)).toHaveLength(0);
  });

  it("takes a strict body", async () => {
    const res = await api("POST", "/api/auth/oauth/exchange", {
      body: { code: "q3V9mJx0cF4bWb3nT7kR1aLs2dPq8uVz6yXh5gE0iOw", extra: true },
      headers: { "CF-Connecting-IP": randomIp() },
    });
    expect(res.status, describeResponse(res)).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });

  it("returns the same login response shape as a password login", async () => {
    const res = await googleLogin(googleIdentity());
    expect(Object.keys(res.body).sort()).toEqual(
      ["accessToken", "expiresIn", "refreshToken", "tokenType", "user", "workspace"].sort(),
    );
  });
});
