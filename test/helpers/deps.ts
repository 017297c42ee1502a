/**
 * Deps for calling services directly inside workerd tests, the way handlers call them with `depsFrom(c)`.
 */
import { env } from "cloudflare:test";
import type { Deps } from "../../src/core/deps";
import { createLogger } from "../../src/core/logger";
import { createDb } from "../../src/db/client";
import { loadConfig } from "../../src/env";

export type TestDeps = Deps & {
  /** Promises handed to `waitUntil` (awaited by `close`). */
  pending: Promise<unknown>[];
  /** Awaits the `waitUntil` work, then ends the database client. Always call it (or use `withDeps`). */
  close: () => Promise<void>;
};

/**
 * A Deps on the test Postgres with the test pool's config. Each call opens its own client (sockets cannot be
 * shared between workerd request contexts), so never keep one at module scope.
 *
 * @example
 * const deps = testDeps();
 * try { await someService(deps, input); } finally { await deps.close(); }
 */
export function testDeps(overrides: Partial<Deps> = {}): TestDeps {
  const handle = createDb(env.TEST_DATABASE_URL);
  const pending: Promise<unknown>[] = [];
  const traceId = crypto.randomUUID().replaceAll("-", "");
  const deps: Deps = {
    db: handle.db,
    config: loadConfig(env),
    env,
    log: createLogger("warn", { traceId }),
    waitUntil: (promise) => {
      pending.push(promise);
    },
    traceId,
    clientIp: "127.0.0.1",
    userAgent: "vitest",
    ...overrides,
  };
  return {
    ...deps,
    pending,
    close: async () => {
      await Promise.allSettled(pending);
      await handle.close();
    },
  };
}

/** Runs `fn` with fresh test Deps and closes them afterwards. */
export async function withDeps<T>(fn: (deps: TestDeps) => Promise<T>, overrides?: Partial<Deps>): Promise<T> {
  const deps = testDeps(overrides);
  try {
    return await fn(deps);
  } finally {
    await deps.close();
  }
}
