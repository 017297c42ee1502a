/**
 * The one keyset-cursor codec of every paged list (conversations, audit events, personas, deliveries,
 * members). A cursor is opaque to clients: base64url of `{k, i, s?}`, the last row's sort key as text, the id
 * that breaks ties, and the sort order it was made for when a list has several. The next page is the rows
 * after `(k, i)` in the list's order: no OFFSET, so a page costs the same wherever it is.
 *
 * A timestamp key travels as Postgres formats it with microseconds (`cursorTimeText`): a JS Date would drop
 * them and repeat or skip rows that share a millisecond.
 */
import { type SQL, type SQLWrapper, sql } from "drizzle-orm";
import { base64url } from "jose";
import { ApiError } from "./errors";
import { isUuid } from "./ids";

/** `k`: the sort key as text; `i`: the id that breaks ties (lower case); `s`: the sort order, when a list has several. */
export type Cursor = { k: string; i: string; s?: string };

/** What a list's sort key is: a timestamp (checked to be one, cast with `::timestamptz`) or text. */
export type CursorKey = "timestamp" | "text";

/** The longest text key accepted back (a name or an email is far shorter). */
const MAX_KEY_LENGTH = 1000;
const CURSOR_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** A timestamp column as the cursor carries it: UTC, ISO, six fractional digits (exactly `CURSOR_TIMESTAMP`). */
export const cursorTimeText = (column: SQLWrapper): SQL<string> =>
  sql<string>`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export const encodeCursor = (cursor: Cursor): string => base64url.encode(JSON.stringify(cursor));

const invalidCursor = (message: string) =>
  new ApiError("VALIDATION_FAILED", "The request is invalid.", {
    errors: [{ path: "query.cursor", message }],
  });

/** The exact form `cursorTimeText` writes, and a real date (a forged 02-30 would make Postgres fail the cast). */
function isCursorTimestamp(value: string): boolean {
  if (!CURSOR_TIMESTAMP.test(value)) return false;
  const millis = new Date(`${value.slice(0, 23)}Z`);
  return !Number.isNaN(millis.getTime()) && millis.toISOString().slice(0, 23) === value.slice(0, 23);
}

/**
 * Cursors handed out before this codec existed, so a client paging across a deploy is not refused:
 * `{t, i}` (conversations, audit events) and `[key, id]` (personas, deliveries). Remove after 2027-01-31.
 */
function fromLegacy(parsed: unknown): unknown {
  if (Array.isArray(parsed) && parsed.length === 2) return { k: parsed[0], i: parsed[1] };
  if (typeof parsed === "object" && parsed !== null && "t" in parsed && !("k" in parsed)) {
    const { t, ...rest } = parsed as { t: unknown };
    return { ...rest, k: t };
  }
  return parsed;
}

/**
 * Parses a cursor made by `encodeCursor` for this list: its key of the given kind and, when the list has
 * several orders, the same `sort`. Anything else is 400 VALIDATION_FAILED on `query.cursor`, before any SQL.
 */
export function decodeCursor(value: string, list: { key: CursorKey; sort?: string }): Cursor {
  let parsed: unknown;
  try {
    parsed = fromLegacy(
      JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(value))),
    );
  } catch {
    throw invalidCursor("not a cursor of this list");
  }
  const cursor = parsed as Partial<Cursor> | null;
  if (
    typeof cursor !== "object" ||
    cursor === null ||
    typeof cursor.k !== "string" ||
    cursor.k.length > MAX_KEY_LENGTH ||
    (list.key === "timestamp" && !isCursorTimestamp(cursor.k)) ||
    typeof cursor.i !== "string" ||
    !isUuid(cursor.i)
  ) {
    throw invalidCursor("not a cursor of this list");
  }
  if (cursor.s !== list.sort) throw invalidCursor("the cursor belongs to another sort order");
  return { k: cursor.k, i: cursor.i.toLowerCase(), ...(list.sort ? { s: list.sort } : {}) };
}

/**
 * The next page of `rows` fetched with `limit + 1`: the first `limit` rows and the cursor after the last of
 * them, or null when there is nothing after.
 */
export function pageOf<Row>(
  rows: Row[],
  limit: number,
  cursorAfter: (last: Row) => Cursor,
): { page: Row[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    nextCursor: rows.length > limit && last !== undefined ? encodeCursor(cursorAfter(last)) : null,
  };
}
