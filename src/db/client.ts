/**
 * One postgres.js client per request over the HYPERDRIVE binding (STACK.md: sockets cannot outlive a request),
 * wrapped by drizzle. The client is instrumented to count statements and time them: the counts feed
 * `Server-Timing: db;dur=…`, the query-count tests and the benchmark's queries-per-request figures.
 */
import { drizzle, type PostgresJsDatabase } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import * as schema from "./schema";

export type Database = PostgresJsDatabase<typeof schema>;
/** What a transaction callback receives; services accept either. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Transaction;

export type QueryStats = { count: number; ms: number };
export type DbHandle = { db: Database; stats: QueryStats; close: () => Promise<void> };

/** Creates the request's client. No socket is opened until the first query. */
export function createDb(connectionString: string): DbHandle {
  const stats: QueryStats = { count: 0, ms: 0 };
  const sql = postgres(connectionString, {
    max: 3,
    // No type lookup on connect: one round trip less per request; the app uses no custom array types.
    fetch_types: false,
    connect_timeout: 5,
    onnotice: () => {},
  });
  const db = drizzle(instrument(sql, stats), { schema });
  return { db, stats, close: () => sql.end({ timeout: 1 }) };
}

type Sql = postgres.Sql;

/** Wraps `unsafe` (every drizzle statement), `begin` and `savepoint` so nested clients are counted too. */
function instrument<T extends Sql | postgres.TransactionSql>(sql: T, stats: QueryStats): T {
  return new Proxy(sql, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (property === "unsafe") {
        return (...args: Parameters<Sql["unsafe"]>) => timed(target.unsafe(...args), stats);
      }
      if (property === "begin" || property === "savepoint") {
        return (...args: unknown[]) => {
          const callback = args.pop() as (tx: postgres.TransactionSql) => unknown;
          return (value as (...a: unknown[]) => unknown).call(
            target,
            ...args,
            (tx: postgres.TransactionSql) => callback(instrument(tx, stats)),
          );
        };
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** Counts the statement and adds its round-trip time once it settles (postgres.js queries run on `then`). */
function timed<Q extends PromiseLike<unknown>>(query: Q, stats: QueryStats): Q {
  stats.count += 1;
  const then = query.then.bind(query);
  // biome-ignore lint/suspicious/noThenProperty: wrapping the thenable is the point — postgres.js runs on then().
  Object.defineProperty(query, "then", {
    value: (onFulfilled?: (v: unknown) => unknown, onRejected?: (e: unknown) => unknown) => {
      const started = performance.now();
      const settle = () => {
        stats.ms += performance.now() - started;
      };
      return then(
        (v) => {
          settle();
          return onFulfilled ? onFulfilled(v) : v;
        },
        (e) => {
          settle();
          if (onRejected) return onRejected(e);
          throw e;
        },
      );
    },
  });
  return query;
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_DESTROYED",
  "CONNECTION_ENDED",
]);

/**
 * True when the error means "the database cannot be reached" (→ 503 DATABASE_UNAVAILABLE), walking the
 * `cause` chain because drizzle wraps driver errors. SQLSTATE class 08 (connection exception), 57P01–03
 * (shutdown, cannot connect now) and 53300 (too many connections) count too.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      if (
        CONNECTION_ERROR_CODES.has(code) ||
        code.startsWith("08") ||
        /^57P0[123]$/.test(code) ||
        code === "53300"
      ) {
        return true;
      }
    }
    const message = (e as { message?: unknown }).message;
    if (
      typeof message === "string" &&
      // workerd's socket errors carry no code; "connection attempt failed" is local Hyperdrive with Postgres down.
      /connection refused|connection attempt failed|network connection lost|socket.*closed/i.test(message)
    ) {
      return true;
    }
  }
  return false;
}
