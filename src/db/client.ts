/**
 * The request's database: ONE node-postgres connection over the HYPERDRIVE binding (sockets cannot outlive a
 * request), in pipeline mode, wrapped by drizzle. Round trips are the unit of latency at the edge (README
 * "Round trips"), so this client is built to spend as few as possible:
 *
 * - node-postgres sends each statement as one flight (Parse/Bind/Describe/Execute/Sync), with no describe
 *   round trip first, and in pipeline mode it writes statements issued together without waiting for each
 *   other's answers: `Promise.all([a, b])` is one round trip. postgres.js waited for Parse/Describe before
 *   Bind/Execute on every fresh connection and stopped pipelining there (measured in README "Driver").
 * - A transaction holds its connection: statements from outside it go to another connection instead of
 *   slipping into it. Its BEGIN is written together with its first statement, not awaited on its own.
 *
 * The client counts statements and round trips and times them (QueryStats): they feed `Server-Timing`, the
 * request log, the round-trip tests and the benchmark's queries-per-request figures.
 */
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import pg from "pg";
import * as schema from "./schema";

export type Database = NodePgDatabase<typeof schema>;
/** What a transaction callback receives; services accept either. */
export type Transaction = Parameters<Parameters<Database["transaction"]>[0]>[0];
export type DbOrTx = Database | Transaction;

/**
 * `count`: the app's statements (BEGIN/COMMIT not included). `roundTrips`: flights written to the database —
 * a statement starts a new one unless it is written while the connection's earlier statements are all still
 * unanswered (pipelined behind them); summed over connections. The bench's wire count (a proxy) is the
 * reference; this one lets tests assert it.
 */
export type QueryStats = { count: number; ms: number; roundTrips: number };
export type DbHandle = {
  db: Database;
  stats: QueryStats;
  close: () => Promise<void>;
  /**
   * Until `check` resolves, this request commits nothing: every COMMIT waits for it, and so does every
   * statement outside a transaction (autocommit would commit it). A rejected check fails them with its error,
   * and the transactions roll back. Statements inside a transaction go out at once, so a write route's BEGIN
   * and first statement travel in the session check's flight (`requireAuthForWrite`). The check must
   * already be in flight when this is called: a statement it is waiting for would otherwise wait for itself.
   */
  holdCommitsUntil: (check: () => Promise<unknown>) => void;
  /**
   * The same connections for statements that carry the session check in their own SQL (a `guard` CTE every
   * change depends on): they skip the commit hold, so such a write autocommits in the check's flight (one
   * round trip). Only `guardedStatement` (middleware/guarded-write.ts) may use it; never a transaction.
   */
  selfGuarded: Database;
};

/** Creates the request's client. No socket is opened until the first query. */
export function createDb(connectionString: string): DbHandle {
  const stats: QueryStats = { count: 0, ms: 0, roundTrips: 0 };
  const connection = new RequestPool(connectionString, stats);
  const db = drizzle({ client: connection as unknown as pg.Pool, schema });
  // Not a "Pool" by name: drizzle then sends everything through `query` (no `connect()` for transactions).
  const unheld: Queryable = {
    query: (config, values) => {
      if (CONTROL.test(config.text)) throw new Error("selfGuarded: no transactions");
      return connection.queryUnheld(config, values);
    },
  };
  return {
    db,
    stats,
    close: () => connection.end(),
    holdCommitsUntil: (check) => connection.holdCommitsUntil(check),
    selfGuarded: drizzle({ client: unheld as unknown as pg.Client, schema }),
  };
}

type QueryConfig = { text: string; values?: unknown[] } & Record<string, unknown>;
type Result = pg.QueryResult<Record<string, unknown>>;
type Queryable = { query: (config: QueryConfig, values?: unknown[]) => Promise<Result> };

/** Statements of transaction control: not counted as the app's statements (postgres.js never counted them). */
const CONTROL = /^\s*(begin|commit|rollback|savepoint|release)\b/i;

/** At most this many connections per request (postgres.js had `max: 3`); normally one is used. */
const MAX_CONNECTIONS = 3;

type Connection = {
  client: pg.Client;
  /** Settles once the start-up is done; rejects with the reason it failed. */
  connecting: Promise<void> | null;
  connected: boolean;
  held: boolean;
  /** Statements written and not yet answered, and whether an answer arrived since the last write. */
  unanswered: number;
  answeredSinceWrite: boolean;
};

/**
 * What drizzle's node-postgres session sees as its "pool": `query` for plain statements, `connect()` for a
 * transaction (drizzle recognises a pool by a constructor name containing "Pool"). Everything runs on the
 * first connection, pipelined, except while a transaction holds it: then statements from outside the
 * transaction (a key-set read inside a sign-in's transaction, say) go to a second connection instead of
 * slipping into the transaction or waiting for it (which would deadlock).
 */
class RequestPool {
  private readonly connections: Connection[] = [];
  private waiters: Array<() => void> = [];
  private commitCheck: (() => Promise<unknown>) | null = null;

  constructor(
    private readonly connectionString: string,
    private readonly stats: QueryStats,
  ) {}

