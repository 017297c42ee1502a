/**
 * The request's database client (src/db/client.ts) against the real test Postgres: pipelining and the
 * round-trip count, transactions holding their connection, and a COMMIT that Postgres turned into ROLLBACK.
 */
import { env } from "cloudflare:test";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb, type DbHandle, issue, lastStatements } from "../../src/db/client";
import { rawRows } from "../../src/db/raw";

async function withHandle<T>(fn: (handle: DbHandle) => Promise<T>): Promise<T> {
  const handle = createDb(env.TEST_DATABASE_URL);
  try {
    return await fn(handle);
  } finally {
    await handle.close();
  }
}

const backendPid = async (db: DbHandle["db"]) =>
  (await rawRows<{ pid: number }>(db, sql`SELECT pg_backend_pid() AS pid`))[0]?.pid;

describe("request database client", () => {
  it("writes statements issued together in one flight, and counts a new one after an answer", async () => {
    await withHandle(async ({ db, stats }) => {
      await Promise.all([
        rawRows(db, sql`SELECT 1 AS one`),
        rawRows(db, sql`SELECT 2 AS two`),
        rawRows(db, sql`SELECT 3 AS three`),
      ]);
      expect(stats).toMatchObject({ count: 3, roundTrips: 1 });
      await rawRows(db, sql`SELECT 4 AS four`);
      expect(stats).toMatchObject({ count: 4, roundTrips: 2 });
    });
  });

  it("sends BEGIN with the transaction's first statement and leaves BEGIN/COMMIT out of the statement count", async () => {
    await withHandle(async ({ db, stats }) => {
      await db.transaction(async (tx) => {
        await rawRows(tx, sql`SELECT 1 AS one`);
      });
      // BEGIN + SELECT in one flight, COMMIT in the next.
      expect(stats).toMatchObject({ count: 1, roundTrips: 2 });
    });
  });

  it("runs a statement from outside an open transaction on another connection, not inside it", async () => {
    await withHandle(async ({ db }) => {
      const [inside, outside] = await db.transaction(async (tx) => {
        await rawRows(tx, sql`CREATE TEMP TABLE client_probe (n int) ON COMMIT DROP`);
        const pids = await Promise.all([backendPid(tx), backendPid(db)]);
        // The outside statement cannot see the transaction's temp table: it is another session.
        const seen = await rawRows<{ n: number }>(
          db,
          sql`SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'client_probe'`,
        );
        expect(seen[0]?.n).toBe(0);
        return pids;
      });
      expect(inside).toBeTypeOf("number");
      expect(outside).not.toBe(inside);
      // Once the transaction is over, the first connection serves everything again.
      expect(await backendPid(db)).toBe(inside);
    });
  });

  it("throws at COMMIT when a failed statement's error was swallowed (Postgres rolled the transaction back)", async () => {
    await withHandle(async ({ db }) => {
      const marker = `client-test-${crypto.randomUUID()}`;
      await rawRows(db, sql`CREATE TEMP TABLE client_commit_probe (marker text PRIMARY KEY)`);
      const outcome = db.transaction(async (tx) => {
        await rawRows(tx, sql`INSERT INTO client_commit_probe VALUES (${marker})`);
        await rawRows(tx, sql`SELECT 1 / 0 AS boom`).catch(() => "swallowed");
      });
      const error = await outcome.then(
        () => null,
        (e: Error) => e,
      );
      // Drizzle wraps the client's error ("Failed query: commit"); the cause says what happened.
      expect(String((error?.cause as Error | undefined)?.message ?? error)).toMatch(/rolled back/);
      const rows = await rawRows(db, sql`SELECT marker FROM client_commit_probe WHERE marker = ${marker}`);
      expect(rows).toEqual([]);
    });
  });

  it("writes a transaction's last statements together with its COMMIT (one flight)", async () => {
    await withHandle(async ({ db, stats }) => {
      const marker = `client-test-${crypto.randomUUID()}`;
      await rawRows(db, sql`CREATE TEMP TABLE client_last_probe (marker text PRIMARY KEY)`);
      const before = stats.roundTrips;
      const outcome = await db.transaction(async (tx) => {
        await rawRows(tx, sql`SELECT 1 AS one`);
        return lastStatements(tx, [
          tx.execute(sql`INSERT INTO client_last_probe VALUES (${marker}) RETURNING marker`),
          tx.execute(sql`SELECT count(*)::int AS n FROM client_last_probe`),
        ]);
      });
      // BEGIN + SELECT, then INSERT + SELECT + COMMIT.
      expect(stats.roundTrips - before).toBe(2);
      const [inserted, counted] = await outcome.results;
      expect(inserted.rows).toEqual([{ marker }]);
      expect(counted.rows).toEqual([{ n: 1 }]);
      expect(await rawRows(db, sql`SELECT marker FROM client_last_probe`)).toEqual([{ marker }]);
    });
  });

  it("refuses a statement on a transaction that has ended (it would run outside it)", async () => {
    await withHandle(async ({ db }) => {
      let leaked: Parameters<Parameters<typeof db.transaction>[0]>[0] | undefined;
      await db.transaction(async (tx) => {
        leaked = tx;
        await rawRows(tx, sql`SELECT 1 AS one`);
      });
      if (!leaked) throw new Error("no transaction");
      const error = await rawRows(leaked, sql`SELECT 2 AS two`).then(
        () => null,
        (e: Error) => e,
      );
      expect(String((error?.cause as Error | undefined)?.message ?? error)).toMatch(
        /after its transaction ended/,
      );
    });
  });

  it("rejects the transaction with a failed last statement as the cause, and stores none of it", async () => {
    await withHandle(async ({ db }) => {
      const marker = `client-test-${crypto.randomUUID()}`;
      await rawRows(db, sql`CREATE TEMP TABLE client_last_fail (marker text PRIMARY KEY)`);
      const error = await db
        .transaction(async (tx) =>
          lastStatements(tx, [
            tx.execute(sql`INSERT INTO client_last_fail VALUES (${marker})`),
            tx.execute(sql`SELECT 1 / 0 AS boom`),
          ]),
        )
        .then(
          () => null,
          (e: Error) => e,
        );
      const codes: unknown[] = [];
      for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause)
        codes.push((e as { code?: unknown }).code);
      expect(codes).toContain("22012"); // division_by_zero, not just "rolled back"
      expect(await rawRows(db, sql`SELECT marker FROM client_last_fail`)).toEqual([]);
    });
  });

  it("rolls back when a last statement failed before it was written (nobody awaited its results)", async () => {
    await withHandle(async ({ db }) => {
      const marker = `client-test-${crypto.randomUUID()}`;
      await rawRows(db, sql`CREATE TEMP TABLE client_last_unwritten (marker text PRIMARY KEY)`);
      // What a builder that throws while building its query looks like to lastStatements: a statement that
      // rejects without ever reaching the connection.
      const unwritable: PromiseLike<never> = {
        // biome-ignore lint/suspicious/noThenProperty: a thenable is what is being simulated
        then: (_resolve, reject) => {
          reject?.(new Error("could not encode a value"));
          return Promise.resolve() as never;
        },
      };
      const error = await db
        .transaction(async (tx) => {
          lastStatements(tx, [
            tx.execute(sql`INSERT INTO client_last_unwritten VALUES (${marker})`),
            unwritable,
          ]);
        })
        .then(
          () => null,
          (e: Error) => e,
        );
      const messages: string[] = [];
      for (let e: unknown = error; e; e = (e as { cause?: unknown }).cause)
        messages.push(String((e as Error).message));
      expect(messages.join(" | ")).toMatch(/never written/);
      expect(await rawRows(db, sql`SELECT marker FROM client_last_unwritten`)).toEqual([]);
    });
  });

  it("holds COMMIT and autocommit statements until the check passes, and fails them with its error", async () => {
    const marker = `client-test-${crypto.randomUUID()}`;
    await withHandle(async (handle) => {
      const { db } = handle;
      await rawRows(db, sql`CREATE TABLE IF NOT EXISTS client_hold_probe (marker text PRIMARY KEY)`);
      // The check's own statement must be in flight already, else a held statement could wait for itself.
      expect(() => handle.holdCommitsUntil(async () => {})).toThrow(/not in flight/);
      const refusal = new Error("refused by the check");
      const check = issue(db.execute(sql`SELECT pg_sleep(0.05)`)); // written now, like the session check
      handle.holdCommitsUntil(() => check.then(() => Promise.reject(refusal)));
      const outcomes = await Promise.allSettled([
        db.transaction(async (tx) => {
          await rawRows(tx, sql`INSERT INTO client_hold_probe VALUES (${`${marker}-tx`})`);
        }),
        rawRows(db, sql`INSERT INTO client_hold_probe VALUES (${`${marker}-autocommit`})`),
      ]);
      for (const outcome of outcomes) {
        expect(outcome.status).toBe("rejected");
        const chain: unknown[] = [];
        for (let e = (outcome as PromiseRejectedResult).reason; e; e = (e as { cause?: unknown }).cause)
          chain.push(e);
        expect(chain).toContain(refusal);
      }
    });
    // Neither the transaction's row nor the autocommit one exists.
    await withHandle(async ({ db }) => {
      const rows = await rawRows(
        db,
        sql`SELECT marker FROM client_hold_probe WHERE marker LIKE ${`${marker}%`}`,
      );
      expect(rows).toEqual([]);
    });
  });

  it("rejects every statement issued while connecting when the start-up fails", async () => {
    const handle = createDb("postgres://nobody:wrong@127.0.0.1:1/none");
    const results = await Promise.allSettled([
      rawRows(handle.db, sql`SELECT 1`),
      rawRows(handle.db, sql`SELECT 2`),
    ]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    await handle.close();
  });
});
