/**
 * Opaque keyset cursors for lists ordered by (timestamp desc, id desc). The timestamp is carried as Postgres
 * formats it, with microseconds: a JS Date would drop them and repeat or skip rows sharing a millisecond.
 */
import { base64url } from "jose";
import { ApiError } from "./errors";
import { isUuid } from "./ids";

/** `t`: the timestamp (ISO with 6 fractional digits, UTC); `i`: the id that breaks ties. */
export type TimeCursor = { t: string; i: string };
const CURSOR_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const encodeTimeCursor = (cursor: TimeCursor): string => base64url.encode(JSON.stringify(cursor));

/** Parses a cursor made by `encodeTimeCursor`; anything else is 400 VALIDATION_FAILED on `query.cursor`. */
export function decodeTimeCursor(value: string): TimeCursor {
  const invalid = () =>
    new ApiError("VALIDATION_FAILED", "The request is invalid.", {
      errors: [{ path: "query.cursor", message: "not a cursor of this list" }],
    });
  let parsed: Partial<TimeCursor> | null;
  try {
    parsed = JSON.parse(
      new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(base64url.decode(value)),
    );
  } catch {
    throw invalid();
  }
  if (
    typeof parsed !== "object" ||
    parsed === null ||
    typeof parsed.t !== "string" ||
    !CURSOR_TIMESTAMP.test(parsed.t) ||
    typeof parsed.i !== "string" ||
    !isUuid(parsed.i)
  ) {
    throw invalid();
  }
  return { t: parsed.t, i: parsed.i.toLowerCase() };
}