  holdCommitsUntil(check: () => Promise<unknown>): void {
    if (!this.connections.some((connection) => connection.unanswered > 0)) {
      throw new Error("holdCommitsUntil: the check's own statement is not in flight yet");
    }
    this.commitCheck = check;
  }

  /** Resolves once the held check passed (at once when there is none); rejects with its error. */
  private async committable(): Promise<void> {
    const check = this.commitCheck;
    if (!check) return;
    await check();
    if (this.commitCheck === check) this.commitCheck = null;
  }

  query(config: QueryConfig, values?: unknown[]): Promise<Result> {
    if (this.commitCheck) return this.committable().then(() => this.query(config, values));
    return this.queryUnheld(config, values);
  }

  /** A statement that carries its own session guard (DbHandle.selfGuarded): written at once. */
  queryUnheld(config: QueryConfig, values?: unknown[]): Promise<Result> {
    const connection = this.free();
    if (!connection) return this.released().then(() => this.queryUnheld(config, values));
    return this.send(connection, config, values);
  }

  async connect(): Promise<Queryable & { release: () => void }> {
    for (;;) {
      const connection = this.free();
      if (connection) {
        connection.held = true;
        return new TransactionConnection(
          (config, values) => this.send(connection, config, values),
          () => this.committable(),
          () => {
            connection.held = false;
            for (const wake of this.waiters.splice(0)) wake();
          },
        );
      }
      await this.released();
    }
  }

  async end(): Promise<void> {
    await Promise.all(
      this.connections.map(async ({ client, connecting }) => {
        if (
          !connecting ||
          !(await connecting.then(
            () => true,
            () => false,
          ))
        )
          return;
        // A connection that never came up (or broke) has nothing to say goodbye to: do not wait long on it.
        await Promise.race([client.end(), new Promise((resolve) => setTimeout(resolve, 1000))]);
      }),
    );
  }

  /** The first connection no transaction holds, opened on demand (up to MAX_CONNECTIONS). */
  private free(): Connection | undefined {
    const idle = this.connections.find((connection) => !connection.held);
    if (idle || this.connections.length >= MAX_CONNECTIONS) return idle;
    const client = new pg.Client({
      connectionString: this.connectionString,
      pipeline: true,
      connectionTimeoutMillis: 5000,
    });
    // A broken socket also surfaces as an 'error' event, which would throw if nobody listened; the queries
    // in flight reject with it anyway.
    client.on("error", () => {});
    const connection: Connection = {
      client,
      connecting: null,
      connected: false,
      held: false,
      unanswered: 0,
      answeredSinceWrite: false,
    };
    this.connections.push(connection);
    return connection;
  }

  private released(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Writes the statement now (pipelined behind any in flight); connects on first use. */
  private send(connection: Connection, config: QueryConfig, values?: unknown[]): Promise<Result> {
    connection.connecting ??= connection.client.connect().then(() => {
      connection.connected = true;
    });
    const counted = !CONTROL.test(config.text);
    if (counted) this.stats.count += 1;
    if (connection.unanswered === 0 || connection.answeredSinceWrite) this.stats.roundTrips += 1;
    connection.unanswered += 1;
    connection.answeredSinceWrite = false;
    const started = performance.now();
    const settle = () => {
      connection.unanswered -= 1;
      connection.answeredSinceWrite = true;
      if (counted) this.stats.ms += performance.now() - started;
    };
    const run = () => connection.client.query(config as pg.QueryConfig, values) as Promise<Result>;
    // Statements issued while connecting are written together once it is up (one flight); a failed start-up
    // rejects each of them with its reason.
    const query = connection.connected ? run() : connection.connecting.then(run);
    query.then(settle, settle);
    return query;
  }
}
Object.defineProperty(RequestPool, "name", { value: "RequestPool" }); // drizzle's check survives minifying

/**
 * The connection while a transaction holds it. BEGIN is answered at once and written with the next
 * statement (same flight); its real outcome is checked before COMMIT. A COMMIT that Postgres turned into a
 * ROLLBACK (a statement failed and the error was swallowed) is an error, never a silent loss.
 */
class TransactionConnection implements Queryable {
  private begin: Promise<Result> | null = null;

  /** The first statement of this transaction that failed: what a COMMIT answered with ROLLBACK is about. */
  private failure: unknown;
  /**
   * Set once COMMIT or ROLLBACK was asked for: a statement after it would autocommit outside the transaction
   * (and outside the commit hold) or slip into the connection's next one, so it is refused.
   */
  private ended = false;
  /** `lastStatements` to write right before COMMIT: how many statements each writes, and their settling. */
  private readonly last: Array<{
    issue: () => Promise<unknown>;
    statements: number;
    settle: (outcome: Promise<unknown>) => void;
  }> = [];
  /** Statements handed to the connection so far (to check that every last statement was written). */
  private written = 0;
  readonly release: () => void;

