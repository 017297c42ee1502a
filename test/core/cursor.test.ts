/**
 * The one keyset-cursor codec (src/core/cursor.ts): what it hands out comes back exactly, anything else is a
 * 400 on `query.cursor` before any SQL, and cursors of the former per-list formats still page.
 */
import { base64url } from "jose";
import { describe, expect, it } from "vitest";
import { type Cursor, decodeCursor, encodeCursor, pageOf } from "../../src/core/cursor";
import { ApiError } from "../../src/core/errors";

const ID = "0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b";
const TIME = "2026-12-07T10:11:12.123456Z";
const raw = (value: unknown) => base64url.encode(JSON.stringify(value));

function refusal(value: string, list: Parameters<typeof decodeCursor>[1]): ApiError | null {
  try {
    decodeCursor(value, list);
    return null;
  } catch (error) {
    return error as ApiError;
  }
}

describe("keyset cursor codec", () => {
  it("returns what it encoded: timestamp and text keys, with and without a sort order", () => {
    const samples: Array<[Cursor, Parameters<typeof decodeCursor>[1]]> = [
      [{ k: TIME, i: ID }, { key: "timestamp" }],
      [{ k: "Zoë « the persona » 🚀", i: ID }, { key: "text" }],
      [
        { k: "ann@example.com", i: ID, s: "-email" },
        { key: "text", sort: "-email" },
      ],
    ];
    for (const [cursor, list] of samples) {
      const encoded = encodeCursor(cursor);
      expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/); // safe in a query string as is
      expect(decodeCursor(encoded, list)).toEqual(cursor);
    }
    expect(decodeCursor(encodeCursor({ k: TIME, i: ID.toUpperCase() }), { key: "timestamp" }).i).toBe(ID);
  });

  it("refuses anything it did not make with 400 VALIDATION_FAILED on query.cursor", () => {
    const forged = [
      "not-a-cursor",
      "",
      base64url.encode(new Uint8Array([0xff, 0xfe, 0x7b])), // not UTF-8
      raw(null),
      raw("text"),
      raw({ k: TIME }),
      raw({ k: TIME, i: "not-a-uuid" }),
      raw({ k: 42, i: ID }),
      raw({ k: "2026-12-07T10:11:12Z", i: ID }), // not the microsecond form
      raw({ k: "2026-02-30T00:00:00.000000Z", i: ID }), // no such day: Postgres would fail the cast
      raw({ k: "x".repeat(1001), i: ID }),
    ];
    for (const value of forged) {
      const error = refusal(value, { key: "timestamp" });
      expect(error, value).toBeInstanceOf(ApiError);
      expect(error?.code).toBe("VALIDATION_FAILED");
      expect(JSON.stringify(error?.errors)).toContain("query.cursor");
    }
    expect(refusal(raw({ k: "x".repeat(1001), i: ID }), { key: "text" })).toBeInstanceOf(ApiError);
  });

  it("refuses a cursor of another sort order, and one with a sort where the list has none", () => {
    const byName = encodeCursor({ k: "ann", i: ID, s: "name" });
    expect(JSON.stringify(refusal(byName, { key: "text", sort: "-name" })?.errors)).toContain(
      "another sort order",
    );
    expect(refusal(byName, { key: "text" })).toBeInstanceOf(ApiError);
    expect(refusal(encodeCursor({ k: "ann", i: ID }), { key: "text", sort: "name" })).toBeInstanceOf(
      ApiError,
    );
  });

  it("still reads the former formats, {t, i} and [key, id], so paging across a deploy goes on", () => {
    expect(decodeCursor(raw({ t: TIME, i: ID }), { key: "timestamp" })).toEqual({ k: TIME, i: ID });
    expect(decodeCursor(raw(["Ann", ID]), { key: "text" })).toEqual({ k: "Ann", i: ID });
    expect(refusal(raw(["Ann", "nope"]), { key: "text" })).toBeInstanceOf(ApiError);
  });

  it("cuts a limit + 1 fetch to the page, with a cursor only when a row was left over", () => {
    const rows = [1, 2, 3].map((n) => ({ n, id: ID }));
    const n = (row: { n: number }) => row.n;
    const cursorAfter = (row: { n: number; id: string }) => ({ k: String(n(row)), i: row.id });
    const full = pageOf(rows, 2, cursorAfter);
    expect(full.page.map(n)).toEqual([1, 2]);
    expect(decodeCursor(full.nextCursor as string, { key: "text" })).toEqual({ k: "2", i: ID });
    expect(pageOf(rows, 3, cursorAfter)).toEqual({ page: rows, nextCursor: null });
    expect(pageOf([], 3, cursorAfter)).toEqual({ page: [], nextCursor: null });
  });
});
