import { type AnyColumn, type SQL, sql } from "drizzle-orm";

/**
 * `column DESC NULLS LAST` — the order drizzle builds `.desc()` indexes in. Drizzle's `desc()` renders plain
 * `DESC`, which Postgres reads as NULLS FIRST: no index matches it, so the planner sorts every matching row
 * instead of stopping after a page (even on NOT NULL columns). Use this for every newest-first list.
 */
export const newestFirst = (column: AnyColumn): SQL => sql`${column} DESC NULLS LAST`;

/**
 * `text` matched literally inside an ILIKE pattern: `%`, `_` and `\` match themselves (backslash is
 * Postgres's default LIKE escape). For every list's search filter.
 */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);