  constructor(
    private readonly send: (config: QueryConfig, values?: unknown[]) => Promise<Result>,
    private readonly committable: () => Promise<void>,
    release: () => void,
  ) {
    this.release = () => {
      this.ended = true;
      // Statements never written (the transaction rolled back first) resolve their callers' waits with that.
      for (const { settle } of this.last.splice(0)) {
        settle(Promise.reject(new Error("not run: the transaction ended without COMMIT")));
      }
      release();
    };
  }

  /** Queues `statements` statements, written by `issue`, to go with COMMIT; resolves with their results. */
  beforeCommit<T>(issue: () => Promise<T>, statements: number): Promise<T> {
    if (this.ended) return Promise.reject(new Error("a statement after its transaction ended"));
    return new Promise<T>((resolve) => {
      this.last.push({ issue, statements, settle: (outcome) => resolve(outcome as Promise<T>) });
    });
  }

  async query(config: QueryConfig, values?: unknown[]): Promise<Result> {
    const text = config.text.trim().toLowerCase();
    if (text === "rollback") {
      this.ended = true;
      return this.send(config, values);
    }
    if (this.ended) throw new Error("a statement after its transaction ended");
    if (this.begin === null && text.startsWith("begin")) {
      this.begin = this.send(config, values);
      this.begin.catch(() => {}); // observed below, at the first statement's end or at COMMIT
      return { command: "BEGIN", rowCount: null, rows: [], fields: [], oid: 0 };
    }
    if (text === "commit" || text === "end") {
      await this.begin;
      await this.committable(); // a refused check throws here: drizzle then sends ROLLBACK
      // The last statements, then COMMIT, written in the same tick: one flight.
      const writtenBefore = this.written;
      let expected = 0;
      for (const { issue, statements, settle } of this.last.splice(0)) {
        const outcome = issue();
        outcome.catch((error) => {
          this.failure ??= error;
        });
        settle(outcome);
        expected += statements;
      }
      this.ended = true;
      if (this.written - writtenBefore < expected) {
        // One failed before it reached the connection (a builder or a value that could not be encoded):
        // committing would keep the others without it, and callers need not await `.results`. drizzle
        // answers this with ROLLBACK.
        throw new Error("a statement meant for COMMIT was never written; rolling back");
      }
      const result = await this.send(config, values);
      if (result.command === "ROLLBACK") {
        throw new Error("the transaction was rolled back by Postgres", { cause: this.failure });
      }
      return result;
    }
    this.written += 1;
    const result = this.send(config, values);
    result.catch((error) => {
      this.failure ??= error;
    });
    if (this.begin) {
      // A failed BEGIN (connection lost) is the error to report, not the statement's consequence of it.
      result.catch(() => {});
      await this.begin;
    }
    return result;
  }
}

/**
 * Starts a statement now: drizzle builders are thenables that run only when `then` is called, and `await` or
 * `Promise.resolve` call it a tick later, too late to share a flight with what is written right after.
 */
export function issue<T>(statement: PromiseLike<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    statement.then(resolve, reject);
  });
}

/** What a transaction callback returns to end with `statements` written together with its COMMIT. */
export type LastStatements<T> = { readonly results: Promise<T> };

/**
 * The statements a transaction ends with, written in the same flight as its COMMIT (one round trip instead
 * of two): call `lastStatements(tx, [a, b])` last in the callback instead of awaiting them. Returning it
 * lets the caller await `.results` once the transaction resolved; they are queued either way. They are
 * written at COMMIT time, right before it, once the request's commit hold has passed (so the flight does not
 * depend on when that check answers), and not at all when the transaction rolls back. Only in the outermost
 * transaction's callback, never awaited inside it (they run at its COMMIT). If one fails, Postgres answers
 * the COMMIT with ROLLBACK and the transaction rejects, with that statement's error as the cause; one that
 * could not even be written (never reached the connection) rolls the transaction back too.
 */
export function lastStatements<const T extends readonly PromiseLike<unknown>[]>(
  tx: Transaction,
  statements: T,
): LastStatements<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  if (statements.some((statement) => statement instanceof Promise)) {
    // A promise (an async function's result) may still be awaiting something and write after COMMIT, outside
    // the transaction: only statements not yet started are accepted.
    throw new Error("lastStatements takes statements (query builders), not promises");
  }
  type Results = { -readonly [K in keyof T]: Awaited<T[K]> };
  // drizzle keeps the connection it was given on the transaction's session (`client`, not typed as public).
  const connection = (tx._.session as unknown as { client?: unknown }).client;
  const results = (
    connection instanceof TransactionConnection
      ? connection.beforeCommit(() => Promise.all(statements.map(issue)), statements.length)
      : Promise.all(statements.map(issue))
  ) as Promise<Results>; // not our client: written now, still before COMMIT
  results.catch(() => {}); // the COMMIT reports it
  return { results };
}

const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
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
      // workerd's socket errors carry no code; "connection attempt failed" is local Hyperdrive with Postgres
      // down; node-postgres reports a dropped or refused socket with the other messages.
      /connection refused|connection attempt failed|cannot connect to the specified address|network connection lost|socket.*closed|connection terminated|connection timeout|not queryable/i.test(
        message,
      )
    ) {
      return true;
    }
  }
  return false;
}
