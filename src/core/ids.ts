import { uuidv7 } from "uuidv7";

/** New row id: UUIDv7 (time-ordered, so primary-key indexes stay append-mostly and ids sort by creation). */
export const newId = (): string => uuidv7();

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when the string is a UUID (any version); path ids that are not UUIDs answer 404 without a query. */
export const isUuid = (value: string): boolean => UUID_RE.test(value);
