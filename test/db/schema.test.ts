import { env } from "cloudflare:test";
import { eq, sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb, isDatabaseUnavailable } from "../../src/db/client";
import { conversations, messages, personas, users } from "../../src/db/schema";
import { withDb } from "../helpers/db";
import { createTenant, unique } from "../helpers/factories";

/** The SQLSTATE of a failed statement (drizzle wraps the driver error in `cause`). */
async function sqlState(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code;
  }
}

async function globalPersona() {
  const [persona] = await withDb((db) =>
    db
      .insert(personas)
      .values({
        slug: unique("p"),
        name: "Test Persona",
        webhookUrlEncrypted: "v1:x",
        webhookSecretEncrypted: "v1:y",
      })
      .returning(),
  );
  if (!persona) throw new Error("no persona");
  return persona;
}

describe("data model: tenancy is enforced by the database", () => {
  it("refuses a conversation in workspace A owned by a user of workspace B (composite FK)", async () => {
    const [a, b, persona] = await Promise.all([createTenant(), createTenant(), globalPersona()]);
    const state = await sqlState(
      withDb((db) =>
        db
          .insert(conversations)
          .values({ workspaceId: a.workspace.id, ownerId: b.member.id, personaId: persona.id }),
      ),
    );
    expect(state).toBe("23503");
  });

  it("refuses a message pointing at a parent in another conversation", async () => {
    const [a, persona] = await Promise.all([createTenant(), globalPersona()]);
    await withDb(async (db) => {
      const [c1, c2] = await db
        .insert(conversations)
        .values([
          { workspaceId: a.workspace.id, ownerId: a.member.id, personaId: persona.id },
          { workspaceId: a.workspace.id, ownerId: a.member.id, personaId: persona.id },
        ])
        .returning();
      const [root] = await db
        .insert(messages)
        .values({
          workspaceId: a.workspace.id,
          conversationId: c1?.id as string,
          role: "USER",
          authorId: a.member.id,
          content: "hi",
          status: "COMPLETE",
        })
        .returning();
      const state = await sqlState(
        db.insert(messages).values({
          workspaceId: a.workspace.id,
          conversationId: c2?.id as string,
          parentId: root?.id,
          role: "USER",
          authorId: a.member.id,
          content: "sneaky",
          status: "COMPLETE",
        }),
      );
      expect(state).toBe("23503");
    });
  });

  it("stores emails lower-case only", async () => {
    const a = await createTenant();
    const state = await sqlState(
      withDb((db) => db.update(users).set({ email: "Mixed@Case.test" }).where(eq(users.id, a.member.id))),
    );
    expect(state).toBe("23514");
  });
});

describe("db client instrumentation", () => {
  it("counts every statement, including those inside a transaction", async () => {
    const handle = createDb(env.TEST_DATABASE_URL);
    try {
      await handle.db.execute(sql`SELECT 1`);
      await handle.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT 2`);
        await tx.execute(sql`SELECT 3`);
      });
      expect(handle.stats.count).toBe(3);
      expect(handle.stats.ms).toBeGreaterThanOrEqual(0);
    } finally {
      await handle.close();
    }
  });

  it("recognises an unreachable database", async () => {
    const handle = createDb("postgres://postgres:postgres@127.0.0.1:1/none");
    let caught: unknown;
    try {
      await handle.db.execute(sql`SELECT 1`);
    } catch (error) {
      caught = error;
    }
    const chain = (e: unknown): string =>
      e instanceof Error
        ? `${e.message} [${(e as { code?: string }).code ?? ""}] ← ${chain(e.cause)}`
        : String(e);
    expect(isDatabaseUnavailable(caught), chain(caught)).toBe(true);
    expect(isDatabaseUnavailable(new Error("duplicate key"))).toBe(false);
  });

  it("recognises local Hyperdrive's refusal when Postgres is down (seen in npm run drill:db-outage)", () => {
    // drizzle's wrapper around workerd's socket error: no code, only this message.
    const wrapped = new Error("Failed query: select 1", { cause: new Error("connection attempt failed") });
    expect(isDatabaseUnavailable(wrapped)).toBe(true);
    const shuttingDown = Object.assign(new Error("the database system is shutting down"), { code: "57P03" });
    expect(isDatabaseUnavailable(new Error("Failed query", { cause: shuttingDown }))).toBe(true);
  });
});
