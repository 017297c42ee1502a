import { env } from "cloudflare:test";
import { createDb, type Database } from "../../src/db/client";

/**
 * Runs `fn` with a fresh database client on the test Postgres and closes it afterwards (sockets cannot be
 * shared between workerd request contexts, so no client is kept at module scope).
 */
export async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const handle = createDb(env.TEST_DATABASE_URL);
  try {
    return await fn(handle.db);
  } finally {
    await handle.close();
  }
}
